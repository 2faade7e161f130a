"""``RiskExceptionConfigurationType``: always-block and always-allow CIDRs (cognito.md 1.2, 10)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.wire import RiskExceptionConfigurationWire

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

EXCEPTIONS: Final = "RiskExceptionConfiguration"
MAX_IP_RANGES: Final = 200  # both lists (cognito.md 1.2)


@dataclass(frozen=True, slots=True)
class RiskExceptionConfiguration:
    """Always-block and always-allow CIDRs (IPv4 or IPv6, at most 200 each)."""

    # None keeps the list absent on the wire; () is an explicit empty list.
    blocked: tuple[IPNetwork, ...] | None = None
    skipped: tuple[IPNetwork, ...] | None = None

    def __post_init__(self) -> None:
        for key, nets in (
            ("BlockedIPRangeList", self.blocked),
            ("SkippedIPRangeList", self.skipped),
        ):
            if nets is not None and len(nets) > MAX_IP_RANGES:
                raise InvalidArgumentError(
                    f"{EXCEPTIONS}.{key}", f"at most {MAX_IP_RANGES} ranges, got {len(nets)}"
                )

    def blocked_match(self, ip: IPAddress) -> IPNetwork | None:
        """The first always-block range holding ``ip``."""
        return _first_match(self.blocked, ip)

    def skipped_match(self, ip: IPAddress) -> IPNetwork | None:
        """The first always-allow range holding ``ip``."""
        return _first_match(self.skipped, ip)

    @classmethod
    def from_wire(cls, raw: object) -> RiskExceptionConfiguration:
        """Parse the wire object."""
        body = r.obj(raw, EXCEPTIONS, ("BlockedIPRangeList", "SkippedIPRangeList"))
        lists: dict[str, tuple[IPNetwork, ...] | None] = {}
        for attr, key in (("blocked", "BlockedIPRangeList"), ("skipped", "SkippedIPRangeList")):
            lists[attr] = None
            if key in body:
                path = f"{EXCEPTIONS}.{key}"
                texts = r.strings(body[key], path)
                if len(texts) > MAX_IP_RANGES:
                    raise InvalidArgumentError(
                        path, f"at most {MAX_IP_RANGES} ranges, got {len(texts)}"
                    )
                lists[attr] = tuple(parse_cidr(t, f"{path}[{i}]") for i, t in enumerate(texts))
        return cls(**lists)

    def to_wire(self) -> RiskExceptionConfigurationWire:
        """The wire object, ranges in normalised CIDR text."""
        out: RiskExceptionConfigurationWire = {}
        if self.blocked is not None:
            out["BlockedIPRangeList"] = [str(n) for n in self.blocked]
        if self.skipped is not None:
            out["SkippedIPRangeList"] = [str(n) for n in self.skipped]
        return out


def parse_cidr(text: str, path: str) -> IPNetwork:
    """A CIDR range; host bits are cleared ("10.0.0.1/8" -> "10.0.0.0/8").

    The API only says "CIDR notation" (BOTO-IDP RiskExceptionConfigurationType);
    no source says whether Cognito rejects host bits. Terraform validates these
    lists with Go's net.ParseCIDR, which accepts host bits and requires a
    prefix, so we require the "/" and normalise like ParseCIDR's network.
    """
    if "/" not in text:
        raise InvalidArgumentError(path, f"{text!r} is not CIDR notation (ADDRESS/PREFIX)")
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise InvalidArgumentError(path, f"{text!r} is not a CIDR range: {exc}") from None


def _first_match(nets: tuple[IPNetwork, ...] | None, ip: IPAddress) -> IPNetwork | None:
    for net in nets or ():
        if net.version == ip.version and ip in net:
            return net
    return None
