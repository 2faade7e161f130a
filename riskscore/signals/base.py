"""What a signal returns, and the settings every signal reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from riskscore.core.result import Reason


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """Features, reasons and a log-likelihood-ratio factor from one signal."""

    features: Mapping[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    # ln of the factor this signal multiplies the raw risk by (0 = no effect).
    log_factor: float = 0.0


NOTHING = SignalOutcome()


@dataclass(frozen=True, slots=True)
class TravelSettings:
    """Impossible travel: speeds above a flight's, over more than a minimum distance.

    Defaults follow the peers (risk-peers.md 3): bcgov 1000 km/h with both
    accuracy radii subtracted; Elastic's >= 500 km; Panther's < 50 km / < 10 min
    as geo-IP noise.
    """

    max_speed_kmh: float = 1000.0
    min_distance_km: float = 500.0
    # ln(25): an impossible journey multiplies the risk by 25.
    log_factor: float = 3.2188758248682006
    # Less precise places (radius above this, or no city) count half.
    imprecise_radius_km: float = 250.0
    # A hosting, VPN, Tor or mobile network at either end moves the IP's
    # geolocation without the user moving (VPN exits, carrier gateways;
    # risk-peers.md 4), so the journey's log factor is divided by this.
    relocating_network_divisor: float = 4.0


@dataclass(frozen=True, slots=True)
class VelocitySettings:
    """Thresholds on the store's sliding windows (Keycloak, Auth0 and bcgov use 5-10)."""

    # Must equal the store's window (the factory passes the same value to both).
    window_minutes: int = 10
    user_failures: int = 5
    ip_users: int = 10
    ip_failures: int = 10
    stuffing_failure_ratio: float = 0.7
    # ln(50): no single velocity reason multiplies the risk by more.
    max_log_factor: float = 3.912023005428146


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """Log factors of the network-type and deny-list reasons."""

    # ln(3): a rented server is an unusual place for a person to sign in from.
    hosting_log_factor: float = 1.0986122886681098
    # ln(4): a commercial VPN hides where the user is.
    vpn_log_factor: float = 1.3862943611198906
    # ln(10): a Tor exit hides where the user is, and attacks favour it.
    tor_log_factor: float = 2.302585092994046
    # ln(20): the IP is on an operator's deny list.
    deny_list_log_factor: float = 2.995732273553991
    # A user whose last proven sign-in came from the same hosting or VPN
    # network type gets that factor scaled by this (halved by default).
    known_type_scale: float = 0.5


@dataclass(frozen=True, slots=True)
class HourSettings:
    """UNUSUAL_HOUR: only for users with a routine, and only weakly."""

    min_logins: int = 10
    min_concentration: float = 0.5
    # At most this share of the user's sign-ins within an hour of this one.
    max_share: float = 0.02
    min_distance_hours: float = 4.0
    # ln(1.5).
    log_factor: float = 0.4054651081081644


@dataclass(frozen=True, slots=True)
class FeedbackSettings:
    """FEEDBACK_ATTACKER_MATCH: Invalid feedback on an attempt with the same IP, ASN or device."""

    # ln(20): the user said an attempt from here was not them.
    user_log_factor: float = 2.995732273553991
    # ln(8) for an IP, ln(2) for a whole network, someone else in the pool reported.
    pool_ip_log_factor: float = 2.0794415416798357
    pool_asn_log_factor: float = 0.6931471805599453
    # A pool-level report's weight halves every this many days.
    half_life_days: float = 30.0


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """Every signal's settings, with named defaults."""

    travel: TravelSettings = field(default_factory=TravelSettings)
    velocity: VelocitySettings = field(default_factory=VelocitySettings)
    hours: HourSettings = field(default_factory=HourSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    # ln(8): a scripted client multiplies the risk by 8.
    bot_log_factor: float = 2.0794415416798357
    # ln(1/5): a remembered device the user proved before divides it by 5.
    known_device_log_factor: float = -1.6094379124341003
