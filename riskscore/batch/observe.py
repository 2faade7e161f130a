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

from collections.abc import Callable
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch.grouped import codes_of, first_rows, pair_codes
from riskscore.batch.rba import family
from riskscore.core import features as f
from riskscore.core.enrichment import Enrichment, UserAgentInfo

# Observation columns beyond the feature values.
PLACE_COLUMNS: Final = ("place_country", "place_city", "network_source", "reputation_list")
NUMERIC_COLUMNS: Final = ("lat", "lon", "radius")


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


def derive(fn: Callable[..., str], *columns: NDArray[Any]) -> NDArray[np.object_]:
    """``fn`` applied row-wise, called once per distinct combination of the columns' values."""
    key = codes_of(columns[0])
    for col in columns[1:]:
        key = pair_codes(key, codes_of(col))
    codes = codes_of(key)
    first = first_rows(codes)
    values = np.array([fn(*(col[i] for col in columns)) for i in first.tolist()], dtype=object)
    return values[codes] if len(values) else np.zeros(0, dtype=object)


def _asn(asn: object) -> str:
    return f.MISSING if pd.isna(asn) else f.asn_key(int(asn))  # type: ignore[call-overload]


def _device(browser: str, os_: str, device_type: str) -> str:
    return f.device_key_of(family(browser), family(os_), device_type)


def from_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Observation columns from a log that carries its own lookups (batch/rba.py's rules)."""
    country = _text(frame, "country")
    region = _text(frame, "region")
    city = _text(frame, "city")
    browser = _text(frame, "browser")
    os_ = _text(frame, "os")
    device_type = _text(frame, "device_type")
    n = len(frame)
    asn = frame["asn"].to_numpy(object) if "asn" in frame else np.full(n, None, dtype=object)
    out = {
        f.ASN: derive(_asn, asn),
        f.COUNTRY: country,
        f.REGION: derive(f.region_key, country, region),
        f.CITY: derive(f.city_key, country, region, city),
        f.UA: _text(frame, "user_agent"),
        f.BROWSER: browser,
        f.OS: os_,
        f.DEVICE_TYPE: device_type,
        f.DEVICE: derive(_device, browser, os_, device_type),
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
    data: dict[str, NDArray[Any]] = {
        "user": frame["user"].astype(str).to_numpy(object),
        "ts_ns": ts_ns,
        "success": frame["success"].to_numpy(bool),
        f.IP: frame["ip"].to_numpy(object),
        **columns,
        f.DEVICE_KEY: _text(frame, "device_key"),
        f.HOUR: _hours(ts_ns),
    }
    # Text stays object dtype (pandas would turn it into Arrow strings, and
    # every column is read back as a numpy array).
    return pd.DataFrame(
        {
            k: pd.Series(v, index=frame.index, dtype=object if v.dtype == object else None)
            for k, v in data.items()
        }
    )


def observations(frame: pd.DataFrame, enricher: BatchEnricher | None) -> pd.DataFrame:
    """Observation columns of a validated log: from the enricher when given, else its columns."""
    return from_enricher(frame, enricher) if enricher is not None else from_columns(frame)
