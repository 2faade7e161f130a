"""``riskscore logs groups|streams|get|tail|filter``: read the event log from a shell.

Reads ``<data-dir>/logs`` through :class:`FileLogQuery`, so it works while
the server is writing. ``get`` and ``filter`` print one JSON record (the
stored message) per line; ``tail`` prints ``<time> <stream> <message>`` as
``aws logs tail`` does. ``--follow`` polls for new events until interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from riskscore.errors import RiskscoreError
from riskscore.events.query import LogEvent, Position, StreamOrder
from riskscore.events.reader import FileLogQuery

__all__ = ["add_logs_parser", "parse_time", "run_logs"]

_RELATIVE = re.compile(r"(\d+)([smhdw])")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time(text: str, now_ms: int) -> int:
    """Epoch ms from epoch ms digits, ISO-8601 (naive = UTC) or a relative age like 10m/2h/1d."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if m := _RELATIVE.fullmatch(text):
        return now_ms - int(m.group(1)) * _UNIT_MS[m.group(2)]
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad time {text!r}: use epoch ms, ISO-8601 or an age like 10m, 2h, 1d"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def add_logs_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``logs`` and its subcommands to the ``riskscore`` parser."""
    logs = subparsers.add_parser("logs", help="read the auth event log")
    sub = logs.add_subparsers(dest="logs_command", required=True)

    groups = sub.add_parser("groups", help="list log groups")
    groups.add_argument("--prefix", default="", help="only groups starting with this")

    streams = sub.add_parser("streams", help="list the streams of a group")
    streams.add_argument("group")
    streams.add_argument("--prefix", default="", help="only streams starting with this")
    streams.add_argument("--order-by", choices=["LogStreamName", "LastEventTime"])

    get = sub.add_parser("get", help="print the events of one stream")
    get.add_argument("group")
    get.add_argument("stream")
    get.add_argument("--limit", type=int, help="only the last N events")

    tail = sub.add_parser("tail", help="print recent events of a group (default since 10m)")
    tail.add_argument("group")
    tail.add_argument("--stream", action="append", dest="streams", help="only this stream")

    flt = sub.add_parser("filter", help="print events matching a filter pattern, as JSON lines")
    flt.add_argument("group")
    flt.add_argument(
        "--pattern", default="", help="CloudWatch Logs filter pattern (--pattern=-TERM to exclude)"
    )
    flt.add_argument("--stream", action="append", dest="streams", help="only this stream")

    for p in (groups, streams, get, tail, flt):
        p.add_argument("--data-dir", type=Path, help="directory holding all state")
    for p in (get, tail, flt):
        p.add_argument("--start", help="epoch ms, ISO-8601, or an age like 10m/2h/1d")
        p.add_argument("--end", help="exclusive end; same forms as --start")
        p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
        p.add_argument("--poll-interval", type=float, default=1.0, help="seconds (default 1)")


def run_logs(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    now_ms: Callable[[], int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run a ``logs`` subcommand; 0 on success (and on Ctrl-C while following)."""
    out = out or sys.stdout
    clock = now_ms or (lambda: time.time_ns() // 1_000_000)
    data_dir: Path | None = args.data_dir
    if data_dir is None:
        from riskscore.cli import default_data_dir

        data_dir = default_data_dir()
    query = FileLogQuery(data_dir / "logs")
    try:
        return _dispatch(args, query, out, clock, sleep)
    except KeyboardInterrupt:
        return 0
    except argparse.ArgumentTypeError as exc:
        print(f"riskscore: {exc}", file=sys.stderr)
        return 2
    except RiskscoreError as exc:
        print(f"riskscore: {exc}", file=sys.stderr)
        return 1


def _dispatch(
    args: argparse.Namespace,
    query: FileLogQuery,
    out: TextIO,
    clock: Callable[[], int],
    sleep: Callable[[float], None],
) -> int:
    command = args.logs_command
    if command == "groups":
        for g in query.groups(args.prefix):
            retention = "-" if g.retention_days is None else f"{g.retention_days}d"
            print(f"{g.name}\t{_iso(g.creation_time)}\t{retention}\t{g.stored_bytes}", file=out)
        return 0
    if command == "streams":
        order: StreamOrder = (
            "LastEventTime" if args.order_by == "LastEventTime" else "LogStreamName"
        )
        for s in query.streams(args.group, args.prefix, order):
            last = "-" if s.last_event_timestamp is None else _iso(s.last_event_timestamp)
            print(f"{s.name}\t{last}\t{s.stored_bytes}", file=out)
        return 0
    now = clock()
    start = None if args.start is None else parse_time(args.start, now)
    end = None if args.end is None else parse_time(args.end, now)
    if command == "get":
        _get(args, query, out, start, end, sleep)
        return 0
    if command == "tail" and start is None:
        start = now - 10 * 60_000
    pattern = args.pattern if command == "filter" else ""
    resume: dict[str, Position] | None = None
    while True:
        while True:
            events, cursors = query.search(
                args.group, args.streams, start=start, end=end, pattern=pattern, resume=resume
            )
            for event in events:
                print(_line(command, event), file=out)
            resume = _advance(resume, events, cursors)
            if cursors is None:
                break
        out.flush()
        if not args.follow:
            return 0
        sleep(args.poll_interval)


def _get(
    args: argparse.Namespace,
    query: FileLogQuery,
    out: TextIO,
    start: int | None,
    end: int | None,
    sleep: Callable[[float], None],
) -> None:
    if args.limit is not None:
        page = query.read(
            args.group,
            args.stream,
            start=start,
            end=end,
            before=Position(2**62, 0),
            limit=args.limit,
        )
    else:
        page = query.read(args.group, args.stream, start=start, end=end, after=Position(0, 0))
    cursor = page.forward
    for event in page.events:
        print(event.message, file=out)
    while True:
        page = query.read(args.group, args.stream, start=start, end=end, after=cursor)
        for event in page.events:
            print(event.message, file=out)
        cursor = page.forward
        if not page.events:
            out.flush()
            if not args.follow:
                return
            sleep(args.poll_interval)


def _advance(
    resume: dict[str, Position] | None,
    events: list[LogEvent],
    cursors: dict[str, Position] | None,
) -> dict[str, Position]:
    """Cursors after what was printed, so following never repeats an event."""
    if cursors is not None:
        return dict(cursors)
    merged = dict(resume or {})
    for event in events:
        merged[event.stream] = event.next_position
    return merged


def _line(command: str, event: LogEvent) -> str:
    if command == "tail":
        return f"{_iso(event.timestamp)} {event.stream} {event.message}"
    return event.message if _is_json(event.message) else json.dumps({"message": event.message})


def _is_json(message: str) -> bool:
    try:
        json.loads(message)
    except ValueError:
        return False
    return True


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
