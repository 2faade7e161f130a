"""Small combinators for concurrent.futures, shared by the engine and the stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def done(value: T) -> Future[T]:
    """A future that already holds ``value``."""
    future: Future[T] = Future()
    future.set_result(value)
    return future


def both(first: Future[T], second: Future[U]) -> Future[T]:
    """Resolves with ``first``'s result once both are done; fails with the first failure."""
    out: Future[T] = Future()
    lock = threading.Lock()
    remaining = [2]

    def settle(_: Future[T] | Future[U]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        for exc in (first.exception(), second.exception()):
            if exc is not None:
                out.set_exception(exc)
                return
        out.set_result(first.result())

    first.add_done_callback(settle)
    second.add_done_callback(settle)
    return out


def then(first: Future[T], step: Callable[[T], Future[U]]) -> Future[T]:
    """Once ``first`` succeeds, run ``step`` on its result; resolve with that result when
    ``step``'s future is done too. Failures of either propagate."""
    out: Future[T] = Future()

    def after_first(f: Future[T]) -> None:
        if (exc := f.exception()) is not None:
            out.set_exception(exc)
            return
        value = f.result()
        try:
            nxt = step(value)
        except Exception as exc:
            out.set_exception(exc)
            return

        def after_second(g: Future[U]) -> None:
            if (exc2 := g.exception()) is not None:
                out.set_exception(exc2)
            else:
                out.set_result(value)

        nxt.add_done_callback(after_second)

    first.add_done_callback(after_first)
    return out


def flatten(outer: Future[Future[T]]) -> Future[T]:
    """The inner future's outcome, once the outer one has produced it."""
    out: Future[T] = Future()

    def inner_done(inner: Future[T]) -> None:
        if (exc := inner.exception()) is not None:
            out.set_exception(exc)
        else:
            out.set_result(inner.result())

    def outer_done(f: Future[Future[T]]) -> None:
        if (exc := f.exception()) is not None:
            out.set_exception(exc)
        else:
            f.result().add_done_callback(inner_done)

    outer.add_done_callback(outer_done)
    return out
