"""The bounded hand-off between event log callers and its writer thread."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass

from riskscore.events.log_limits import EventLogBusyError, EventLogClosedError

__all__ = ["Item", "WriteQueue"]


@dataclass(frozen=True, slots=True)
class Item:
    """Events of one call for one stream, in order, and the future to resolve."""

    group: str
    stream: str
    events: tuple[tuple[int, str], ...]
    future: Future[None]

    @property
    def size(self) -> int:
        """Message characters, a cheap stand-in for the memory the item holds."""
        return sum(len(message) for _, message in self.events)


class WriteQueue:
    """A FIFO bounded in events and bytes; :meth:`take` hands the writer all of it.

    Callers block while it is full, up to a timeout; a call bigger than the
    bound is admitted only into an empty queue so it cannot wait forever.
    """

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self._cond = threading.Condition()
        self._items: deque[Item] = deque()
        self._events = 0
        self._bytes = 0
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._closed = False
        self._failure: BaseException | None = None

    def put(self, item: Item, timeout: float) -> None:
        """Queue an item; raises EventLogBusyError after ``timeout`` s of a full queue."""
        n, size = len(item.events), item.size
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._raise_if_closed()
                if not self._items or (
                    self._events + n <= self._max_events and self._bytes + size <= self._max_bytes
                ):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EventLogBusyError(
                        f"event log queue full ({self._events} events, {self._bytes} bytes) "
                        f"for {timeout:g} s"
                    )
                self._cond.wait(remaining)
            self._items.append(item)
            self._events += n
            self._bytes += size
            self._cond.notify_all()

    def take(self, timeout: float, max_events: int) -> tuple[list[Item], bool, int]:
        """Everything queued (up to ``max_events``), whether to stop, and the depth seen.

        Waits up to ``timeout`` s for the first item. ``stop`` is true once the
        queue is closed and has been emptied.
        """
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            depth = self._events
            batch: list[Item] = []
            taken = 0
            while self._items and (not batch or taken + len(self._items[0].events) <= max_events):
                item = self._items.popleft()
                batch.append(item)
                taken += len(item.events)
                self._bytes -= item.size
            self._events -= taken
            self._cond.notify_all()
            return batch, self._closed and not self._items, depth

    def depth(self) -> tuple[int, int]:
        """Queued events and bytes."""
        with self._cond:
            return self._events, self._bytes

    def close(self) -> None:
        """Refuse new items; the writer drains what is queued, then stops."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def fail_all(self, error: BaseException) -> list[Item]:
        """Close, and fail every queued item with ``error`` (the writer died)."""
        with self._cond:
            self._closed = True
            self._failure = error
            items = list(self._items)
            self._items.clear()
            self._events = self._bytes = 0
            self._cond.notify_all()
        for item in items:
            if not item.future.done():
                item.future.set_exception(error)
        return items

    def _raise_if_closed(self) -> None:
        if self._failure is not None:
            raise EventLogClosedError(str(self._failure))
        if self._closed:
            raise EventLogClosedError("event log is closed")
