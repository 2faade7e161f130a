"""The file outbox: durable appends, torn lines, status records, the memory double."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest

from riskscore.core.result import Decision
from riskscore.errors import InvalidArgumentError, NotFoundError
from riskscore.notify.outbox import (
    FileOutbox,
    MemoryOutbox,
    Outbox,
    OutboxError,
    read_outbox,
)
from riskscore.notify.templates import RenderedEmail

NOW = datetime(2024, 9, 18, 21, 16, 43, tzinfo=UTC)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token.sig"


def email(event_id: str = "ev-1") -> RenderedEmail:
    return RenderedEmail(
        kind="BlockEmail",
        decision=Decision.BLOCK,
        pool_id="us-east-1_abc",
        username="alice",
        event_id=event_id,
        from_address="security@example.com",
        reply_to=None,
        subject="Blocked sign-in attempt",
        html_body=f'<a href="https://x/feedback?token={TOKEN}&amp;value=Valid">yes</a>',
        text_body=f"https://x/feedback?token={TOKEN}&value=Valid",
    )


def ids() -> Callable[[], str]:
    numbers = count(1)
    return lambda: f"id{next(numbers)}"


def open_outbox(path: Path, **kw: object) -> FileOutbox:
    return FileOutbox(path, now=lambda: NOW, new_id=ids(), **kw)  # type: ignore[arg-type]


def test_protocol_conformance(tmp_path: Path) -> None:
    outboxes: list[Outbox] = [MemoryOutbox(), open_outbox(tmp_path / "o.jsonl")]
    assert len(outboxes) == 2


def test_documented_line_format(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    with open_outbox(path) as outbox:
        record = outbox.enqueue(email(), to="alice@example.com")
        assert outbox.mark_sent(record.id) is True
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "v": 1,
            "type": "notification",
            "id": "id1",
            "created": "2024-09-18T21:16:43+00:00",
            "pool": "us-east-1_abc",
            "username": "alice",
            "to": "alice@example.com",
            "from": "security@example.com",
            "reply_to": None,
            "subject": "Blocked sign-in attempt",
            "html": email().html_body,
            "text": email().text_body,
            "event_id": "ev-1",
            "decision": "BLOCK",
            "template": "BlockEmail",
            "status": "pending",
        },
        {
            "v": 1,
            "type": "status",
            "id": "id1",
            "status": "sent",
            "at": "2024-09-18T21:16:43+00:00",
        },
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("durability", ["fsync", "flush"])
def test_pending_and_mark_sent_survive_reopen(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "outbox.jsonl"
    with open_outbox(path, durability=durability) as outbox:
        first = outbox.enqueue(email("ev-1"), to=None)
        second = outbox.enqueue(email("ev-2"), to="a@example.com")
        assert [r.id for r in outbox.pending()] == [first.id, second.id]
        assert outbox.mark_sent(first.id) is True
        assert outbox.mark_sent(first.id) is False
        assert [r.id for r in outbox.pending()] == [second.id]
    before = path.read_bytes()
    with FileOutbox(path) as reopened:
        assert [(r.id, r.event_id, r.to) for r in reopened.pending()] == [
            (second.id, "ev-2", "a@example.com")
        ]
        assert reopened.mark_sent(first.id) is False
        assert path.read_bytes() == before, "nothing is rewritten or appended for a no-op"
        with pytest.raises(NotFoundError):
            reopened.mark_sent("nope")
    assert [(r.id, r.status) for r in read_outbox(path)] == [
        (first.id, "sent"),
        (second.id, "pending"),
    ]


def test_torn_last_line_is_ignored_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    with open_outbox(path) as outbox:
        kept = outbox.enqueue(email("ev-1"), to=None)
    whole = path.read_bytes()
    torn = json.dumps({"v": 1, "type": "notification", "id": "torn"}).encode()[:-5]
    path.write_bytes(whole + torn)
    assert [r.id for r in read_outbox(path)] == [kept.id]
    with FileOutbox(path, new_id=lambda: "after") as outbox:
        assert path.read_bytes() == whole
        outbox.enqueue(email("ev-2"), to=None)
    assert [r.id for r in read_outbox(path)] == [kept.id, "after"]


def test_damaged_middle_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    with open_outbox(path) as outbox:
        outbox.enqueue(email("ev-1"), to=None)
    with path.open("ab") as f:
        f.write(b"\x00\x00garbage\n" + b'{"v":1,"type":"notification","id":"x"}\n')
    with FileOutbox(path) as outbox:
        outbox.enqueue(email("ev-2"), to=None)
    assert [r.event_id for r in read_outbox(path)] == ["ev-1", "ev-2"]


def test_second_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    with open_outbox(path), pytest.raises(OutboxError, match="lock"):
        FileOutbox(path)
    FileOutbox(path).close()


def test_closed_outbox_refuses_appends(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "outbox.jsonl")
    outbox.close()
    with pytest.raises(OutboxError):
        outbox.enqueue(email(), to=None)


def test_bad_durability(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError):
        FileOutbox(tmp_path / "o.jsonl", durability="none")  # type: ignore[arg-type]


def test_concurrent_appends_are_all_durable_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    with FileOutbox(path) as outbox:

        def work(t: int) -> None:
            for i in range(50):
                record = outbox.enqueue(email(f"t{t}-{i}"), to=None)
                if i % 2:
                    outbox.mark_sent(record.id)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(outbox.pending()) == 200
    records = read_outbox(path)
    assert len(records) == 400
    assert sum(r.status == "sent" for r in records) == 200
    assert len(path.read_text().splitlines()) == 600


def test_record_repr_hides_bodies(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "o.jsonl") as outbox:
        record = outbox.enqueue(email(), to=None)
    assert TOKEN not in repr(record)
    assert TOKEN in record.text  # in the body by design


def test_memory_outbox() -> None:
    outbox = MemoryOutbox(now=lambda: NOW, new_id=ids())
    record = outbox.enqueue(email(), to="a@example.com")
    assert outbox.pending() == [record]
    assert outbox.mark_sent(record.id) is True
    assert outbox.mark_sent(record.id) is False
    assert outbox.pending() == []
    with pytest.raises(NotFoundError):
        outbox.mark_sent("nope")
