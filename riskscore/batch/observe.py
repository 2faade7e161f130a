"""A validated log as observation columns: what core.features.observe gives online.

Two sources, chosen per file:

* the log's own looked-up columns (the RBA dataset's Country, Region, City,
  ASN, Browser, OS, Device Type), used as they are, as batch/rba.py reads
  one row; no network type or deny list is derived then, since such logs
  (the RBA dataset's IPs among them) need not geolocate;
* or, when the log has no Country column (or ``enrich`` is asked for), the
  service's own enricher: each distinct IP and each distinct User-Agent is
  looked up once and the columns built by the same functions ``observe``
  uses, so batch sees exactly what the service would have.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.core import features as f
from riskscore.core.enrichment import Enrichment, UserAgentInfo

# Observation columns beyond the feature values.
PLACE_COLUMNS: Final = ("place_country", "place_city", "network_source", "reputation_list")
NUMERIC_COLUMNS: Final = ("lat", "lon", "radius")
_VERSION: Final = r"\s+\d.*$"


class BatchEnricher(Protocol):
    """The lookups of riskscore.enrich.enricher.AttemptEnricher, one value at a time."""

    def enrich_ip(self, ip: str, user_agent: UserAgentInfo | None = None) -> Enrichment:
        """Everything the IP alone tells."""
        ...

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo:
        """The device a User-Agent names."""
        ...


def _text(frame: pd.DataFrame, col: str) -> NDArray[np.object_]:
    if col not in frame:
        return np.full(len(frame), f.MISSING, dtype=object)
    return frame[col].fillna(f.MISSING).astype(str).to_numpy(object)


def _hours(ts_ns: NDArray[np.int64]) -> NDArray[np.object_]:
    names = np.array([f"{h:02d}" for h in range(24)], dtype=object)
    return names[(ts_ns // 3_600_000_000_000) % 24]


def _join(
    a: NDArray[np.object_], b: NDArray[np.object_], when: NDArray[np.bool_]
) -> NDArray[np.object_]:
    joined = pd.Series(a, dtype=object) + "/" + pd.Series(b, dtype=object)
    return np.where(when, joined.to_numpy(object), f.MISSING)


def from_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Observation columns from a log that carries its own lookups (batch/rba.py's rules)."""
    country = _text(frame, "country")
    region = _text(frame, "region")
    city = _text(frame, "city")
    browser = _text(frame, "browser")
    os_ = _text(frame, "os")
    device_type = _text(frame, "device_type")
    user_agent = _text(frame, "user_agent")
    asn = frame["asn"] if "asn" in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")
    asn_text = np.where(asn.isna(), f.MISSING, "AS" + asn.astype("string").fillna(""))
    families = [
        pd.Series(col, dtype=object).str.strip().str.replace(_VERSION, "", regex=True)
        for col in (browser, os_)
    ]
    device = np.where(
        (families[0] != f.MISSING) | (families[1] != f.MISSING),
        (families[0] + "|" + families[1] + "|" + pd.Series(device_type, dtype=object)),
        f.MISSING,
    )
    n = len(frame)
    out = {
        f.ASN: asn_text.astype(object),
        f.COUNTRY: country,
        f.REGION: _join(country, region, (country != f.MISSING) & (region != f.MISSING)),
        f.CITY: _join(
            _join(country, region, country != f.MISSING),
            city,
            (country != f.MISSING) & (city != f.MISSING),
        ),
        f.UA: user_agent,
        f.BROWSER: browser,
        f.OS: os_,
        f.DEVICE_TYPE: device_type,
        f.DEVICE: device.astype(object),
        "place_country": country,
        "place_city": city,
        "network_type": np.full(n, f.MISSING, dtype=object),
        "network_source": np.full(n, f.MISSING, dtype=object),
        "reputation_list": np.full(n, f.MISSING, dtype=object),
        "lat": np.full(n, np.nan),
        "lon": np.full(n, np.nan),
        "radius": np.full(n, np.nan),
    }
    return _finish(frame, out)


def from_enricher(frame: pd.DataFrame, enricher: BatchEnricher) -> pd.DataFrame:
    """Observation columns from the service's enricher, one lookup per distinct value."""
    ips = frame["ip"].to_numpy(object)
    ip_codes, unique_ips = pd.factorize(ips)
    by_ip: dict[str, list[object]] = {k: [] for k in (f.ASN, f.COUNTRY, f.REGION, f.CITY)}
    for extra in (*PLACE_COLUMNS, *NUMERIC_COLUMNS, "network_type"):
        by_ip[extra] = []
    for ip in unique_ips.tolist():
        e = enricher.enrich_ip(ip)
        for col, value in f.place_columns(e.geo, e.network).items():
            by_ip[col].append(value)
        geo = e.geo
        by_ip["place_country"].append(geo.country if geo else f.MISSING)
        by_ip["place_city"].append(geo.city if geo else f.MISSING)
        by_ip["lat"].append(geo.latitude if geo and geo.latitude is not None else np.nan)
        by_ip["lon"].append(geo.longitude if geo and geo.longitude is not None else np.nan)
        radius = geo.accuracy_radius_km if geo else None
        by_ip["radius"].append(np.nan if radius is None else radius)
        nc = e.network_class
        by_ip["network_type"].append(nc.type.value if nc else f.MISSING)
        by_ip["network_source"].append(f.network_source_of(nc) if nc else f.MISSING)
        by_ip["reputation_list"].append(e.reputation.list_name if e.reputation else f.MISSING)
    agents = _text(frame, "user_agent")
    ua_codes, unique_uas = pd.factorize(agents)
    by_ua: dict[str, list[str]] = {k: [] for k in (f.UA, f.BROWSER, f.OS, f.DEVICE_TYPE, f.DEVICE)}
    for ua in unique_uas.tolist():
        for col, value in f.device_columns(ua, enricher.parse_user_agent(ua)).items():
            by_ua[col].append(value)
    out: dict[str, NDArray[Any]] = {}
    for col, values in by_ip.items():
        numeric = col in NUMERIC_COLUMNS
        table = np.array(values, dtype=float if numeric else object)
        out[col] = table[ip_codes] if len(table) else np.zeros(0, dtype=table.dtype)
    for col, ua_values in by_ua.items():
        table = np.array(ua_values, dtype=object)
        out[col] = table[ua_codes] if len(table) else np.zeros(0, dtype=object)
    return _finish(frame, out)


def _finish(frame: pd.DataFrame, columns: dict[str, NDArray[Any]]) -> pd.DataFrame:
    ts_ns = frame["ts_ns"].to_numpy(np.int64)
    obs = pd.DataFrame(
        {
            "user": frame["user"].astype(str).to_numpy(object),
            "ts_ns": ts_ns,
            "success": frame["success"].to_numpy(bool),
            f.IP: frame["ip"].to_numpy(object),
            **columns,
            f.DEVICE_KEY: _text(frame, "device_key"),
            f.HOUR: _hours(ts_ns),
        }
    )
    obs.index = frame.index
    return obs


def observations(
    frame: pd.DataFrame, enricher: BatchEnricher | None, *, enrich: bool = False
) -> pd.DataFrame:
    """Observation columns of a validated log, from its columns or from the enricher."""
    if enricher is not None and (enrich or "country" not in frame):
        return from_enricher(frame, enricher)
    return from_columns(frame)
