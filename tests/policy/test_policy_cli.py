"""``riskscore policy test`` through a local argparse parser."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from riskscore.policy.cli_policy import add_policy_parser, run_policy

GOLDEN = Path(__file__).parent / "fixtures" / "describe_risk_configuration.json"
POOL = {"UserPoolId": "us-east-1_a"}
HIGH = {
    "event_type": "SIGN_IN",
    "ip_address": "192.0.2.1",
    "risk_level": "HIGH",
    "risk_score": 0.91,
    "compromised": False,
    "mfa_configured": False,
    "thresholds": ["score 0.91 >= high 0.855"],
}


def run(*argv: str) -> tuple[int, dict[str, Any] | None]:
    parser = argparse.ArgumentParser(prog="riskscore")
    add_policy_parser(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    code = run_policy(parser.parse_args(["policy", "test", *argv]), out=out)
    return code, json.loads(out.getvalue()) if code == 0 else None


def test_wrapped_config_and_inline_attempt() -> None:
    # The AWS CLI example answers MFA_IF_CONFIGURED at HIGH; without MFA that allows.
    code, got = run("--config", str(GOLDEN), "--attempt", json.dumps(HIGH))
    assert code == 0
    assert got is not None
    assert (got["decision"], got["effective_action"], got["notify"]) == (
        "MFA_IF_CONFIGURED",
        "NO_ACTION",
        True,
    )
    assert got["rule"] == "account-takeover:HIGH->MFA_IF_CONFIGURED (no MFA: NO_ACTION)"
    assert [a["configured"] for a in got["alternatives"]] == [
        "NO_ACTION",
        "MFA_IF_CONFIGURED",
        "MFA_IF_CONFIGURED",
    ]
    assert got["thresholds"] == ["score 0.91 >= high 0.855"]


def test_bare_config_attempt_file_and_audit_mode(tmp_path: Path) -> None:
    bare = tmp_path / "bare.json"
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))["RiskConfiguration"]
    doc["RiskExceptionConfiguration"] = {"BlockedIPRangeList": ["192.0.2.0/24"]}
    bare.write_text(json.dumps(doc), encoding="utf-8")
    attempt = tmp_path / "attempt.json"
    attempt.write_text(json.dumps(HIGH), encoding="utf-8")
    code, got = run("--config", str(bare), "--attempt", f"@{attempt}", "--mode", "AUDIT")
    assert code == 0
    assert got is not None
    assert got["decision"] == "NO_ACTION"
    assert got["audit_only"] is True
    assert got["enforced"]["rule"] == "exception:BlockedIPRangeList 192.0.2.0/24"
    assert got["enforced"]["risk_level"] is None


@pytest.mark.parametrize(
    ("config_doc", "attempt", "message"),
    [
        (
            {
                "UserPoolId": "us-east-1_a",
                "AccountTakeoverRiskConfiguration": {
                    "Actions": {"HighAction": {"Notify": False, "EventAction": "BLOK"}}
                },
            },
            HIGH,
            "{config}: AccountTakeoverRiskConfiguration.Actions.HighAction.EventAction: 'BLOK'",
        ),
        ("not json", HIGH, "{config}: not valid JSON"),
        (POOL, {**HIGH, "risk_level": "SEVERE"}, "--attempt: risk_level:"),
        (POOL, {**HIGH, "ip": "x"}, "--attempt: ip: unknown member"),
        (POOL, {**HIGH, "risk_score": 2}, "--attempt: risk_score:"),
        (POOL, {**HIGH, "mfa_configured": "yes"}, "--attempt: mfa_configured:"),
        (POOL, "@/nonexistent/attempt.json", "cannot read /nonexistent"),
    ],
)
def test_bad_input_exits_2_naming_file_and_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    config_doc: object,
    attempt: object,
    message: str,
) -> None:
    config = tmp_path / "risk.json"
    text = config_doc if isinstance(config_doc, str) else json.dumps(config_doc)
    config.write_text(text, encoding="utf-8")
    arg = attempt if isinstance(attempt, str) else json.dumps(attempt)
    code, _ = run("--config", str(config), "--attempt", arg)
    assert code == 2
    assert capsys.readouterr().err.startswith("riskscore: " + message.format(config=config))


def test_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--config", "/nonexistent/risk.json", "--attempt", json.dumps(HIGH))
    assert code == 2
    assert "cannot read /nonexistent/risk.json" in capsys.readouterr().err
