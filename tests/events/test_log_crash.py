"""SIGKILL under load: every acknowledged event is on disk and no record is torn."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from riskscore.events import log_format as fmt
from riskscore.events.log import EventLog
from riskscore.events.reader import FileLogQuery
from tests.crash import acknowledged_before_sigkill

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from riskscore.events.log import EventLog

    log = EventLog(Path(sys.argv[1]), durability="fsync", rotate_bytes=64 * 1024)
    lock = threading.Lock()

    def work(t):
        for i in range(1_000_000):
            event_id = f"t{t}-{i}"
            message = '{"eventId":"%s","pad":"%s"}' % (event_id, "x" * (i % 300))
            log.submit("crash", f"s{t % 3}", time.time_ns() // 1_000_000, message).result()
            with lock:
                sys.stdout.write(event_id + "\\n")
                sys.stdout.flush()

    for t in range(6):
        threading.Thread(target=work, args=(t,), daemon=True).start()
    time.sleep(60)
    """
)


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    acked = acknowledged_before_sigkill(CHILD, str(root), 1500)

    query = FileLogQuery(root)
    stored: list[str] = []
    for stream in query.streams("crash"):
        events = query.read("crash", stream.name).events
        stored.extend(json.loads(e.message)["eventId"] for e in events)
    assert len(stored) == len(set(stored)), "an event was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"

    # Every terminated line on disk is a whole, valid record; only a last line may be torn.
    for stream_dir in (root / "crash").iterdir():
        if not stream_dir.is_dir():
            continue
        for number in fmt.segment_numbers(stream_dir):
            data = (stream_dir / fmt.segment_name(number)).read_bytes()
            lines = data.split(b"\n")
            assert all(fmt.decode_line(line + b"\n") for line in lines[:-1])

    # Reopening cuts any torn tail and appends cleanly after it.
    with EventLog(root) as log:
        for stream in query.streams("crash"):
            log.submit(
                "crash", stream.name, time.time_ns() // 1_000_000, '{"eventId":"after"}'
            ).result()
    for stream in query.streams("crash"):
        events = query.read("crash", stream.name).events
        assert json.loads(events[-1].message)["eventId"] == "after"
