"""Real networks and places for the login simulator, sampled once from GeoLite2.

Where each part comes from:

* networks, country, region, city, latitude/longitude: the GeoLite2 City
  database shipped by ``maxminddb-geolite2`` (:func:`packaged_city_database`).
  Networks are found by probing uniformly random IPv4 addresses with
  ``Reader.get_with_prefix_len``: each hit yields the real network containing
  the address, and the hit count per network is its weight, so big ISP blocks
  are picked as often as their share of address space says. (A full
  ``Reader.__iter__`` scan of the 3.4M records takes ~37 s here; 1M probes take
  ~12 s and give the same networks weighted by size.)
* organisation names: the ASN database from
  :func:`riskscore.enrich.asn_build.build_asn_database`, when given.
* AS numbers: that database has names only, so a short table maps well-known
  organisations to their real AS numbers; any other organisation gets a stable
  placeholder ``500000 + crc32(org) % 400000``, which follows the RBA dataset's
  own convention that ASNs >= 500000 are placeholders. Without an ASN database
  the placeholder is keyed by country and /16 instead, and no network is
  known to be a hosting network.
* user agents: a small catalogue below of real browser / OS / device
  combinations whose versions advance with the calendar (Chrome every 6 weeks,
  skipping 82 as Google did; Firefox every 4 weeks; iOS point releases every
  ~7 weeks), so a user's UA changes as the browser auto-updates. The parsed
  columns are named the way ua-parser names them in the RBA dataset.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import maxminddb
import numpy as np
from numpy.typing import NDArray

PLACEHOLDER_ASN_BASE: Final = 500_000
# Real AS numbers of organisations that the geoip2fast names identify unambiguously.
_KNOWN_ASNS: Final[tuple[tuple[str, int], ...]] = (
    (r"^amazon\.com", 16509),
    (r"^amazon", 14618),
    (r"^google", 15169),
    (r"^microsoft", 8075),
    (r"^digitalocean", 14061),
    (r"^ovh", 16276),
    (r"^hetzner", 24940),
    (r"^linode", 63949),
    (r"^alibaba", 45102),
    (r"^choopa", 20473),
    (r"^telenor norge", 2119),
)
# Organisation names of well-known clouds and VPS hosts (the attackers' and VPN
# providers' usual homes).
HOSTING_PATTERN: Final = re.compile(
    r"amazon|google|microsoft|digitalocean|ovh|hetzner|linode|alibaba|tencent|choopa|"
    r"vultr|leaseweb|contabo|scaleway|online s\.a\.s|m247|hostinger|oracle|ionos|"
    r"1&1|datacamp|psychz|quadranet|colocrossing|servers\.com",
    re.IGNORECASE,
)
_ARRAYS: Final = (
    "start",
    "host_bits",
    "hits",
    "country",
    "region",
    "city",
    "latitude",
    "longitude",
    "asn",
    "organization",
    "hosting",
)


@dataclass(frozen=True, slots=True)
class World:
    """Parallel arrays, one entry per real IPv4 network."""

    start: NDArray[np.uint32]
    host_bits: NDArray[np.int8]
    hits: NDArray[np.int32]
    country: NDArray[np.str_]
    region: NDArray[np.str_]
    city: NDArray[np.str_]
    latitude: NDArray[np.float32]
    longitude: NDArray[np.float32]
    asn: NDArray[np.int64]
    organization: NDArray[np.str_]
    hosting: NDArray[np.bool_]
    home_country: str

    def __len__(self) -> int:
        return int(self.start.size)

    def save(self, path: Path) -> None:
        """Write the world to an ``.npz`` file (a few MB) for reuse."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        with path.open("wb") as out:
            np.savez_compressed(out, home_country=np.array(self.home_country), **arrays)

    @classmethod
    def load(cls, path: Path) -> World:
        """Read a world written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
            return cls(home_country=str(data["home_country"]), **arrays)


def build_world(
    city_path: Path,
    *,
    seed: int,
    asn_path: Path | None = None,
    home_country: str = "NO",
    probes: int = 1_000_000,
    max_networks: int = 20_000,
) -> World:
    """Sample real networks from a City mmdb: every home-country network found, plus others.

    ``max_networks`` caps the non-home networks (drawn by hit count); the home
    market keeps all of its hits so its ISPs and cities are well covered.
    """
    rng = np.random.default_rng(seed)
    addresses = rng.integers(1 << 24, 224 << 24, size=probes, dtype=np.uint64)
    found: dict[tuple[int, int], list[Any]] = {}
    with maxminddb.open_database(str(city_path)) as reader:
        lookup = reader.get_with_prefix_len
        for address in addresses.tolist():
            record, prefix = lookup(str(ipaddress.IPv4Address(address)))
            if not isinstance(record, Mapping) or prefix < 8:
                continue
            bits = 32 - (prefix - 96 if prefix > 32 else prefix)
            key = (address >> bits << bits, bits)
            entry = found.get(key)
            if entry is not None:
                entry[0] += 1
                continue
            row = _place(record)
            if row is not None:
                found[key] = [1, *row]
    keys = list(found)
    home = np.array([found[k][1] == home_country for k in keys], dtype=bool)
    hits = np.array([found[k][0] for k in keys], dtype=np.float64)
    others = np.flatnonzero(~home)
    if others.size > max_networks:
        weights = hits[others] / hits[others].sum()
        others = np.sort(rng.choice(others, size=max_networks, replace=False, p=weights))
    keep = np.concatenate([np.flatnonzero(home), others])
    chosen = [keys[i] for i in keep.tolist()]
    starts = np.array([k[0] for k in chosen], dtype=np.uint32)
    countries = [str(found[k][1]) for k in chosen]
    organizations = _organizations(asn_path, starts)
    asns = np.array(
        [
            _asn(org, country, int(start))
            for org, country, start in zip(organizations, countries, starts.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    return World(
        start=starts,
        host_bits=np.array([k[1] for k in chosen], dtype=np.int8),
        hits=np.array([found[k][0] for k in chosen], dtype=np.int32),
        country=np.array(countries, dtype=np.str_),
        region=np.array([found[k][2] for k in chosen], dtype=np.str_),
        city=np.array([found[k][3] for k in chosen], dtype=np.str_),
        latitude=np.array([found[k][4] for k in chosen], dtype=np.float32),
        longitude=np.array([found[k][5] for k in chosen], dtype=np.float32),
        asn=asns,
        organization=np.array(organizations, dtype=np.str_),
        hosting=np.array([bool(HOSTING_PATTERN.search(o)) for o in organizations], dtype=bool),
        home_country=home_country,
    )


def load_or_build_world(cache: Path, city_path: Path, **options: Any) -> World:
    """The world cached at ``cache``, building and saving it first if absent."""
    if cache.is_file():
        return World.load(cache)
    world = build_world(city_path, **options)
    cache.parent.mkdir(parents=True, exist_ok=True)
    world.save(cache)
    return world


def _place(record: Mapping[str, Any]) -> tuple[str, str, str, float, float] | None:
    country = record.get("country", {}).get("iso_code")
    location = record.get("location", {})
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if not country or latitude is None or longitude is None:
        return None
    subdivisions = record.get("subdivisions") or [{}]
    region = subdivisions[-1].get("names", {}).get("en", "")
    city = record.get("city", {}).get("names", {}).get("en", "")
    return str(country), str(region), str(city), float(latitude), float(longitude)


def _organizations(asn_path: Path | None, starts: NDArray[np.uint32]) -> list[str]:
    if asn_path is None:
        return [""] * int(starts.size)
    names: list[str] = []
    with maxminddb.open_database(str(asn_path)) as reader:
        for start in starts.tolist():
            record = reader.get(str(ipaddress.IPv4Address(start)))
            name = (
                record.get("autonomous_system_organization")
                if isinstance(record, Mapping)
                else None
            )
            names.append(str(name) if name else "")
    return names


def _asn(organization: str, country: str, start: int) -> int:
    lowered = organization.lower()
    for pattern, number in _KNOWN_ASNS:
        if re.search(pattern, lowered):
            return number
    key = organization if organization else f"{country}:{start >> 16}"
    return PLACEHOLDER_ASN_BASE + zlib.crc32(key.encode()) % 400_000


# User agents.

UA_REFERENCE: Final = np.datetime64("2020-01-01T00:00:00", "ms")
_DAY_MS: Final = 86_400_000
_CHROME_BUILDS: Final = {78: 3904, 79: 3945, 80: 3987, 81: 4044, 83: 4103, 84: 4147, 85: 4183}
_CHROME_MAJORS: Final = [m for m in range(78, 140) if m != 82]
_IOS: Final = (
    [f"13.{m}" for m in range(2, 8)] + [f"14.{m}" for m in range(9)] + [f"15.{m}" for m in range(8)]
)


@dataclass(frozen=True, slots=True)
class Agent:
    """One device template; ``family`` picks the version table."""

    ua: str
    browser: str
    os: str
    device_type: str
    family: str


_WIN: Final = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
_WEBKIT: Final = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
AGENTS: Final = (
    Agent(
        _WIN + " Chrome/{chrome} Safari/537.36", "Chrome {short}", "Windows 10", "desktop", "chrome"
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{ff}.0) Gecko/20100101 Firefox/{ff}.0",
        "Firefox {ff}.0",
        "Windows 10",
        "desktop",
        "firefox",
    ),
    Agent(
        _WIN + " Chrome/{chrome} Safari/537.36 Edg/{chrome}",
        "Edge {short}",
        "Windows 10",
        "desktop",
        "chrome",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{mac}) "
        + _WEBKIT
        + " Version/13.1 Safari/605.1.15",
        "Safari 13.1",
        "Mac OS X 10.15.{mac}",
        "desktop",
        "mac",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{mac}) AppleWebKit/537.36 (KHTML, like"
        " Gecko) Chrome/{chrome} Safari/537.36",
        "Chrome {short}",
        "Mac OS X 10.15.{mac}",
        "desktop",
        "chrome",
    ),
    Agent(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{ff}.0) Gecko/20100101 Firefox/{ff}.0",
        "Firefox {ff}.0",
        "Ubuntu",
        "desktop",
        "firefox",
    ),
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS {ios_} like Mac OS X) "
        + _WEBKIT
        + " Version/{ios} Mobile/15E148 Safari/604.1",
        "Mobile Safari {ios}",
        "iOS {ios}",
        "mobile",
        "ios",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/{chrome} Mobile Safari/537.36",
        "Chrome Mobile {short}",
        "Android 10",
        "mobile",
        "chrome",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 9; Pixel 3 Build/PQ3A.190801.002; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/{chrome} Mobile Safari/537.36",
        "Chrome Mobile WebView {short}",
        "Android 9",
        "mobile",
        "chrome",
    ),
    Agent(
        "Mozilla/5.0 (iPad; CPU OS {ios_} like Mac OS X) "
        + _WEBKIT
        + " Version/{ios} Mobile/15E148 Safari/604.1",
        "Mobile Safari {ios}",
        "iOS {ios}",
        "tablet",
        "ios",
    ),
    # Automation: only attackers' bots use these.
    Agent("python-requests/2.22.0", "Python Requests 2.22", "Other", "bot", "fixed"),
    Agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/{chrome} Safari/537.36",
        "HeadlessChrome {short}",
        "Linux",
        "bot",
        "chrome",
    ),
    Agent("curl/7.68.0", "curl 7.68.0", "Other", "bot", "fixed"),
)
DESKTOP: Final = (0, 1, 2, 3, 4, 5)
DESKTOP_WEIGHTS: Final = (0.42, 0.15, 0.1, 0.15, 0.12, 0.06)
MOBILE: Final = (6, 7, 8, 9)
MOBILE_WEIGHTS: Final = (0.5, 0.25, 0.15, 0.1)
BOTS: Final = (10, 11, 12)
# Release cadence in days per family; "fixed" never changes.
_CADENCE: Final = {"chrome": 42.0, "firefox": 28.0, "ios": 50.0, "mac": 60.0, "fixed": 1e9}
_AT_REFERENCE: Final = {"chrome": 1, "firefox": 0, "ios": 1, "mac": 2, "fixed": 0}
_MAX_RELEASE: Final = 40


def release_index(
    agent: NDArray[np.int64], when: NDArray[np.datetime64], lag: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Which release each event's browser runs: calendar position minus the user's update lag."""
    days = (when.astype("datetime64[ms]") - UA_REFERENCE).astype(np.int64) / _DAY_MS
    cadence = np.array([_CADENCE[a.family] for a in AGENTS])[agent]
    offset = np.array([_AT_REFERENCE[a.family] for a in AGENTS])[agent]
    release = np.floor(days / cadence).astype(np.int64) + offset - lag
    return np.asarray(np.clip(release, 0, _MAX_RELEASE - 1), dtype=np.int64)


def render(agent: int, release: int) -> tuple[str, str, str, str]:
    """(UA string, browser, OS, device type) of ``agent`` at ``release``."""
    spec = AGENTS[agent]
    major = _CHROME_MAJORS[min(release, len(_CHROME_MAJORS) - 1)]
    build = _CHROME_BUILDS.get(major, 4183 + (major - 85) * 45)
    ios = _IOS[min(release, len(_IOS) - 1)]
    values = {
        "chrome": f"{major}.0.{build}.{100 + release % 7 * 13}",
        "short": f"{major}.0.{build}",
        "ff": str(71 + release),
        "ios": ios,
        "ios_": ios.replace(".", "_"),
        "mac": str(min(release, 7)),
    }
    return (
        spec.ua.format(**values),
        spec.browser.format(**values),
        spec.os.format(**values),
        spec.device_type,
    )


def render_columns(
    agent: NDArray[np.int64], release: NDArray[np.int64]
) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.object_], NDArray[np.object_]]:
    """The four user-agent columns for every event, rendering each (agent, release) once."""
    keys = agent * _MAX_RELEASE + release
    unique, inverse = np.unique(keys, return_inverse=True)
    table = [render(int(k) // _MAX_RELEASE, int(k) % _MAX_RELEASE) for k in unique.tolist()]
    columns = [np.array([row[i] for row in table], dtype=object)[inverse] for i in range(4)]
    return columns[0], columns[1], columns[2], columns[3]
