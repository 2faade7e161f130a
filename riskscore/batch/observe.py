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

from riskscore.batch.categories import categorical
from riskscore.batch.grouped import Ints, codes_of, first_rows, pair_codes
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


def dense(column: pd.Series | pd.Categorical | NDArray[Any]) -> tuple[Ints, NDArray[Any]]:
    """Codes numbered by first appearance (grouped.codes_of) and the value of each code.

    A categorical column is recoded from its integer codes, without touching
    its strings; anything else is factorized.
    """
    if isinstance(column, pd.Series):
        column = column.array
    if isinstance(column, pd.Categorical):
        codes = codes_of(column.codes)
        # Code -1 (a missing value) reads the appended MISSING.
        values = np.append(np.asarray(column.categories, dtype=object), f.MISSING)
        return codes, values[column.codes[first_rows(codes)]]
    found, uniques = pd.factorize(column, use_na_sentinel=False)
    return found.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _text(frame: pd.DataFrame, col: str) -> pd.Categorical:
    if col not in frame:
        return _missing(len(frame))
    codes, values = dense(frame[col])
    absent = pd.isna(values)
    if absent.any():
        values = np.where(absent, f.MISSING, values)
    return categorical(codes, values)


def _missing(n: int) -> pd.Categorical:
    return categorical(np.zeros(n, dtype=np.int64), np.array([f.MISSING], dtype=object))


def _hours(ts_ns: NDArray[np.int64]) -> pd.Categorical:
    names = np.array([f"{h:02d}" for h in range(24)], dtype=object)
    return categorical(*dense(names[(ts_ns // 3_600_000_000_000) % 24]))


def derive(fn: Callable[..., str], *columns: pd.Series | pd.Categorical) -> pd.Categorical:
    """``fn`` applied row-wise, called once per distinct combination of the columns' values."""
    parts = [dense(col) for col in columns]
    key = parts[0][0]
    for codes, _ in parts[1:]:
        key = pair_codes(key, codes)
    combined = codes_of(key)
    first = first_rows(combined)
    values = [fn(*(part_values[codes[i]] for codes, part_values in parts)) for i in first.tolist()]
    return categorical(combined, np.array(values, dtype=object))


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
    asn = frame["asn"] if "asn" in frame else pd.Series(pd.array([None] * n, dtype="Int64"))
    missing = _missing(n)
    out: dict[str, Any] = {
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
        "network_type": missing,
        "network_source": missing,
        "reputation_list": missing,
        "lat": np.full(n, np.nan),
        "lon": np.full(n, np.nan),
        "radius": np.full(n, np.nan),
    }
    return _finish(frame, out)


def from_enricher(frame: pd.DataFrame, enricher: BatchEnricher) -> pd.DataFrame:
    """Observation columns from the service's enricher, one lookup per distinct value."""
    ip_codes, unique_ips = dense(frame["ip"])
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
    ua_codes, unique_uas = dense(_text(frame, "user_agent"))
    by_ua: dict[str, list[str]] = {k: [] for k in (f.UA, f.BROWSER, f.OS, f.DEVICE_TYPE, f.DEVICE)}
    for ua in unique_uas.tolist():
        for col, value in f.device_columns(ua, enricher.parse_user_agent(ua)).items():
            by_ua[col].append(value)
    out: dict[str, Any] = {}
    for col, values in by_ip.items():
        if col in NUMERIC_COLUMNS:
            table = np.array(values, dtype=float)
            out[col] = table[ip_codes] if len(table) else np.zeros(0)
        else:
            out[col] = categorical(ip_codes, np.array(values, dtype=object))
    for col, ua_values in by_ua.items():
        out[col] = categorical(ua_codes, np.array(ua_values, dtype=object))
    return _finish(frame, out)


def _finish(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    ts_ns = frame["ts_ns"].to_numpy(np.int64)
    data: dict[str, Any] = {
        "user": _text(frame, "user"),
        "ts_ns": ts_ns,
        "success": frame["success"].to_numpy(bool),
        f.IP: _text(frame, "ip"),
        **columns,
        f.DEVICE_KEY: _text(frame, "device_key"),
        f.HOUR: _hours(ts_ns),
    }
    # Text is categorical, codes numbered by first appearance in time order
    # (grouped.codes_of's numbering): later stages group by the codes.
    return pd.DataFrame({k: pd.Series(v, index=frame.index) for k, v in data.items()})


def observations(frame: pd.DataFrame, enricher: BatchEnricher | None) -> pd.DataFrame:
    """Observation columns of a validated log: from the enricher when given, else its columns."""
    return from_enricher(frame, enricher) if enricher is not None else from_columns(frame)
