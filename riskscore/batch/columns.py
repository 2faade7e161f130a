"""Canonical batch-log fields and where each is read from in a file.

The default mapping is the public RBA dataset's header (Wiefling et al., ACM
TOPS 2022; DESIGN.md "Public contracts") plus the simulator's ``attack_kind``,
so RBA files and simulated logs are read as they are. ``--columns`` overrides
single entries. Label fields are kept apart from the scoring fields because
scoring must give the same result with them removed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from riskscore.batch import rba
from riskscore.errors import InvalidArgumentError

INDEX: Final = "index"
TIMESTAMP: Final = "timestamp"
USER: Final = "user"
IP: Final = "ip"
SUCCESS: Final = "success"
RTT_MS: Final = "rtt_ms"
COUNTRY: Final = "country"
REGION: Final = "region"
CITY: Final = "city"
ASN: Final = "asn"
USER_AGENT: Final = "user_agent"
BROWSER: Final = "browser"
OS: Final = "os"
DEVICE_TYPE: Final = "device_type"
DEVICE_KEY: Final = "device_key"
IS_ATTACK_IP: Final = "is_attack_ip"
IS_TAKEOVER: Final = "is_takeover"
ATTACK_KIND: Final = "attack_kind"

FIELDS: Final = (
    INDEX,
    TIMESTAMP,
    USER,
    IP,
    SUCCESS,
    RTT_MS,
    COUNTRY,
    REGION,
    CITY,
    ASN,
    USER_AGENT,
    BROWSER,
    OS,
    DEVICE_TYPE,
    DEVICE_KEY,
)
LABELS: Final = (IS_ATTACK_IP, IS_TAKEOVER, ATTACK_KIND)
REQUIRED: Final = (TIMESTAMP, USER, IP, SUCCESS)
TEXT_FIELDS: Final = (COUNTRY, REGION, CITY, USER_AGENT, BROWSER, OS, DEVICE_TYPE, DEVICE_KEY)
COLUMNS_OPTION: Final = "--columns"

_RBA_LABELS: Final = dict(zip(LABELS, rba.LABELS, strict=True))
DEFAULT_SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        INDEX: "index",
        TIMESTAMP: rba.TIMESTAMP,
        USER: rba.USER,
        IP: rba.IP,
        SUCCESS: rba.SUCCESS,
        RTT_MS: rba.RTT,
        COUNTRY: rba.COUNTRY,
        REGION: rba.REGION,
        CITY: rba.CITY,
        ASN: rba.ASN,
        USER_AGENT: rba.UA,
        BROWSER: rba.BROWSER,
        OS: rba.OS,
        DEVICE_TYPE: rba.DEVICE_TYPE,
        # The RBA dataset has no device key; a column named like the field is used.
        DEVICE_KEY: DEVICE_KEY,
        **_RBA_LABELS,
    }
)
_SHOWN_CHARS: Final = 80
_SHOWN_HEADER: Final = 20


def _shown(value: str) -> str:
    if len(value) > _SHOWN_CHARS:
        value = value[: _SHOWN_CHARS - 3] + "..."
    return repr(value)


class BatchInputError(InvalidArgumentError):
    """A batch input file, its column mapping or one of its rows cannot be used.

    Row errors read ``row 17 (index 100016), column 'IP Address': not an IP
    address: '999.1.1.1'``: ``row`` is the 1-based data record after the
    header and ``column`` the name in the file, not the canonical field.
    """

    def __init__(
        self,
        reason: str,
        *,
        row: int | None = None,
        index: str | None = None,
        column: str | None = None,
        value: str | None = None,
        where: str | None = None,
    ) -> None:
        if where is None:
            parts = []
            if row is not None:
                parts.append(f"row {row}" + (f" (index {index})" if index else ""))
            if column is not None:
                parts.append(f"column {column!r}")
            where = ", ".join(parts) or "input"
        super().__init__(where, reason if value is None else f"{reason}: {_shown(value)}")
        self.row = row
        self.index = index
        self.column = column
        self.value = value
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """The source column each canonical field is read from; '' means the field is absent."""

    sources: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SOURCES)
    explicit: frozenset[str] = frozenset()

    def source(self, name: str) -> str:
        """The column ``name`` is read from, or '' when it is absent."""
        return self.sources.get(name, "")


DEFAULT_MAPPING: Final = ColumnMapping()


def parse_mapping(text: str, base: ColumnMapping = DEFAULT_MAPPING) -> ColumnMapping:
    """``"user=User ID,ip=IP Address,device_key="`` as overrides of ``base``."""
    sources = dict(base.sources)
    seen: set[str] = set()
    known = (*FIELDS, *LABELS)
    # Column names may hold spaces but not commas: commas separate the pairs.
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, column = (part.strip() for part in item.partition("="))
        if not sep:
            raise BatchInputError(
                f"expected field=column, got {item.strip()!r}", where=COLUMNS_OPTION
            )
        if name not in known:
            raise BatchInputError(
                f"unknown field {name!r}; known fields: {', '.join(known)}", where=COLUMNS_OPTION
            )
        if name in seen:
            raise BatchInputError(f"field {name!r} is mapped twice", where=COLUMNS_OPTION)
        seen.add(name)
        sources[name] = column
    _check_distinct(sources)
    return ColumnMapping(MappingProxyType(sources), base.explicit | seen)


def _check_distinct(sources: Mapping[str, str]) -> None:
    owner: dict[str, str] = {}
    for name, column in sources.items():
        if not column:
            continue
        if column in owner:
            raise BatchInputError(
                f"source column {column!r} is mapped to both {owner[column]!r} and {name!r}; "
                f"map one of them elsewhere, or to nothing ({name}=)",
                where=COLUMNS_OPTION,
            )
        owner[column] = name


@dataclass(frozen=True, slots=True)
class Resolved:
    """The canonical fields a file holds, each with its source column, labels apart."""

    fields: Mapping[str, str]
    labels: Mapping[str, str]

    def source(self, name: str) -> str:
        """The file's name for ``name``, for error messages (the field itself if absent)."""
        return self.fields.get(name) or self.labels.get(name) or name

    @property
    def usecols(self) -> list[str]:
        """Source columns to read, scoring fields first."""
        return [*self.fields.values(), *self.labels.values()]

    @property
    def canonical(self) -> list[str]:
        """Canonical names of :attr:`usecols`, in the same order."""
        return [*self.fields, *self.labels]


def resolve(
    header: Collection[str], mapping: ColumnMapping = DEFAULT_MAPPING, *, labels: bool = True
) -> Resolved:
    """Which fields ``header`` holds; raises BatchInputError for a missing required one."""
    present = set(header)
    found: dict[str, dict[str, str]] = {"fields": {}, "labels": {}}
    for group, names in (("fields", FIELDS), ("labels", LABELS if labels else ())):
        for name in names:
            column = mapping.source(name)
            if column and column in present:
                found[group][name] = column
            elif name in REQUIRED or (column and name in mapping.explicit):
                raise _missing(name, column, header)
    return Resolved(MappingProxyType(found["fields"]), MappingProxyType(found["labels"]))


def _missing(name: str, column: str, header: Collection[str]) -> BatchInputError:
    if not column:
        return BatchInputError(f"required field {name!r} cannot be absent", where=COLUMNS_OPTION)
    names = list(header)
    shown = ", ".join(repr(h) for h in names[:_SHOWN_HEADER])
    more = f" and {len(names) - _SHOWN_HEADER} more" if len(names) > _SHOWN_HEADER else ""
    need = "required field" if name in REQUIRED else "field"
    return BatchInputError(
        f"the input has no such column, which {need} {name!r} is read from; "
        f"name the column that holds it with {COLUMNS_OPTION} {name}=<column> "
        f"(the input's columns: {shown or 'none'}{more})",
        column=column,
    )
