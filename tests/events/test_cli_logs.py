"""`riskscore logs ...` through a local parser (cli.py wires the same functions)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from riskscore.events.cli_logs import add_logs_parser, parse_time, run_logs
from riskscore.events.log import EventLog

NOW = 1_800_000_000_000


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riskscore")
    add_logs_parser(p.add_subparsers(dest="command", required=True))
    return p


def run(data_dir: Path, *argv: str, **kwargs: object) -> tuple[int, list[str]]:
    args = parser().parse_args(["logs", *argv, "--data-dir", str(data_dir)])
    out = io.StringIO()
    code = run_logs(args, out=out, now_ms=lambda: NOW, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue().splitlines()


def record(i: int, level: str, response: str) -> str:
    return json.dumps(
        {"eventSource": "USER_ACTIVITY", "message": {"eventId": f"e{i}", "riskLevel": level,
                                                     "eventResponse": response}}
    )  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    with EventLog(tmp_path / "logs", clock=lambda: NOW) as log:
        log.create_group("/riskscore/pool-1/USER_ACTIVITY", retention_days=7)
        log.submit(
            "/riskscore/pool-1/USER_ACTIVITY", "host-0", NOW - 3_600_000, record(9, "LOW", "Pass")
        )
        for i, (level, response) in enumerate(
            [("LOW", "Pass"), ("HIGH", "Fail"), ("HIGH", "Pass"), ("MEDIUM", "Fail")]
        ):
            stream = f"host-{i % 2}"
            log.submit(
                "/riskscore/pool-1/USER_ACTIVITY",
                stream,
                NOW - 60_000 + i,
                record(i, level, response),
            )
    return tmp_path


def test_groups_and_streams(data_dir: Path) -> None:
    code, lines = run(data_dir, "groups")
    assert code == 0
    assert lines[0].split("\t")[0] == "/riskscore/pool-1/USER_ACTIVITY"
    assert lines[0].split("\t")[2] == "7d"
    code, lines = run(data_dir, "streams", "/riskscore/pool-1/USER_ACTIVITY")
    assert [line.split("\t")[0] for line in lines] == ["host-0", "host-1"]


def test_get_prints_one_stream_with_a_window(data_dir: Path) -> None:
    code, lines = run(data_dir, "get", "/riskscore/pool-1/USER_ACTIVITY", "host-0")
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e9", "e0", "e2"]
    code, lines = run(
        data_dir, "get", "/riskscore/pool-1/USER_ACTIVITY", "host-0", "--start", "10m"
    )
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e0", "e2"]
    code, lines = run(data_dir, "get", "/riskscore/pool-1/USER_ACTIVITY", "host-0", "--limit", "1")
    assert code == 0
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e2"]


def test_filter_with_json_pattern_prints_json_lines(data_dir: Path) -> None:
    pattern = '{ $.message.riskLevel = "HIGH" && $.message.eventResponse = "Fail" }'
    code, lines = run(data_dir, "filter", "/riskscore/pool-1/USER_ACTIVITY", "--pattern", pattern)
    assert code == 0
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e1"]
    code, lines = run(data_dir, "filter", "/riskscore/pool-1/USER_ACTIVITY", "--pattern=-HIGH")
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e9", "e0", "e3"]
    code, lines = run(
        data_dir, "filter", "/riskscore/pool-1/USER_ACTIVITY", "--stream", "host-1", "--end",
        str(NOW - 60_000 + 2),
    )  # fmt: skip
    assert [json.loads(line)["message"]["eventId"] for line in lines] == ["e1"]


def test_errors_exit_non_zero(data_dir: Path) -> None:
    assert run(data_dir, "streams", "nope")[0] == 1
    assert (
        run(data_dir, "filter", "/riskscore/pool-1/USER_ACTIVITY", "--pattern", "{ $.a = }")[0] == 1
    )
    assert (
        run(data_dir, "get", "/riskscore/pool-1/USER_ACTIVITY", "host-0", "--start", "soon")[0] == 2
    )


def test_tail_follow_prints_new_events_once(data_dir: Path) -> None:
    polls = 0

    def sleep(_: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 1:
            with EventLog(data_dir / "logs", clock=lambda: NOW) as log:
                log.submit("/riskscore/pool-1/USER_ACTIVITY", "host-1", NOW, "late arrival")
        if polls == 3:
            raise KeyboardInterrupt

    code, lines = run(data_dir, "tail", "/riskscore/pool-1/USER_ACTIVITY", "--follow", sleep=sleep)
    assert code == 0
    assert len(lines) == 5
    assert lines[-1].endswith("host-1 late arrival")
    assert lines[0].startswith("2027-01-15T07:59:00.000+00:00 host-0 ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000000", 1_700_000_000_000),
        ("10m", NOW - 600_000),
        ("2h", NOW - 7_200_000),
        ("1d", NOW - 86_400_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20", 1_700_000_000_000),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000_000),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time(text, NOW) == expected
