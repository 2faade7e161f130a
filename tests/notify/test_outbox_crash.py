"""SIGKILL under load: every acknowledged notification is on disk, none torn mid-file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from riskscore.core.result import Decision
from riskscore.notify.outbox import FileOutbox, read_outbox
from riskscore.notify.templates import RenderedEmail
from tests.crash import acknowledged_before_sigkill

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from riskscore.core.result import Decision
    from riskscore.notify.outbox import FileOutbox
    from riskscore.notify.templates import RenderedEmail

    outbox = FileOutbox(Path(sys.argv[1]), durability="fsync")
    lock = threading.Lock()

    def work(t):
        for i in range(1_000_000):
            event_id = f"t{t}-{i}"
            email = RenderedEmail(
                kind="BlockEmail", decision=Decision.BLOCK, pool_id="p_1", username="u",
                event_id=event_id, from_address=None, reply_to=None, subject="s",
                html_body="<p>" + "x" * (i % 500) + "</p>", text_body="y" * (i % 700),
            )
            record = outbox.enqueue(email, to=None)
            if i % 3 == 0:
                outbox.mark_sent(record.id)
            with lock:
                sys.stdout.write(event_id + "\\n")
                sys.stdout.flush()

    for t in range(4):
        threading.Thread(target=work, args=(t,), daemon=True).start()
    time.sleep(60)
    """
)


def test_sigkill_loses_no_acknowledged_notification(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    acked = acknowledged_before_sigkill(CHILD, str(path), 600)

    records = read_outbox(path)
    stored = [r.event_id for r in records]
    assert len(stored) == len(set(stored)), "a notification was stored twice"
    missing = set(acked) - set(stored)
    assert not missing, f"{len(missing)} acknowledged notifications lost"

    # Only the last line may be torn.
    lines = path.read_bytes().split(b"\n")
    assert all(json.loads(line) for line in lines[:-1])

    with FileOutbox(path, new_id=lambda: "after") as outbox:
        pending = {r.id for r in outbox.pending()}
        outbox.enqueue(_email(), to=None)
    assert read_outbox(path)[-1].id == "after"
    assert pending <= {r.id for r in records}


def _email() -> RenderedEmail:
    return RenderedEmail(
        kind="NoActionEmail",
        decision=Decision.NO_ACTION,
        pool_id="p_1",
        username="u",
        event_id="after",
        from_address=None,
        reply_to=None,
        subject="s",
        html_body="<p>after</p>",
        text_body="after!",
    )
