"""Remembered devices: a device key the user already proved is strong evidence of the user."""

from __future__ import annotations

from riskscore.core import features as f
from riskscore.core.features import Observation
from riskscore.core.profile import ProfileSnapshot
from riskscore.core.result import Reason
from riskscore.signals.base import SignalOutcome


def remembered_device(
    obs: Observation, snapshot: ProfileSnapshot, log_factor: float
) -> SignalOutcome:
    """KNOWN_DEVICE (lowers risk) when the remembered-device key was seen in a proven sign-in."""
    key = obs.get(f.DEVICE_KEY)
    seen = snapshot.user.stats(f.DEVICE_KEY).count if key else 0
    features = {
        "device_key_present": 1.0 if key else 0.0,
        "device_key_known": 1.0 if seen else 0.0,
        "device_signature_known": 1.0 if snapshot.user.stats(f.DEVICE).count else 0.0,
    }
    if not seen:
        return SignalOutcome(features=features)
    reason = Reason(
        "KNOWN_DEVICE",
        "A remembered device this user signed in from before.",
        log_factor,
        {"device_key_sign_ins": str(seen)},
    )
    return SignalOutcome(features=features, reasons=(reason,), log_factor=log_factor)
