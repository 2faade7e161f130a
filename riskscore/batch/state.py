"""The profile state a chunked replay carries from chunk to chunk, and its files.

A log larger than memory is replayed in time-ordered chunks (batch/score.py).
All a later row can need from earlier ones is what riskscore/stores/memory.py
keeps: per user the proven sign-ins, the success counts per value of every
profile column, the failures since the last proven sign-in, the sign-ins per
UTC hour and the last proven sign-in's place; per pool the success counts per
value (totals and distinct counts are sums of those); and the attempts of the
velocity windows' last ``window_minutes`` minutes.

A chunk is replayed behind context rows (profile.Carried): one anchor per
returning user holding its last proven sign-in, then the windows' tail; the
counts come in as offsets (profile.carry). Users and values are numbered in
order of first appearance in the log, so the state after a log is the same
however the log was cut into chunks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray

from riskscore.batch.categories import concat_frames
from riskscore.batch.columns import BatchInputError
from riskscore.batch.grouped import PACK_SHIFT, Ints, add_counts, pack, unpack, values_of
from riskscore.batch.profile import (
    HIERARCHY_COLUMNS,
    USER_COUNT_COLUMNS,
    Bools,
    Carried,
    carry,
    column_codes,
    utc_hours,
)
from riskscore.core import features as f

Texts = NDArray[np.object_]

FORMAT: Final = "riskscore-batch-state"
VERSION: Final = 1
META_FILE: Final = "state.json"
VALUE_COLUMNS: Final = (*HIERARCHY_COLUMNS, *USER_COUNT_COLUMNS)
HOURS: Final = tuple(f"hour_{h:02d}" for h in range(24))
# Observation column -> users column of the last proven sign-in.
LAST: Final = {
    "ts_ns": "last_ts_ns",
    f.IP: "last_ip",
    "lat": "last_lat",
    "lon": "last_lon",
    "radius": "last_radius",
    "place_city": "last_place_city",
    "place_country": "last_place_country",
    f.NETWORK_TYPE: "last_network_type",
}
TAIL_COLUMNS: Final = ("user", "ts_ns", "success", f.IP, f.ASN)
_TEXT, _INT, _FLOAT = pa.string(), pa.int64(), pa.float64()
SCHEMAS: Final = {
    "users": pa.schema(
        [("user", _TEXT), ("logins", _INT), ("failures", _INT)]
        + [(h, _INT) for h in HOURS]
        + [(LAST["ts_ns"], _INT)]
        + [(LAST[c], _FLOAT if c in ("lat", "lon", "radius") else _TEXT) for c in list(LAST)[1:]]
    ),
    "values": pa.schema([("column", _TEXT), ("value", _TEXT), ("count", _INT)]),
    "counts": pa.schema([("column", _TEXT), ("user", _INT), ("value", _INT), ("count", _INT)]),
    "tail": pa.schema(
        [("user", _TEXT), ("ts_ns", _INT), ("success", pa.bool_()), (f.IP, _TEXT), (f.ASN, _TEXT)]
    ),
}
_MINUTE_NS: Final = 60_000_000_000
# Context rows never teach, so their values count nowhere; a User-Agent keeps
# their Freeman terms defined (no hierarchy with every level missing: 0/0).
_CONTEXT_UA: Final = "riskscore context row"


@dataclass(frozen=True, slots=True, eq=False)
class Context:
    """A chunk behind its context rows, the state's ids of its codes (-1: new) and counts."""

    frame: pd.DataFrame
    codes: dict[str, Ints]
    ids: dict[str, Ints]
    carried: Carried
    anchors: int
    start: int


@dataclass(frozen=True, slots=True, eq=False)
class ReplayState:
    """Everything a replay after ``rows`` rows (up to ``last_ts_ns``) needs from them.

    ``users``: one row per user seen, in id order (SCHEMAS["users"]);
    ``values``: per column, its proven values in id order and their pool
    counts; ``counts``: per column, sorted pack(user id, value id) keys and
    the user's count of the value; ``tail``: the velocity windows' attempts.
    """

    window_minutes: int
    rows: int
    last_ts_ns: int | None
    users: pd.DataFrame
    values: dict[str, tuple[Texts, Ints]]
    counts: dict[str, tuple[Ints, Ints]]
    tail: pd.DataFrame

    @classmethod
    def empty(cls, window_minutes: int) -> ReplayState:
        """The state before any row."""
        none = {name: _frame(schema.empty_table()) for name, schema in SCHEMAS.items()}
        return cls.from_tables(window_minutes, 0, None, none)

    @classmethod
    def from_tables(
        cls, window_minutes: int, rows: int, last_ts_ns: int | None, tables: dict[str, pd.DataFrame]
    ) -> ReplayState:
        """A state from the tables :meth:`tables` gives."""
        values, counts = {}, {}
        by_value, by_user = tables["values"], tables["counts"]
        for col in VALUE_COLUMNS:
            mine = by_value[by_value["column"].to_numpy(object) == col]
            values[col] = (mine["value"].to_numpy(object), mine["count"].to_numpy(np.int64))
            c = by_user[by_user["column"].to_numpy(object) == col]
            keys = pack(c["user"].to_numpy(np.int64), c["value"].to_numpy(np.int64))
            counts[col] = (keys, c["count"].to_numpy(np.int64))
        users, tail = tables["users"], tables["tail"]
        return cls(window_minutes, rows, last_ts_ns, users, values, counts, tail)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The state as four flat tables: the Parquet files :meth:`save` writes."""
        values = [
            _objects({"column": np.full(len(v), col, dtype=object), "value": v, "count": n})
            for col, (v, n) in self.values.items()
        ]
        counts = []
        for col, (keys, n) in self.counts.items():
            user, value = unpack(keys)
            column = np.full(len(keys), col, dtype=object)
            counts.append(_objects({"column": column, "user": user, "value": value, "count": n}))
        return {
            "users": self.users,
            "values": pd.concat(values, ignore_index=True),
            "counts": pd.concat(counts, ignore_index=True),
            "tail": self.tail,
        }

    def context(self, obs: pd.DataFrame) -> Context:
        """``obs``, one time-sorted chunk, behind anchors and the tail, with carried counts."""
        index = _index(self.users["user"].to_numpy(object))
        known = index.get_indexer(_index(pd.unique(obs["user"].to_numpy(object))))
        known = known[known >= 0]
        returning = known[self.users["logins"].to_numpy(np.int64)[known] > 0]
        anchors = {c: self.users[LAST.get(c, c)].to_numpy()[returning] for c in ("user", *LAST)}
        anchors["success"] = np.ones(len(returning), dtype=bool)
        tail: dict[str, Any] = {c: self.tail[c].to_numpy() for c in TAIL_COLUMNS}
        anchors[f.UA] = np.full(len(returning), _CONTEXT_UA, dtype=object)
        tail[f.UA] = np.full(len(self.tail), _CONTEXT_UA, dtype=object)
        parts = [_like(obs, anchors, len(returning)), _like(obs, tail, len(self.tail))]
        # Categorical where the chunk is, so the chunk's codes carry over (no rehashing).
        frame = concat_frames([*parts, obs])
        start = len(frame) - len(obs)
        codes = column_codes(frame)
        ids = {"user": index.get_indexer(_index(_uniques(frame, codes, "user")))}
        for col in VALUE_COLUMNS:
            ids[col] = _index(self.values[col][0]).get_indexer(_index(_uniques(frame, codes, col)))
        at = np.arange(len(frame))
        users = self.users[["logins", "failures", *HOURS]].to_numpy(np.int64).T
        pool = {col: n for col, (_, n) in self.values.items()}
        carried = carry(codes, ids, users, self.counts, pool, at >= start, at < len(returning))
        return Context(frame, codes, ids, carried, len(returning), start)

    def advance(self, ctx: Context) -> ReplayState:
        """The state after the chunk of ``ctx``."""
        chunk = ctx.frame.iloc[ctx.start :]
        user_ids = ctx.ids["user"].copy()
        fresh = user_ids < 0
        n_users = len(self.users) + int(fresh.sum())
        if n_users >= 1 << (63 - PACK_SHIFT):
            raise BatchInputError("more users than a state can number", where="--input")
        user_ids[fresh] = np.arange(len(self.users), n_users)
        uid = user_ids[ctx.codes["user"][ctx.start :]]
        success = chunk["success"].to_numpy(bool)
        at = np.arange(len(chunk))
        users = _grown(self.users, n_users)
        users["user"][len(self.users) :] = _uniques(ctx.frame, ctx.codes, "user")[fresh]
        users["logins"] += np.bincount(uid[success], minlength=n_users)
        hours = uid[success] * 24 + utc_hours(chunk["ts_ns"].to_numpy(np.int64)[success])
        by_hour = np.bincount(hours, minlength=n_users * 24).reshape(n_users, 24)
        for h, name in enumerate(HOURS):
            users[name] += by_hour[:, h]
        last = np.full(n_users, -1, dtype=np.int64)
        np.maximum.at(last, uid[success], at[success])
        had = last >= 0
        failed = at[~success]
        later = np.bincount(uid[failed[failed > last[uid[failed]]]], minlength=n_users)
        users["failures"] = np.where(had, later, users["failures"] + later)
        for col, name in LAST.items():
            users[name][had] = chunk[col].to_numpy()[last[had]]
        values, counts = {}, {}
        for col in VALUE_COLUMNS:
            values[col], counts[col] = self._taught(ctx, col, uid, success)
        last_ts = int(chunk["ts_ns"].iloc[-1]) if len(chunk) else self.last_ts_ns
        tail = _objects({c: ctx.frame[c].to_numpy()[ctx.anchors :] for c in TAIL_COLUMNS})
        if last_ts is not None:
            since = (last_ts // _MINUTE_NS - self.window_minutes + 1) * _MINUTE_NS
            tail = tail[tail["ts_ns"].to_numpy(np.int64) >= since]
        return ReplayState(
            self.window_minutes,
            self.rows + len(chunk),
            last_ts,
            _objects(users),
            values,
            counts,
            tail.reset_index(drop=True),
        )

    def _taught(
        self, ctx: Context, col: str, uid: Ints, success: Bools
    ) -> tuple[tuple[Texts, Ints], tuple[Ints, Ints]]:
        """One column's pool values and user counts after the chunk."""
        taught = success & (ctx.frame[col].to_numpy(object)[ctx.start :] != f.MISSING)
        codes = ctx.codes[col][ctx.start :][taught]
        value_ids = ctx.ids[col].copy()
        # New values are numbered in order of their first proven sign-in.
        seen = pd.unique(codes)
        fresh = seen[value_ids[seen] < 0]
        text, pool = self.values[col]
        if len(text) + len(fresh) >= 1 << PACK_SHIFT:
            raise BatchInputError(f"more {col} values than a state can number", where="--input")
        value_ids[fresh] = np.arange(len(text), len(text) + len(fresh))
        vid = value_ids[codes]
        text = np.concatenate((text, _uniques(ctx.frame, ctx.codes, col)[fresh]))
        pool = np.append(pool, np.zeros(len(fresh), np.int64))
        pool += np.bincount(vid, minlength=len(text))
        keys, counts = self.counts[col]
        return (text, pool), add_counts(keys, counts, pack(uid[taught], vid))

    def save(self, directory: Path | str) -> None:
        """Write Parquet files and state.json, fsynced, into a new directory renamed into place.

        A state already at ``directory`` is moved aside first, then removed.
        """
        target = Path(directory)
        kept = target.is_file() or (target.is_dir() and any(target.iterdir()))
        if kept and not (target / META_FILE).is_file():
            raise BatchInputError("holds no saved state: not replacing it", where=str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
        tmp.mkdir()
        try:
            digests = {}
            for name, table in self.tables().items():
                path = tmp / f"{name}.parquet"
                arrow = pa.Table.from_pandas(table, SCHEMAS[name], preserve_index=False)
                pq.write_table(arrow, path)
                digests[name] = _digest(path)
            meta = {
                "format": FORMAT,
                "version": VERSION,
                "window_minutes": self.window_minutes,
                "rows": self.rows,
                "last_ts_ns": self.last_ts_ns,
                "sha256": digests,
            }
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            for path in (*tmp.iterdir(), tmp):
                _fsync(path)
            # A directory cannot be renamed over a full one: the old state steps aside.
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            _fsync(target.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old.exists() and not target.exists():
                os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path | str, window_minutes: int | None = None) -> ReplayState:
        """A state :meth:`save` wrote; BatchInputError naming the file when it cannot be used.

        ``window_minutes``: the config's; a state counted over other windows is refused.
        """
        root = Path(directory)
        meta_path = root / META_FILE
        where = str(meta_path)
        if not meta_path.is_file():
            raise BatchInputError("missing: no saved batch state here", where=where)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            version, window, rows = meta["version"], meta["window_minutes"], meta["rows"]
            last_ts, digests = meta["last_ts_ns"], dict(meta["sha256"])
            if meta["format"] != FORMAT:
                raise ValueError(f"format {meta['format']!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BatchInputError(f"not a saved batch state: {exc}", where=where) from exc
        if version != VERSION:
            raise BatchInputError(f"format version {version}; this reads {VERSION}", where=where)
        last_ok = last_ts is None or _count(last_ts, -(2**63))
        if not (_count(window, 1) and _count(rows) and last_ok):
            raise BatchInputError("window_minutes, rows or last_ts_ns is invalid", where=where)
        if window_minutes is not None and window != window_minutes:
            raise BatchInputError(
                f"the state counted velocity windows of {window} minutes, but "
                f"scoring.window_minutes is {window_minutes}: use the same setting",
                where=where,
            )
        tables = {}
        for name, schema in SCHEMAS.items():
            path = root / f"{name}.parquet"
            if not path.is_file():
                raise BatchInputError("missing from the saved state", where=str(path))
            if _digest(path) != digests.get(name):
                raise BatchInputError("changed since the state was saved", where=str(path))
            try:
                table = pq.read_table(path)
            except (pa.ArrowException, OSError) as exc:
                raise BatchInputError(f"cannot read: {exc}", where=str(path)) from exc
            if not table.schema.equals(schema):
                raise BatchInputError(f"columns {table.schema.names}", where=str(path))
            tables[name] = _frame(table)
        state = cls.from_tables(window, rows, last_ts, tables)
        if problem := state.inconsistency():
            raise BatchInputError(f"inconsistent saved state: {problem}", where=str(root))
        return state

    def inconsistency(self) -> str | None:
        """The first broken invariant of the state, or None."""
        sums = self.users[["logins", "failures", *HOURS]].to_numpy(np.int64)
        checks = [
            (self.users["user"].is_unique, "a user appears twice"),
            ((sums >= 0).all(), "a negative count"),
            ((sums[:, 2:].sum(axis=1) == sums[:, 0]).all(), "hourly sign-ins differ from sign-ins"),
        ]
        for col in VALUE_COLUMNS:
            (keys, counts), (text, pool) = self.counts[col], self.values[col]
            user, value = unpack(keys)
            ids_ok = (user < len(sums)).all() and (value < len(pool)).all()
            sorted_ok = (np.diff(keys) > 0).all() and (counts > 0).all() and ids_ok
            checks.append((sorted_ok and _index(text).is_unique, f"malformed {col} counts"))
            pooled = ids_ok and np.array_equal(np.bincount(value, counts, len(pool)), pool)
            checks.append((pooled, f"the users' {col} counts do not add up to the pool's"))
        ts = self.tail["ts_ns"].to_numpy(np.int64)
        late = len(ts) > 0 and (self.last_ts_ns is None or ts.max() > self.last_ts_ns)
        checks.append((not late, "window rows after the last timestamp"))
        return next((problem for ok, problem in checks if not ok), None)


def _index(values: Texts) -> pd.Index:
    """An Index over text kept as objects (hashing Python strings beats converting them)."""
    return pd.Index(values, dtype=object)


def _uniques(frame: pd.DataFrame, codes: dict[str, Ints], col: str) -> Texts:
    return values_of(frame[col].to_numpy(object), codes[col])


def _like(obs: pd.DataFrame, data: dict[str, Any], n: int) -> pd.DataFrame:
    """``n`` context rows shaped like ``obs``: ``data``'s columns, the rest missing."""
    columns = {}
    for col in obs.columns:
        dtype = obs[col].to_numpy().dtype
        blank = f.MISSING if dtype.kind == "O" else np.nan if dtype.kind == "f" else 0
        columns[col] = np.asarray(data[col], dtype) if col in data else np.full(n, blank, dtype)
    return _objects(columns)


def _grown(users: pd.DataFrame, n: int) -> dict[str, Any]:
    """``users``' columns as arrays of ``n`` rows, the new ones blank."""
    out = {}
    for field in SCHEMAS["users"]:
        blank = f.MISSING if field.type == _TEXT else np.nan if field.type == _FLOAT else 0
        current = users[field.name].to_numpy()
        out[field.name] = np.append(current, np.full(n - len(current), blank, current.dtype))
    return out


def _objects(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame keeping object arrays as object columns (pandas would make them Arrow)."""
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object if v.dtype == object else None) for k, v in columns.items()}
    )


def _frame(table: Any) -> pd.DataFrame:
    """An Arrow table as a DataFrame, text as object columns."""
    return _objects({n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names})


def _count(value: object, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
