"""The notification outbox: rendered emails waiting for the pool to deliver them.

File format (version 1): JSON Lines, UTF-8, one object per ``\\n``-terminated
line, only ever appended to. A notification::

    {"v": 1, "type": "notification", "id": "<hex>", "created": "<ISO 8601 UTC>",
     "pool": ..., "username": ..., "to": "<address>" | null, "from": ... | null,
     "reply_to": ... | null, "subject": ..., "html": ..., "text": ...,
     "event_id": ..., "decision": "BLOCK" | ..., "template": "BlockEmail" | ...,
     "status": "pending"}

and a later change of its status (never a rewrite of the line above)::

    {"v": 1, "type": "status", "id": "<hex>", "status": "sent", "at": "<ISO 8601 UTC>"}

JSON escapes raw newlines, so ``\\n`` only ever ends a record. A crash can
leave a torn last line (no newline yet): readers ignore it and the writer cuts
it off when it reopens the file; a terminated line that does not parse is
skipped. An append is acknowledged only once fsynced (``durability="fsync"``;
concurrent appenders share one fdatasync) or, with ``"flush"``, once the OS has
it (survives a process crash, not a power cut).

Sensitive by design: ``html`` and ``text`` hold the one-click links and
``{feedback-token}``, i.e. bearer feedback tokens. The file is created 0600,
record bodies are left out of ``repr``, and nothing here logs or raises with a
body in the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from riskscore.errors import InvalidArgumentError, NotFoundError, RiskscoreError
from riskscore.notify.templates import RenderedEmail

__all__ = [
    "Durability",
    "FileOutbox",
    "MemoryOutbox",
    "Outbox",
    "OutboxError",
    "OutboxRecord",
    "read_outbox",
]

_log = logging.getLogger(__name__)

Durability = Literal["fsync", "flush"]
FORMAT_VERSION: Final = 1


class OutboxError(RiskscoreError):
    """The outbox file could not be opened, locked or appended to."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One notification and its delivery status."""

    id: str
    created: datetime
    pool_id: str
    username: str
    to: str | None
    from_address: str | None
    reply_to: str | None
    subject: str
    html: str = field(repr=False)
    text: str = field(repr=False)
    event_id: str = ""
    decision: str = ""
    template: str = ""
    status: str = "pending"

    def to_json(self) -> dict[str, Any]:
        """The notification line's object."""
        return {
            "v": FORMAT_VERSION,
            "type": "notification",
            "id": self.id,
            "created": self.created.isoformat(),
            "pool": self.pool_id,
            "username": self.username,
            "to": self.to,
            "from": self.from_address,
            "reply_to": self.reply_to,
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "event_id": self.event_id,
            "decision": self.decision,
            "template": self.template,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> OutboxRecord:
        """Parse a notification line's object (KeyError/TypeError/ValueError if malformed)."""
        return cls(
            id=str(obj["id"]),
            created=datetime.fromisoformat(obj["created"]),
            pool_id=str(obj["pool"]),
            username=str(obj["username"]),
            to=_optional(obj["to"]),
            from_address=_optional(obj["from"]),
            reply_to=_optional(obj["reply_to"]),
            subject=str(obj["subject"]),
            html=str(obj["html"]),
            text=str(obj["text"]),
            event_id=str(obj["event_id"]),
            decision=str(obj["decision"]),
            template=str(obj["template"]),
            status=str(obj["status"]),
        )


def _optional(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("expected a string or null")
    return value


def new_record(email: RenderedEmail, to: str | None, record_id: str, now: datetime) -> OutboxRecord:
    """The pending outbox record for a rendered email."""
    return OutboxRecord(
        id=record_id,
        created=now.astimezone(UTC),
        pool_id=email.pool_id,
        username=email.username,
        to=to,
        from_address=email.from_address,
        reply_to=email.reply_to,
        subject=email.subject,
        html=email.html_body,
        text=email.text_body,
        event_id=email.event_id,
        decision=email.decision.value,
        template=email.kind,
    )


class Outbox(Protocol):
    """Where rendered notifications wait for delivery."""

    def enqueue(self, email: RenderedEmail, *, to: str | None) -> OutboxRecord:
        """Store a notification as pending; return its record once stored."""
        ...

    def pending(self) -> list[OutboxRecord]:
        """Notifications not yet sent, oldest first."""
        ...

    def mark_sent(self, record_id: str) -> bool:
        """Record delivery; False if it was already sent, NotFoundError if unknown."""
        ...

    def close(self) -> None:
        """Release the outbox (what was enqueued is already durable)."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class MemoryOutbox:
    """An outbox in a dict, for tests."""

    def __init__(
        self, *, now: Callable[[], datetime] = _utc_now, new_id: Callable[[], str] = _new_id
    ) -> None:
        self._now = now
        self._new_id = new_id
        self._records: dict[str, OutboxRecord] = {}

    def enqueue(self, email: RenderedEmail, *, to: str | None) -> OutboxRecord:
        """Store a notification as pending."""
        record = new_record(email, to, self._new_id(), self._now())
        self._records[record.id] = record
        return record

    def pending(self) -> list[OutboxRecord]:
        """Notifications not yet sent, oldest first."""
        return [r for r in self._records.values() if r.status == "pending"]

    def mark_sent(self, record_id: str) -> bool:
        """Record delivery."""
        record = self._records.get(record_id)
        if record is None:
            raise NotFoundError(f"outbox record {record_id!r} does not exist")
        if record.status == "sent":
            return False
        self._records[record_id] = replace(record, status="sent")
        return True

    def close(self) -> None:
        """Nothing to release."""


class FileOutbox:
    """The append-only JSON Lines outbox (format in the module docstring).

    One process writes a file at a time (an exclusive flock enforces it); any
    number may read it with :func:`read_outbox`. Thread-safe.
    """

    def __init__(
        self,
        path: Path,
        *,
        durability: Durability = "fsync",
        now: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        if durability not in ("fsync", "flush"):
            raise InvalidArgumentError("durability", "must be 'fsync' or 'flush'")
        self.path = path
        self.durability: Durability = durability
        self._now = now
        self._new_id = new_id
        self._lock = threading.Lock()
        # Group commit: whoever holds _sync_lock fsyncs everything written so far.
        self._sync_lock = threading.Lock()
        self._written = 0
        self._synced = 0
        self._broken = False
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._size = self._cut_torn_tail()
        except OSError as exc:
            os.close(self._fd)
            raise OutboxError(f"cannot lock outbox {path}: {exc.strerror}") from None
        self._pending: dict[str, OutboxRecord] = {}
        self._sent: set[str] = set()
        for record in _records(path):
            if record.status == "pending":
                self._pending[record.id] = record
            else:
                self._sent.add(record.id)

    def __enter__(self) -> FileOutbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (appends are already durable)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def enqueue(self, email: RenderedEmail, *, to: str | None) -> OutboxRecord:
        """Append a pending notification; returns once it is durable."""
        record = new_record(email, to, self._new_id(), self._now())
        self._append(record.to_json())
        with self._lock:
            self._pending[record.id] = record
        return record

    def pending(self) -> list[OutboxRecord]:
        """Notifications not yet sent, oldest first."""
        with self._lock:
            return list(self._pending.values())

    def mark_sent(self, record_id: str) -> bool:
        """Append a "sent" status record; False if it was already sent."""
        with self._lock:
            if record_id in self._sent:
                return False
            if record_id not in self._pending:
                raise NotFoundError(f"outbox record {record_id!r} does not exist")
        at = self._now().astimezone(UTC).isoformat()
        status = {"v": FORMAT_VERSION, "type": "status", "id": record_id, "status": "sent"}
        self._append({**status, "at": at})
        with self._lock:
            if self._pending.pop(record_id, None) is None:
                return False
            self._sent.add(record_id)
        return True

    def _append(self, obj: dict[str, Any]) -> None:
        line = (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd < 0 or self._broken:
                raise OutboxError(f"outbox {self.path} is closed or failed")
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                # Cut the partial line so the next append does not merge with it.
                try:
                    os.ftruncate(self._fd, self._size)
                except OSError:
                    self._broken = True
                raise OutboxError(f"outbox append failed: {exc.strerror}") from None
            self._size += len(line)
            self._written += 1
            mine = self._written
            fd = self._fd
        if self.durability == "fsync":
            self._sync(fd, mine)

    def _sync(self, fd: int, mine: int) -> None:
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                target = self._written
            try:
                os.fdatasync(fd)
            except OSError as exc:
                # After a failed fsync the page cache state is unknown: stop appending.
                self._broken = True
                raise OutboxError(f"outbox fsync failed: {exc.strerror}") from None
            self._synced = target

    def _cut_torn_tail(self) -> int:
        size = os.fstat(self._fd).st_size
        chunk = 64 * 1024
        end = size
        valid = 0
        while end > 0:
            start = max(0, end - chunk)
            data = os.pread(self._fd, end - start, start)
            nl = data.rfind(b"\n")
            if nl >= 0:
                valid = start + nl + 1
                break
            end = start
        if valid < size:
            _log.warning("outbox: cutting %d torn bytes off %s", size - valid, self.path)
            os.ftruncate(self._fd, valid)
            os.fsync(self._fd)
        return valid


def read_outbox(path: Path) -> list[OutboxRecord]:
    """Every notification in an outbox file with its latest status, oldest first."""
    return list(_records(path))


def _records(path: Path) -> Iterator[OutboxRecord]:
    records: dict[str, OutboxRecord] = {}
    for obj in _lines(path):
        try:
            if obj.get("type") == "notification":
                record = OutboxRecord.from_json(obj)
                records.setdefault(record.id, record)
            elif obj.get("type") == "status" and obj.get("id") in records:
                records[obj["id"]] = replace(records[obj["id"]], status=str(obj["status"]))
        except (KeyError, TypeError, ValueError):
            _log.warning("outbox: skipping a malformed record in %s", path)
    yield from records.values()


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                return  # torn last line: never acknowledged
            try:
                obj = json.loads(raw)
            except ValueError:
                _log.warning("outbox: skipping an unreadable line in %s", path)
                continue
            if isinstance(obj, dict):
                yield obj
