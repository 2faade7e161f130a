"""A seeded, vectorised generator of login logs in the RBA dataset's layout.

Column sources: ``IP Address`` is a host inside a real GeoLite2 network of the
:class:`~riskscore.learn.world.World`; ``Country``, ``Region``, ``City`` are
that network's GeoLite2 City answer ("-" where it has none, as in the RBA
data); ``ASN`` comes from the world (a real number for well-known
organisations, else a >= 500000 placeholder, see world.py); the user-agent
columns from the catalogue in world.py; ``Round-Trip Time [ms]`` is filled on
5% of rows from a log-normal fitted by eye to the RBA sample (median ~540 ms);
users, times, outcomes and labels are simulated here.

Legitimate users have a home network (DHCP leases that change every 2-60
days), a mobile carrier in their home country (a new address per login), one
desktop and one mobile device whose browsers auto-update with a per-user lag,
sometimes a new phone, sometimes one trip (domestic or abroad; no login while
in transit at 800 km/h plus 1.5 h), and 5% use a VPN from a hosting network.
Activity is a Poisson process per user (rare users ~monthly, daily users
~daily); given the row budget that is a multinomial split with uniform times.
2.5% of legitimate logins are a typo: a failure 10 s to 5 min before a success
from the same place and device.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.learn import world as w
from riskscore.learn.world import World

COLUMNS: Final = (
    "index",
    "Login Timestamp",
    "User ID",
    "Round-Trip Time [ms]",
    "IP Address",
    "Country",
    "Region",
    "City",
    "ASN",
    "User Agent String",
    "Browser Name and Version",
    "OS Name and Version",
    "Device Type",
    "Login Successful",
    "Is Attack IP",
    "Is Account Takeover",
    "attack_kind",
)
ATTACK_KINDS: Final = (
    "credential_stuffing",
    "password_spray",
    "bot",
    "targeted",
    "vpn_targeted",
    "impossible_travel",
)
# Share of attack rows per kind, in ATTACK_KINDS order.
ATTACK_MIX: Final = (0.45, 0.2, 0.12, 0.08, 0.08, 0.07)
# Logins for accounts that do not exist are pooled under one ID, as the RBA
# dataset does (its user -4324475583306591935).
UNKNOWN_USER_ID: Final = -1
_SUCCESS: Final = {  # chance an attack row succeeds (stolen or guessed password)
    "credential_stuffing": 0.01,
    "password_spray": 0.005,
    "bot": 0.0,
    "targeted": 0.3,
    "vpn_targeted": 0.3,
    "impossible_travel": 0.8,
}
_POOL_KINDS: Final = frozenset({"credential_stuffing", "password_spray", "bot"})
_DAY: Final = 86_400_000
_MINUTE: Final = 60_000
_HOME_SHARE: Final = 0.7
_TYPO_SHARE: Final = 0.025
_FAR_KM: Final = 3000.0

Ints = NDArray[np.int64]
Rows = dict[str, NDArray[Any]]


def simulate(
    n_rows: int,
    *,
    seed: int,
    start: datetime,
    days: float,
    world: World,
    users: int | None = None,
    attack_share: float = 0.05,
) -> pd.DataFrame:
    """``n_rows`` simulated logins with RBA columns plus ``attack_kind``, sorted by time."""
    if n_rows < 1 or days <= 0 or not 0 <= attack_share < 1:
        raise ValueError("need n_rows >= 1, days > 0 and 0 <= attack_share < 1")
    rng = np.random.default_rng(seed)
    span = int(days * _DAY)
    n_attack = round(n_rows * attack_share)
    picker = _CountryPicker(world, np.ones(len(world), dtype=bool))
    people = _Users(rng, world, picker, users or max(10, n_rows // 10), span)
    legit = _legit(rng, world, people, n_rows - n_attack, span)
    kinds = rng.multinomial(n_attack, ATTACK_MIX)
    parts = [legit]
    for kind_id, count in enumerate(kinds.tolist(), start=1):
        if count:
            parts.append(_attack(rng, world, picker, people, legit, kind_id, count, span))
    rows = {key: np.concatenate([p[key] for p in parts]) for key in legit}
    return _frame(rng, world, rows, start)


def write_log(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV, CSV.gz or Parquet, chosen by the file name."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        df.to_parquet(path, index=False)  # needs pyarrow (or fastparquet)
    elif name.endswith((".csv", ".csv.gz")):
        df.to_csv(path, index=False)
    else:
        raise ValueError(f"unknown log format for {path}: use .csv, .csv.gz or .parquet")


class _CountryPicker:
    """Draws networks of a given country, weighted by their share of address space."""

    def __init__(self, world: World, allowed: NDArray[np.bool_]) -> None:
        self.order = np.flatnonzero(allowed)[np.argsort(world.country[allowed], kind="stable")]
        self.countries = world.country[self.order]
        self.cum = np.concatenate([[0.0], np.cumsum(world.hits[self.order], dtype=np.float64)])

    def pick(self, rng: np.random.Generator, country: NDArray[np.str_]) -> Ints:
        """A network in each ``country``; -1 where the country has none."""
        lo = np.searchsorted(self.countries, country, "left")
        hi = np.searchsorted(self.countries, country, "right")
        u = self.cum[lo] + rng.random(country.size) * (self.cum[hi] - self.cum[lo])
        pos = np.clip(np.searchsorted(self.cum, u, "right") - 1, lo, np.maximum(hi - 1, lo))
        found = self.order[np.minimum(pos, self.order.size - 1)]
        return np.where(hi > lo, found, -1).astype(np.int64)

    def anywhere(self, rng: np.random.Generator, n: int) -> Ints:
        """``n`` networks drawn by weight from all countries."""
        pos = np.searchsorted(self.cum, rng.random(n) * self.cum[-1], "right") - 1
        return np.asarray(self.order[np.clip(pos, 0, self.order.size - 1)], dtype=np.int64)


class _Users:
    """Per-user profile arrays."""

    def __init__(
        self, rng: np.random.Generator, world: World, picker: _CountryPicker, n: int, span: int
    ) -> None:
        self.id = rng.integers(1, np.iinfo(np.int64).max, n, dtype=np.int64) * rng.choice(
            np.array([-1, 1]), n
        )
        home = world.country == world.home_country
        at_home = rng.random(n) < _HOME_SHARE
        abroad = _CountryPicker(world, ~home & ~world.hosting).anywhere(rng, n)
        domestic = _CountryPicker(world, home).anywhere(rng, n) if home.any() else abroad
        self.home = np.where(at_home, domestic, abroad)
        self.country = world.country[self.home]
        self.carrier = picker.pick(rng, self.country)
        daily = rng.random(n) < 0.35
        self.rate = np.where(daily, 1.0, 1 / 30) * rng.lognormal(0.0, 0.5, n)
        self.mobile_share = rng.choice(np.array([0.0, 0.3, 0.7, 1.0]), n)
        self.desktop = rng.choice(w.DESKTOP, n, p=w.DESKTOP_WEIGHTS)
        self.mobile = rng.choice(w.MOBILE, n, p=w.MOBILE_WEIGHTS)
        self.new_mobile = rng.choice(w.MOBILE, n, p=w.MOBILE_WEIGHTS)
        new_phone = rng.random(n) < min(1.0, span / _DAY / 730)
        self.switch = np.where(new_phone, rng.integers(0, span, n), np.iinfo(np.int64).max)
        self.lag = rng.choice(np.array([0, 0, 0, 1, 2]), n)
        self.lease = rng.integers(2 * _DAY, 60 * _DAY, n)
        self.lease_offset = rng.integers(0, 60 * _DAY, n)
        hosting = np.flatnonzero(world.hosting)
        vpn_pool = hosting if hosting.size else np.flatnonzero(~home)
        self.vpn = rng.random(n) < 0.05
        self.vpn_net = vpn_pool[rng.integers(0, vpn_pool.size, n)]
        self.trip_start = np.where(
            rng.random(n) < min(0.5, span / _DAY / 60), rng.integers(0, span, n), -1
        )
        foreign = rng.random(n) < 0.5
        self.trip_net = np.where(foreign, picker.anywhere(rng, n), picker.pick(rng, self.country))
        km = _km(world, self.home, self.trip_net)
        self.transit = ((km / 800.0 + 1.5) * 3_600_000).astype(np.int64)
        self.trip_len = rng.integers(2 * _DAY, 10 * _DAY, n) + self.transit


def _legit(rng: np.random.Generator, world: World, people: _Users, n: int, span: int) -> Rows:
    n_typo = int(n * _TYPO_SHARE)
    base = n - n_typo
    user = np.repeat(
        np.arange(people.id.size), rng.multinomial(base, people.rate / people.rate.sum())
    )
    t = rng.integers(0, span, base)
    trip = people.trip_start[user]
    transit = people.transit[user]
    moving = (trip >= 0) & (t >= trip) & (t < trip + transit)
    t = np.where(moving, t + transit, t)
    away = (trip >= 0) & (t >= trip + transit) & (t < trip + people.trip_len[user])
    mobile = rng.random(base) < people.mobile_share[user]
    new_phone = t >= people.switch[user]
    agent = np.where(
        mobile,
        np.where(new_phone, people.new_mobile[user], people.mobile[user]),
        people.desktop[user],
    )
    vpn = people.vpn[user] & (rng.random(base) < 0.6)
    net = np.where(mobile, people.carrier[user], people.home[user])
    net = np.where(vpn, people.vpn_net[user], net)
    net = np.where(away, people.trip_net[user], net)
    size = _sizes(world, net)
    lease = (t + people.lease_offset[user]) // people.lease[user]
    sticky = ~mobile & ~vpn & ~away  # home broadband: one address per DHCP lease
    host = np.where(
        sticky,
        _mix(people.id[user].view(np.uint64) ^ _mix(lease.view(np.uint64))),
        rng.integers(0, 2**62, base).view(np.uint64),
    )
    home_like = sticky | (mobile & ~vpn & ~away)
    rows = _rows(people.id[user], t, net, _host(host, size), agent, people.lag[user], 0)
    rows["success"] = np.ones(base, dtype=bool)
    rows["home_like"] = home_like
    typo = np.sort(rng.choice(base, n_typo, replace=False))
    extra = {k: v[typo] for k, v in rows.items()}
    extra["t"] = extra["t"] - rng.integers(10_000, 5 * _MINUTE, n_typo)
    extra["success"] = np.zeros(n_typo, dtype=bool)
    extra["home_like"] = np.zeros(n_typo, dtype=bool)
    return {k: np.concatenate([rows[k], extra[k]]) for k in rows}


def _attack(
    rng: np.random.Generator,
    world: World,
    picker: _CountryPicker,
    people: _Users,
    legit: Rows,
    kind_id: int,
    n: int,
    span: int,
) -> Rows:
    kind = ATTACK_KINDS[kind_id - 1]
    hosting = np.flatnonzero(world.hosting)
    if hosting.size == 0:  # no ASN data: no known clouds, so any foreign network
        hosting = np.flatnonzero(world.country != world.home_country)
    victim = rng.integers(0, people.id.size, n)
    uid = people.id[victim]
    lag = np.zeros(n, dtype=np.int64)
    if kind in _POOL_KINDS:
        per, pool_lo, pool_hi, dur_lo, dur_hi = {
            "credential_stuffing": (3000, 50, 400, 1, 6),
            "password_spray": (1500, 3, 20, 12, 72),
            "bot": (1000, 1, 3, 0.2, 1),
        }[kind]
        campaigns = max(1, n // per)
        campaign = np.sort(rng.integers(0, campaigns, n))
        begin = rng.integers(0, span, campaigns)
        length = (rng.uniform(dur_lo, dur_hi, campaigns) * 3_600_000).astype(np.int64)
        t = begin[campaign] + (rng.random(n) * length[campaign]).astype(np.int64)
        pool = rng.integers(pool_lo, pool_hi + 1, campaigns)
        slot = (rng.random(n) * pool[campaign]).astype(np.uint64)
        # One IP per (campaign, slot), so each pool address is reused.
        key = _mix((campaign.astype(np.uint64) << np.uint64(32)) ^ slot ^ np.uint64(kind_id << 56))
        # Stuffing mixes clouds with residential proxies anywhere (~40%).
        residential = (key & np.uint64(1023)) < np.uint64(410)
        if kind != "credential_stuffing":
            residential[:] = False
        which = (key >> np.uint64(10)).astype(np.uint64)
        net = np.where(
            residential,
            picker.order[which % np.uint64(picker.order.size)],
            hosting[which % np.uint64(hosting.size)],
        ).astype(np.int64)
        host = _host(_mix(key), _sizes(world, net))
        if kind == "bot":
            agent = rng.choice(w.BOTS, campaigns)[campaign]
            targets = rng.integers(0, people.id.size, (campaigns, 4))
            uid = np.where(
                rng.random(n) < 0.3,
                UNKNOWN_USER_ID,
                people.id[targets[campaign, rng.integers(0, 4, n)]],
            )
        else:
            agent = rng.choice(w.DESKTOP, n, p=w.DESKTOP_WEIGHTS)
            unknown = rng.random(n) < (0.6 if kind == "credential_stuffing" else 0.2)
            uid = np.where(unknown, UNKNOWN_USER_ID, uid)
    elif kind == "impossible_travel":
        anchors = np.flatnonzero(legit["home_like"])
        anchor = anchors[rng.integers(0, anchors.size, n)]
        uid = legit["uid"][anchor]
        t = legit["t"][anchor] + rng.integers(5 * _MINUTE, 90 * _MINUTE, n)
        origin = legit["net"][anchor]
        candidates = picker.anywhere(rng, n * 8).reshape(n, 8)
        far = _km(world, np.repeat(origin, 8), candidates.ravel()).reshape(n, 8)
        net = candidates[np.arange(n), np.argmax(far, axis=1)]
        host = _host(rng.integers(0, 2**62, n).view(np.uint64), _sizes(world, net))
        agent = rng.choice(w.DESKTOP, n, p=w.DESKTOP_WEIGHTS)
    else:
        t = rng.integers(0, span, n)
        # The attacker knows the victim's country and browser (targeted) or
        # hides behind a VPN exit in that country (vpn_targeted).
        allowed = world.hosting if kind == "vpn_targeted" and world.hosting.any() else None
        local = (_CountryPicker(world, allowed) if allowed is not None else picker).pick(
            rng, people.country[victim]
        )
        net = np.where(local >= 0, local, hosting[rng.integers(0, hosting.size, n)])
        host = _host(rng.integers(0, 2**62, n).view(np.uint64), _sizes(world, net))
        agent = np.where(rng.random(n) < 0.5, people.desktop[victim], people.mobile[victim])
        lag = people.lag[victim]
    rows = _rows(uid, t, net, host, agent, lag, kind_id)
    rows["success"] = (rng.random(n) < _SUCCESS[kind]) & (uid != UNKNOWN_USER_ID)
    rows["home_like"] = np.zeros(n, dtype=bool)
    return rows


def _rows(
    uid: Ints, t: Ints, net: Ints, ip: NDArray[np.uint64], agent: Ints, lag: Ints, kind: int
) -> Rows:
    return {
        "uid": uid.astype(np.int64),
        "t": t.astype(np.int64),
        "net": net.astype(np.int64),
        "ip": ip.astype(np.uint64),
        "agent": agent.astype(np.int64),
        "lag": lag.astype(np.int64),
        "kind": np.full(uid.size, kind, dtype=np.int8),
    }


def _frame(rng: np.random.Generator, world: World, rows: Rows, start: datetime) -> pd.DataFrame:
    order = np.argsort(rows["t"], kind="stable")
    r = {k: v[order] for k, v in rows.items()}
    n = order.size
    if start.tzinfo is not None:
        start = start.astimezone(UTC).replace(tzinfo=None)
    when = np.datetime64(start, "ms") + r["t"].astype("timedelta64[ms]")
    net = r["net"]
    release = w.release_index(r["agent"], when, r["lag"])
    ua, browser, os_, device = w.render_columns(r["agent"], release)
    kind = r["kind"].astype(np.int64)
    attack = kind > 0
    pool = np.isin(kind, [ATTACK_KINDS.index(k) + 1 for k in _POOL_KINDS])
    rtt = np.where(rng.random(n) < 0.05, np.round(rng.lognormal(np.log(540), 0.35, n)), np.nan)
    return pd.DataFrame(
        {
            "index": np.arange(n, dtype=np.int64),
            "Login Timestamp": when,
            "User ID": r["uid"],
            "Round-Trip Time [ms]": rtt,
            "IP Address": _dotted(world.start[net].astype(np.uint64) + r["ip"]),
            "Country": world.country[net].astype(object),
            "Region": _dash(world.region[net]),
            "City": _dash(world.city[net]),
            "ASN": world.asn[net],
            "User Agent String": ua,
            "Browser Name and Version": browser,
            "OS Name and Version": os_,
            "Device Type": device,
            "Login Successful": r["success"].astype(bool),
            "Is Attack IP": pool,
            "Is Account Takeover": attack & r["success"].astype(bool),
            "attack_kind": np.array(("", *ATTACK_KINDS), dtype=object)[kind],
        },
        columns=list(COLUMNS),
    )


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64 finaliser: a stable hash of each value."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _sizes(world: World, net: Ints) -> NDArray[np.uint64]:
    return np.left_shift(np.uint64(1), world.host_bits[net].astype(np.uint64))


def _host(random: NDArray[np.uint64], size: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # Skip the network and broadcast addresses of blocks that have them.
    inner = np.maximum(size, np.uint64(4)) - np.uint64(2)
    offset = random % inner + np.uint64(1)
    return np.where(size >= np.uint64(4), offset, random % size)


def _km(world: World, a: Ints, b: Ints) -> NDArray[np.float64]:
    lat1, lat2 = np.radians(world.latitude[a]), np.radians(world.latitude[b])
    dlon = np.radians(world.longitude[b] - world.longitude[a])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return np.asarray(12_742.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1))), dtype=np.float64)


def _dotted(ip: NDArray[np.uint64]) -> NDArray[np.object_]:
    unique, inverse = np.unique(ip, return_inverse=True)
    text = [f"{x >> 24}.{x >> 16 & 255}.{x >> 8 & 255}.{x & 255}" for x in unique.tolist()]
    return np.array(text, dtype=object)[inverse]


def _dash(names: NDArray[np.str_]) -> NDArray[np.object_]:
    out = names.astype(object)
    out[names == ""] = "-"
    return out
