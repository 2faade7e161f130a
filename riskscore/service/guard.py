"""Runs one RPC's work: deadline check, error-to-status mapping, metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc

from riskscore.errors import RiskscoreError, StoreUnavailableError
from riskscore.events.metrics import Metrics
from riskscore.service.errors import rich_status

log = logging.getLogger(__name__)
T = TypeVar("T")


async def guard(
    metrics: Metrics,
    method: str,
    context: grpc.aio.ServicerContext[Any, Any],
    work: Coroutine[Any, Any, T],
) -> T:
    """Await ``work``; abort the call with the mapped status when it fails."""
    started = time.perf_counter()
    observed = False

    def observe(code: str) -> None:
        # Every call, whatever its outcome, is one observation, made before the
        # client can see the outcome (a scrape right after must find it).
        nonlocal observed
        if not observed:
            observed = True
            metrics.observe_rpc(method, code, time.perf_counter() - started)

    try:
        # Honour the client's deadline: don't start work nobody will read.
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            work.close()
            metrics.observe_error(method, "DEADLINE_EXCEEDED")
            observe("DEADLINE_EXCEEDED")
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
        try:
            result = await work
        except RiskscoreError as exc:
            status = rich_status(exc)
            metrics.observe_error(method, status.code.name)
            if isinstance(exc, StoreUnavailableError):
                metrics.observe_store_error(method)
            if status.code is grpc.StatusCode.INTERNAL:
                log.exception("%s failed", method)
            observe(status.code.name)
            await context.abort(status.code, status.details, status.trailing_metadata)
            raise
        except asyncio.CancelledError:
            observe("CANCELLED")
            raise
        except Exception:
            metrics.observe_error(method, "INTERNAL")
            log.exception("%s failed", method)
            observe("INTERNAL")
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            raise
        observe("OK")
        return result
    finally:
        observe("INTERNAL")
