"""From a validated log to output rows: replay, decide, and summarise.

A log is replayed in one pass (``score_log``) or, when larger than memory,
chunk by chunk with the profile state carried over (``score_chunks``,
batch/state.py): the rows come out the same to the last bit.

The decision is the service's ``policy.decide`` for the row's level under the
pool's configuration (and mode), evaluated once per distinct (level, IP) when
the configuration has IP exceptions, once per level otherwise. Event type is
SIGN_IN (a login log), nothing about credentials is known (no password), and
whether the user has MFA is unknown, so MFA_IF_CONFIGURED stays "mfa".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from riskscore.batch import observe, replay
from riskscore.batch.categories import as_categorical, categorical
from riskscore.batch.columns import DEFAULT_MAPPING, TIMESTAMP, BatchInputError
from riskscore.batch.grouped import codes_of, first_rows, pair_codes, run_starts
from riskscore.batch.state import ReplayState
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
_LEVEL_NAMES: Final = ("low", "medium", "high")
_DECISIONS: Final = ("allow", "mfa", "block")


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
    rows = output_rows(ordered, obs, result, settings)
    return Scored(in_input_order(rows, order), validated.labels.reset_index(drop=True))


@dataclass(frozen=True, slots=True)
class Step:
    """One chunk's output rows (input order) and labels, and the state after the chunk."""

    scored: Scored
    state: ReplayState


def score_chunks(
    chunks: Iterable[Validated],
    enricher: observe.BatchEnricher | None,
    settings: BatchSettings,
    state: ReplayState,
    *,
    time_column: str = DEFAULT_MAPPING.source(TIMESTAMP),
) -> Iterator[Step]:
    """Score a log chunk by chunk, carrying the profile state: equal to ``score_log``.

    Each chunk is sorted by time (ties in file order); a row earlier than the
    rows before its chunk raises BatchInputError naming it and ``time_column``.
    """
    continued = True
    for validated in chunks:
        _check_order(validated.frame, state, time_column, continued=continued)
        step = _score_chunk(validated, enricher, settings, state)
        # Only the output is held while the next chunk is read.
        del validated
        state, continued = step.state, False
        yield step
        del step


def _score_chunk(
    validated: Validated,
    enricher: observe.BatchEnricher | None,
    settings: BatchSettings,
    state: ReplayState,
) -> Step:
    frame = validated.frame
    order = time_order(frame)
    ordered = frame.take(order).reset_index(drop=True)
    obs = observe.observations(ordered, enricher if settings.enrich else None)
    result, after = replay.replay_chunk(obs, settings.signals, settings.model, state)
    rows = in_input_order(output_rows(ordered, obs, result, settings), order)
    return Step(Scored(rows, validated.labels.reset_index(drop=True)), after)


def _check_order(frame: pd.DataFrame, state: ReplayState, column: str, *, continued: bool) -> None:
    """BatchInputError at the first row before ``state``'s last (``continued``: a given state)."""
    if state.last_ts_ns is None:
        return
    early = np.flatnonzero(frame["ts_ns"].to_numpy(np.int64) < state.last_ts_ns)
    if not len(early):
        return
    at = int(early[0])
    last = pd.Timestamp(state.last_ts_ns, tz="UTC").isoformat()
    why = (
        f"earlier than the last row of the state it continues ({last}): a state "
        "(--state-in) continues only with later rows"
        if continued
        else f"earlier than the previous chunk's last row ({last}): the log must be in time "
        "order for chunked scoring; sort the file by time or raise --chunk-rows above its "
        "row count"
    )
    raise BatchInputError(
        why,
        row=int(frame["row"].iloc[at]),
        index=str(frame["index"].iloc[at]),
        column=column,
        value=str(frame["timestamp"].iloc[at]),
    )


def output_rows(
    ordered: pd.DataFrame, obs: pd.DataFrame, result: replay.Replayed, settings: BatchSettings
) -> pd.DataFrame:
    """Output rows, in ``ordered``'s (time) order: decision, level, reasons, features.

    Level, decision and reasons are categoricals: a few distinct values each.
    """
    n = len(obs)
    level = pd.Categorical(result.level, categories=pd.Index(_LEVEL_NAMES, dtype=object))
    decision, audit = decisions(level.codes.astype(np.int64), obs["ip"], settings.policy)
    reasons = as_categorical(result.reasons)
    score = result.score
    if audit:
        reasons = reasons.rename_categories(lambda r: f"AUDIT_MODE,{r}" if r else "AUDIT_MODE")
    if settings.policy.mode is AdvancedSecurityMode.OFF:
        score = np.zeros(n)
        level = pd.Categorical.from_codes(np.zeros(n, np.int8), level.categories)
        reasons = categorical(np.zeros(n, np.int64), np.array(["PROTECTION_OFF"], dtype=object))
    out = pd.DataFrame(
        {
            "index": ordered["index"].to_numpy(),
            "risk_score": score,
            "risk_level": level,
            "decision": decision,
            "reasons": reasons,
        }
    )
    if settings.features:
        out = pd.concat([out, result.features.reset_index(drop=True)], axis=1)
    return out


def in_input_order(rows: pd.DataFrame, order: NDArray[np.intp]) -> pd.DataFrame:
    """Rows in time order (``order`` = time_order of the input) back in input order."""
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return rows.take(back).reset_index(drop=True)


def decisions(
    level_ids: NDArray[np.int64], ips: pd.Series, policy: Policy
) -> tuple[pd.Categorical, bool]:
    """The decision per row, and whether the mode is AUDIT (reasons then start AUDIT_MODE).

    ``level_ids``: 0/1/2 for LOW/MEDIUM/HIGH per row.
    """
    exceptions = policy.config.exceptions
    with_ips = bool(exceptions.blocked or exceptions.skipped)
    ip_codes, ip_values = observe.dense(ips)
    codes = pair_codes(ip_codes, level_ids) if with_ips else codes_of(level_ids)
    names = []
    for i in first_rows(codes).tolist():
        inputs = PolicyInputs(
            event_type=EventType.SIGN_IN,
            ip_address=str(ip_values[ip_codes[i]]),
            risk_level=_LEVELS[level_ids[i]],
            risk_score=0.0,
        )
        names.append(DECISION_NAMES[decide(inputs, policy.config, policy.mode).effective_action])
    decided = categorical(codes, np.array(names, dtype=object))
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
    tally = Tally()
    tally.add(scored)
    return tally.summary(rejects, seconds)


class Tally:
    """What the summary needs of every chunk: scores, levels, decisions, attack labels."""

    def __init__(self) -> None:
        self._scores: list[NDArray[np.float64]] = []
        self._levels: list[NDArray[np.int8]] = []
        self._decisions: list[NDArray[np.int8]] = []
        self._attacks: list[NDArray[np.bool_]] = []
        self._labelled = False

    def add(self, scored: Scored) -> None:
        """Count one chunk's rows (features are not kept)."""
        rows = scored.rows
        self._scores.append(rows["risk_score"].to_numpy(np.float64))
        self._levels.append(pd.Categorical(rows["risk_level"], categories=_LEVEL_NAMES).codes)
        self._decisions.append(pd.Categorical(rows["decision"], categories=_DECISIONS).codes)
        # A chunk without labels counts as benign when other chunks have some, as a
        # label column that is empty on those rows would.
        attacks = attack_labels(scored.labels)
        self._labelled |= attacks is not None
        self._attacks.append(np.zeros(len(rows), bool) if attacks is None else attacks)

    def summary(self, rejects: int, seconds: float) -> Summary:
        """The summary over every row added."""
        level = np.concatenate(self._levels) if self._levels else np.zeros(0, np.int8)
        decision = np.concatenate(self._decisions) if self._decisions else np.zeros(0, np.int8)
        levels = {name: int((level == i).sum()) for i, name in enumerate(_LEVEL_NAMES)}
        acts = {name: int((decision == i).sum()) for i, name in enumerate(_DECISIONS)}
        summary = Summary(len(level), rejects, levels, acts, seconds=seconds)
        attacks = np.concatenate(self._attacks) if self._attacks else np.zeros(0, bool)
        if not self._labelled or attacks.all() or not attacks.any():
            return summary
        return Summary(
            summary.rows,
            rejects,
            levels,
            acts,
            auc=rank_auc(np.concatenate(self._scores), attacks),
            attack_rows=int(attacks.sum()),
            caught_medium=float((level[attacks] >= 1).mean()),
            caught_high=float((level[attacks] == 2).mean()),
            seconds=seconds,
        )


def rank_auc(scores: NDArray[np.float64], positive: NDArray[np.bool_]) -> float:
    """ROC AUC as the Mann-Whitney U over average ranks (ties count half, as roc_auc_score).

    Needs both classes. Importing scikit-learn for this one number would cost
    the summary about a second; the value agrees with roc_auc_score to 1e-12.
    """
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    n = len(ordered)
    start = run_starts(ordered)
    end = np.append(start[1:], n)
    # 1-based average rank of each run of equal scores.
    run_rank = (start + 1 + end) / 2.0
    ranks = np.repeat(run_rank, end - start)
    pos = positive[order]
    n_pos = int(pos.sum())
    n_neg = n - n_pos
    u = float(ranks[pos].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)
