"""From a validated log to output rows: replay, decide, and summarise.

The decision is the service's ``policy.decide`` for the row's level under the
pool's configuration (and mode), evaluated once per distinct (level, IP) when
the configuration has IP exceptions, once per level otherwise. Event type is
SIGN_IN (a login log), nothing about credentials is known (no password), and
whether the user has MFA is unknown, so MFA_IF_CONFIGURED stays "mfa".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import observe, replay
from riskscore.batch.grouped import codes_of, pair_codes
from riskscore.batch.validate import Validated, time_order
from riskscore.core.attempt import EventType
from riskscore.core.result import Decision, RiskLevel
from riskscore.policy.config import AdvancedSecurityMode, EffectiveRiskConfiguration
from riskscore.policy.decide import PolicyInputs, decide
from riskscore.signals.base import SignalSettings

DECISION_NAMES: Final = {
    Decision.NO_ACTION: "allow",
    Decision.MFA_IF_CONFIGURED: "mfa",
    Decision.MFA_REQUIRED: "mfa",
    Decision.BLOCK: "block",
}
OUTPUT_COLUMNS: Final = ("index", "risk_score", "risk_level", "decision", "reasons")
_LEVELS: Final = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH)


@dataclass(frozen=True, slots=True)
class Policy:
    """The pool's configuration in force and its mode."""

    config: EffectiveRiskConfiguration
    mode: AdvancedSecurityMode


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """Everything that decides a batch score besides the log itself."""

    model: replay.BatchModel
    policy: Policy
    signals: SignalSettings = field(default_factory=SignalSettings)
    enrich: bool = False
    features: bool = False


@dataclass(frozen=True, slots=True)
class Scored:
    """Output rows (input order) and the same rows' labels, for the summary."""

    rows: pd.DataFrame
    labels: pd.DataFrame


def score_log(
    validated: Validated, enricher: observe.BatchEnricher | None, settings: BatchSettings
) -> Scored:
    """Score every row of a validated log as the service would have; rows keep input order."""
    frame = validated.frame
    order = time_order(frame)
    ordered = frame.take(order).reset_index(drop=True)
    obs = observe.observations(ordered, enricher if settings.enrich else None)
    result = replay.replay(obs, settings.signals, settings.model)
    decision, audit = decisions(result.level, obs["ip"].to_numpy(object), settings.policy)
    reasons = result.reasons
    if audit:
        reasons = np.where(reasons == "", "AUDIT_MODE", "AUDIT_MODE," + reasons.astype(str))
    if settings.policy.mode is AdvancedSecurityMode.OFF:
        result = replay.Replayed(
            result.features,
            result.raw,
            np.zeros(len(obs)),
            np.full(len(obs), "low", dtype=object),
            np.full(len(obs), "PROTECTION_OFF", dtype=object),
        )
        reasons = result.reasons
    out = pd.DataFrame(
        {
            "index": ordered["index"].to_numpy(),
            "risk_score": result.score,
            "risk_level": result.level,
            "decision": decision,
            "reasons": reasons,
        }
    )
    if settings.features:
        out = pd.concat([out, result.features.reset_index(drop=True)], axis=1)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return Scored(out.take(back).reset_index(drop=True), validated.labels.reset_index(drop=True))


def decisions(
    levels: NDArray[np.object_], ips: NDArray[np.object_], policy: Policy
) -> tuple[NDArray[np.object_], bool]:
    """The decision per row, and whether the mode is AUDIT (reasons then start AUDIT_MODE)."""
    level_ids = np.select([levels == "high", levels == "medium"], [2, 1], 0).astype(np.int64)
    exceptions = policy.config.exceptions
    with_ips = bool(exceptions.blocked or exceptions.skipped)
    key = pair_codes(codes_of(ips), level_ids) if with_ips else level_ids
    codes, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    names = []
    for i in first.tolist():
        inputs = PolicyInputs(
            event_type=EventType.SIGN_IN,
            ip_address=str(ips[i]),
            risk_level=_LEVELS[level_ids[i]],
            risk_score=0.0,
        )
        names.append(DECISION_NAMES[decide(inputs, policy.config, policy.mode).effective_action])
    table = np.array(names, dtype=object)
    decided = table[codes] if len(table) else np.zeros(0, dtype=object)
    return decided, policy.mode is AdvancedSecurityMode.AUDIT


@dataclass(frozen=True, slots=True)
class Summary:
    """What the run did: rows, rejects, level mix, and detection when labels are present."""

    rows: int
    rejects: int
    levels: dict[str, int]
    decisions: dict[str, int]
    auc: float | None = None
    attack_rows: int = 0
    caught_medium: float | None = None
    caught_high: float | None = None
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """A few readable lines for the terminal."""
        mix = ", ".join(f"{k} {v:,}" for k, v in self.levels.items())
        acts = ", ".join(f"{k} {v:,}" for k, v in self.decisions.items())
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        out = [
            f"rows scored: {self.rows:,} ({rate:,.0f} rows/s); rejected: {self.rejects:,}",
            f"levels: {mix}",
            f"decisions: {acts}",
        ]
        if self.auc is not None:
            out.append(
                f"labels: {self.attack_rows:,} attack rows; ROC AUC {self.auc:.4f}; "
                f"caught at MEDIUM+ {self.caught_medium:.1%}, at HIGH {self.caught_high:.1%}"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "rows": self.rows,
            "rejects": self.rejects,
            "levels": self.levels,
            "decisions": self.decisions,
            "auc": self.auc,
            "attack_rows": self.attack_rows,
            "caught_medium": self.caught_medium,
            "caught_high": self.caught_high,
            "seconds": self.seconds,
        }


def attack_labels(labels: pd.DataFrame) -> NDArray[np.bool_] | None:
    """Per row: an attacker's (Is Attack IP, Is Account Takeover, attack kind); None: no labels."""
    parts = [
        labels[col].fillna(False).to_numpy(bool)
        for col in ("is_attack_ip", "is_takeover")
        if col in labels and labels[col].notna().any()
    ]
    if "attack_kind" in labels and labels["attack_kind"].notna().any():
        kinds = labels["attack_kind"].fillna("").astype(str).to_numpy(object)
        parts.append(kinds != "")
    if not parts:
        return None
    return np.asarray(np.logical_or.reduce(parts), dtype=bool)


def summarize(scored: Scored, rejects: int, seconds: float) -> Summary:
    """Counts, level mix and (with labels) AUC and catch rates."""
    rows = scored.rows
    levels = {lvl: int((rows["risk_level"] == lvl).sum()) for lvl in ("low", "medium", "high")}
    acts = {a: int((rows["decision"] == a).sum()) for a in ("allow", "mfa", "block")}
    summary = Summary(len(rows), rejects, levels, acts, seconds=seconds)
    attacks = attack_labels(scored.labels)
    if attacks is None or attacks.all() or not attacks.any():
        return summary
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

    level = rows["risk_level"].to_numpy(object)[attacks]
    return Summary(
        summary.rows,
        rejects,
        levels,
        acts,
        auc=float(roc_auc_score(attacks, rows["risk_score"].to_numpy(float))),
        attack_rows=int(attacks.sum()),
        caught_medium=float(np.isin(level, ("medium", "high")).mean()),
        caught_high=float((level == "high").mean()),
        seconds=seconds,
    )
