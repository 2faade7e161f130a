"""``riskscore policy test``: decide one attempt against a RiskConfiguration file, offline.

The only module of the package that reads files; everything it calls is pure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TextIO

from riskscore.core.attempt import EventType
from riskscore.core.result import RiskLevel
from riskscore.errors import InvalidArgumentError
from riskscore.policy import reader as r
from riskscore.policy.config import AdvancedSecurityMode, RiskConfiguration, resolve
from riskscore.policy.decide import PolicyInputs, decide

__all__ = ["add_policy_parser", "load_attempt", "load_risk_configuration", "run_policy"]

_ATTEMPT_FIELDS: Final = (
    "event_type",
    "ip_address",
    "risk_level",
    "risk_score",
    "compromised",
    "mfa_configured",
    "thresholds",
)


class PolicyInputError(Exception):
    """Bad CLI input; the message names the file (or flag) and the field."""


def add_policy_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy test`` to the ``riskscore`` command."""
    policy = subparsers.add_parser("policy", help="try a Cognito risk configuration offline")
    sub = policy.add_subparsers(dest="policy_command", required=True)
    test = sub.add_parser(
        "test",
        help="print the decision for one attempt",
        description="Decide one attempt against a RiskConfiguration JSON file (Cognito's "
        'DescribeRiskConfiguration shape, bare or under "RiskConfiguration") and print '
        "the decision, the rule that made it and what each level's action would do.",
    )
    test.add_argument("--config", type=Path, required=True, help="RiskConfiguration JSON file")
    test.add_argument(
        "--attempt",
        required=True,
        help='attempt JSON, inline or @FILE, e.g. \'{"event_type": "SIGN_IN", '
        '"ip_address": "192.0.2.1", "risk_level": "HIGH", "risk_score": 0.9, '
        '"compromised": false, "mfa_configured": true}\'',
    )
    test.add_argument(
        "--mode",
        choices=[m.value for m in AdvancedSecurityMode],
        default=AdvancedSecurityMode.ENFORCED.value,
        help="AdvancedSecurityMode (default ENFORCED)",
    )


def run_policy(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run ``policy test``; 0 on success, 2 with a message naming file and field on bad input."""
    try:
        config = load_risk_configuration(args.config)
        inputs = load_attempt(args.attempt)
    except PolicyInputError as exc:
        print(f"riskscore: {exc}", file=sys.stderr)
        return 2
    # A file with a ClientId is that client's configuration, else the pool's.
    pool, client = (config, None) if config.client_id is None else (None, config)
    effective = resolve(pool, client)
    decision = decide(inputs, effective, AdvancedSecurityMode(args.mode))
    print(json.dumps(decision.to_json(), indent=2), file=out or sys.stdout)
    return 0


def load_risk_configuration(path: Path) -> RiskConfiguration:
    """Read and validate a RiskConfiguration JSON file."""
    doc = _parse_json(_read(path), str(path))
    try:
        return RiskConfiguration.from_json(doc)
    except InvalidArgumentError as exc:
        raise PolicyInputError(f"{path}: {exc}") from None


def load_attempt(text: str) -> PolicyInputs:
    """Parse ``--attempt``: a JSON object, inline or ``@FILE``."""
    if text.startswith("@"):
        where = text[1:]
        doc = _parse_json(_read(Path(where)), where)
    else:
        where = "--attempt"
        doc = _parse_json(text, where)
    try:
        return _attempt(doc)
    except InvalidArgumentError as exc:
        raise PolicyInputError(f"{where}: {exc}") from None


def _attempt(doc: object) -> PolicyInputs:
    body = r.obj(doc, "", _ATTEMPT_FIELDS)
    event = r.choice(r.required(body, "event_type", ""), "event_type", [e.value for e in EventType])
    level = r.choice(r.required(body, "risk_level", ""), "risk_level", [v.value for v in RiskLevel])
    score = body.get("risk_score", 0.0)
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise InvalidArgumentError("risk_score", "must be a number in [0, 1]")
    return PolicyInputs(
        event_type=EventType(event),
        ip_address=r.string(body.get("ip_address", ""), "ip_address"),
        risk_level=RiskLevel(level),
        risk_score=float(score),
        compromised=_tristate(body, "compromised"),
        mfa_configured=_tristate(body, "mfa_configured"),
        thresholds=tuple(r.strings(body.get("thresholds", []), "thresholds")),
    )


def _tristate(body: Mapping[str, object], key: str) -> bool | None:
    value = body.get(key)
    return None if value is None else r.boolean(value, key)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInputError(f"cannot read {path}: {exc}") from None


def _parse_json(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyInputError(f"{where}: not valid JSON: {exc}") from None
