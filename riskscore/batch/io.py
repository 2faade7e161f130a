"""Batch logs in and out: CSV, CSV.gz and Parquet, by file name.

Reading goes through Arrow's CSV and Parquet readers (multi-threaded, and 3-4x
faster than pandas' C parser once every column is read as text) and hands out
the raw text of the mapped columns only, renamed to canonical names, with
missing values as "". Typing is validate.py's job, so every source looks alike.

Writers go through Arrow too, put their bytes in a temporary file beside the
target and rename it into place after an fsync, so a failed run never leaves
a half-written file under the final name.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pcsv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from riskscore.batch.columns import (
    DEFAULT_MAPPING,
    BatchInputError,
    ColumnMapping,
    Resolved,
    resolve,
)

DEFAULT_CHUNK_ROWS: Final = 100_000
REJECT_COLUMNS: Final = ("row", "index", "column", "value", "reason")
# Level 1 compresses a scored log ~4x faster than level 6 for files ~14% larger:
# at batch speeds the compressor would otherwise be the slowest stage.
DEFAULT_GZIP_LEVEL: Final = 1
_BLOCK_BYTES: Final = 1 << 20


class LogFormat(Enum):
    """The file formats batch logs are read from and written to."""

    CSV = ".csv"
    CSV_GZ = ".csv.gz"
    PARQUET = ".parquet"


def log_format(path: Path, option: str = "--input") -> LogFormat:
    """The format ``path``'s name asks for; BatchInputError naming ``option`` otherwise."""
    name = path.name.lower()
    for fmt in sorted(LogFormat, key=lambda f: -len(f.value)):
        if name.endswith(fmt.value):
            return fmt
    raise BatchInputError(
        f"cannot tell the format of {str(path)!r}: name it .csv, .csv.gz or .parquet",
        where=option,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Chunk:
    """Raw text of consecutive data rows, columns renamed to canonical names.

    ``first_row`` is the 1-based number of the first row's record after the
    header, so errors name rows exactly.
    """

    frame: pd.DataFrame
    first_row: int
    columns: Resolved


def read_header(path: Path | str) -> list[str]:
    """The column names of a CSV, CSV.gz or Parquet log."""
    path = Path(path)
    fmt = log_format(path)
    if fmt is LogFormat.PARQUET:
        with _readable(path):
            return [str(name) for name in pq.ParquetFile(path).schema_arrow.names]
    opener = gzip.open if fmt is LogFormat.CSV_GZ else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as text:
            header = next(csv.reader(text), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BatchInputError(
            f"cannot read the header of {str(path)!r}: {exc}", where="--input"
        ) from exc
    if not header:
        raise BatchInputError(f"{str(path)!r} is empty: expected a header line", where="--input")
    return header


def read_log(
    path: Path | str,
    mapping: ColumnMapping = DEFAULT_MAPPING,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    labels: bool = True,
) -> Iterator[Chunk]:
    """Chunks of ``chunk_rows`` rows; the header is checked now, before any data is read."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    columns = resolve(read_header(path), mapping, labels=labels)
    return _chunks(path, columns, chunk_rows)


def read_all(
    path: Path | str, mapping: ColumnMapping = DEFAULT_MAPPING, *, labels: bool = True
) -> Chunk:
    """The whole log as one chunk, for the in-memory path."""
    path = Path(path)
    columns = resolve(read_header(path), mapping, labels=labels)
    with _readable(path):
        if log_format(path) is LogFormat.PARQUET:
            table = pq.read_table(path, columns=columns.usecols)
        else:
            table = pcsv.read_csv(path, **_csv_options(columns))
        return Chunk(_text_frame(table, columns), 1, columns)


def chunk_from_frame(
    frame: pd.DataFrame, mapping: ColumnMapping = DEFAULT_MAPPING, *, labels: bool = True
) -> Chunk:
    """An in-memory log (for example ``simulate``'s) as if it had been read from a file."""
    columns = resolve([str(c) for c in frame.columns], mapping, labels=labels)
    table = pa.Table.from_pandas(frame[columns.usecols], preserve_index=False)
    return Chunk(_text_frame(table, columns), 1, columns)


def _chunks(path: Path, columns: Resolved, chunk_rows: int) -> Iterator[Chunk]:
    first = 1
    with _readable(path):
        if log_format(path) is LogFormat.PARQUET:
            source = pq.ParquetFile(path)
            batches = source.iter_batches(batch_size=chunk_rows, columns=columns.usecols)
        else:
            batches = pcsv.open_csv(path, **_csv_options(columns))
        for table in _rebatch(batches, chunk_rows):
            yield Chunk(_text_frame(table, columns), first, columns)
            first += table.num_rows


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turns Arrow's parse and I/O errors into BatchInputError naming the file."""
    try:
        yield
    except pa.ArrowException as exc:
        # Structural damage (a row with too many fields, bad UTF-8) has no
        # single cell to reject, so it stops the run in either --on-error mode.
        raise BatchInputError(f"cannot read {str(path)!r}: {exc}", where="--input") from exc


def _csv_options(columns: Resolved) -> dict[str, Any]:
    usecols = columns.usecols
    return {
        "read_options": pcsv.ReadOptions(block_size=_BLOCK_BYTES),
        "parse_options": pcsv.ParseOptions(newlines_in_values=True),
        "convert_options": pcsv.ConvertOptions(
            include_columns=usecols,
            column_types=dict.fromkeys(usecols, pa.string()),
            # keep_default_na=False in pandas terms: "" stays "", "NA" stays "NA".
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    }


def _rebatch(batches: Iterable[Any], rows: int) -> Iterator[Any]:
    """Arrow tables of exactly ``rows`` rows (the last may be shorter)."""
    pending: list[Any] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def _text_frame(table: Any, columns: Resolved) -> pd.DataFrame:
    """Every column as text ("" where missing), renamed to canonical names."""
    table = table.select(columns.usecols)
    arrays = []
    for array in table.columns:
        if not pa.types.is_string(array.type):
            # Typed Parquet columns: True -> "true", 132676.0 -> "132676", NaN -> "nan".
            array = pc.cast(array, pa.string())
        arrays.append(pc.fill_null(array, ""))
    frame = pa.table(arrays, names=columns.canonical).to_pandas()
    assert isinstance(frame, pd.DataFrame)
    return frame


def rejects_path_for(output: Path | str) -> Path:
    """``<OUT stem>.rejects.csv`` beside the output file."""
    output = Path(output)
    name = output.name
    for fmt in LogFormat:
        if name.lower().endswith(fmt.value):
            name = name[: -len(fmt.value)]
            break
    return output.with_name(f"{name}.rejects.csv")


class OutputWriter:
    """Appends frames to a CSV, CSV.gz or Parquet file that appears only on success.

    Every format goes through Arrow (its CSV writer is ~7x faster than
    ``DataFrame.to_csv``). The first frame fixes the columns and their Arrow
    types; later frames are cast to them. CSV booleans are written true/false
    and text is quoted, which every reader here (and pandas) reads back
    alike. With nothing written, close() leaves a file without columns.
    """

    def __init__(self, path: Path | str, *, gzip_level: int = DEFAULT_GZIP_LEVEL) -> None:
        self.path = Path(path)
        self.format = log_format(self.path, "--output")
        self.gzip_level = gzip_level
        self.rows = 0
        self._tmp: Path | None = None
        self._file: Any = None
        self._sink: Any = None
        self._writer: Any = None
        self._schema: Any = None
        self._empty: Any = None
        self._done = False

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort()

    @property
    def columns(self) -> list[str] | None:
        """The columns fixed by the first frame written, if any."""
        schema = self._empty if self._schema is None else self._schema
        return None if schema is None else [str(n) for n in schema.names]

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (its index is not written)."""
        self._open()
        names = [str(c) for c in frame.columns]
        if self._schema is None:
            table = _plain(pa.Table.from_pandas(frame, preserve_index=False))
            if not len(frame):
                # Types of an empty frame may be unknown (object -> null); wait for rows.
                self._empty = table.schema
                return
            self._start(table.schema)
        else:
            fixed = [str(n) for n in self._schema.names]
            if names != fixed:
                if sorted(names) != sorted(fixed):
                    raise ValueError(f"columns {names} differ from the first chunk's {fixed}")
                frame = frame[fixed]
            table = _plain(pa.Table.from_pandas(frame, preserve_index=False)).cast(self._schema)
        self._writer.write_table(table)
        self.rows += len(frame)

    def _start(self, schema: Any) -> None:
        assert self._tmp is not None
        self._schema = schema
        if self.format is LogFormat.PARQUET:
            self._writer = pq.ParquetWriter(str(self._tmp), schema)
            return
        if self.format is LogFormat.CSV_GZ:
            # Python's gzip, not Arrow's: Arrow compresses at level 9 only.
            self._file = open(self._tmp, "wb")  # noqa: SIM115 -- closed in _close_handles()
            self._sink = gzip.GzipFile(
                self.path.name, "wb", self.gzip_level, fileobj=self._file, mtime=0
            )
        else:
            self._file = self._sink = pa.OSFile(str(self._tmp), "wb")
        if schema.names:
            # Written here so the header is plain (Arrow quotes it before pyarrow 23).
            line = io.StringIO()
            csv.writer(line, lineterminator="\n").writerow(schema.names)
            self._sink.write(line.getvalue().encode())
        options = pcsv.WriteOptions(include_header=False)
        self._writer = pcsv.CSVWriter(self._sink, schema, write_options=options)

    def close(self) -> None:
        """Finish the file, fsync it and rename it into place."""
        if self._done:
            return
        self._open()
        assert self._tmp is not None
        try:
            if self._schema is None:
                self._start(self._empty if self._empty is not None else pa.schema([]))
            self._close_handles()
            _fsync(self._tmp)
            os.replace(self._tmp, self.path)
            _fsync_directory(self.path.parent)
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        self._done = True
        # The half-written file is thrown away, so errors closing it do not matter.
        with suppress(Exception):
            self._close_handles()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def _open(self) -> None:
        if self._done:
            raise ValueError(f"{self.path} is already closed")
        if self._tmp is not None:
            return
        # A unique name in the target's directory, so the rename cannot cross filesystems.
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        self._tmp.touch(exist_ok=False)

    def _close_handles(self) -> None:
        handles = [self._writer, self._sink, self._file]
        self._writer = self._sink = self._file = None
        failure: Exception | None = None
        for handle in handles:
            try:
                if handle is not None and not getattr(handle, "closed", False):
                    handle.close()
            except Exception as exc:  # close the rest; the first error is the cause
                failure = failure or exc
        if failure is not None:
            raise failure


class RejectsWriter:
    """Rejected rows as CSV (row, index, column, value, reason); header even when empty."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._out = OutputWriter(self.path)
        self.rows = 0

    def __enter__(self) -> Self:
        self._out.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
        else:
            self._out.abort()

    def write(self, rejects: pd.DataFrame) -> None:
        """Append one chunk's rejects."""
        self._out.write(rejects[list(REJECT_COLUMNS)])
        self.rows += len(rejects)

    def close(self) -> None:
        """Finish the file and rename it into place."""
        if self._out.columns is None:
            self._out.write(pd.DataFrame(columns=list(REJECT_COLUMNS)))
        self._out.close()


def _plain(table: Any) -> Any:
    """``table`` with categorical (dictionary) columns as plain text: every chunk alike."""
    columns = [
        column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
        for column in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
