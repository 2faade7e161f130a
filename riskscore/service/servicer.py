"""The RiskService servicer: validate, hand to the engine off the event loop, answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import grpc

from riskscore.core.result import Decision, Reason, RiskLevel
from riskscore.engine import Clock, RiskEngine, Verdict
from riskscore.errors import RiskscoreError, StoreUnavailableError
from riskscore.events.metrics import Metrics
from riskscore.service.errors import rich_status
from riskscore.service.validation import attempt_from_request, outcome_from_request
from riskscore.v1 import risk_pb2, risk_pb2_grpc

log = logging.getLogger(__name__)
T = TypeVar("T")

_LEVELS: Final = {
    RiskLevel.LOW: risk_pb2.LOW,
    RiskLevel.MEDIUM: risk_pb2.MEDIUM,
    RiskLevel.HIGH: risk_pb2.HIGH,
}
_DECISIONS: Final = {
    Decision.NO_ACTION: risk_pb2.NO_ACTION,
    Decision.MFA_IF_CONFIGURED: risk_pb2.MFA_IF_CONFIGURED,
    Decision.MFA_REQUIRED: risk_pb2.MFA_REQUIRED,
    Decision.BLOCK: risk_pb2.BLOCK,
}


def _reason(r: Reason) -> risk_pb2.Reason:
    return risk_pb2.Reason(code=r.code, message=r.message, weight=r.weight, evidence=r.evidence)


def score_response(verdict: Verdict) -> risk_pb2.ScoreResponse:
    """The wire form of a verdict."""
    a = verdict.assessment
    return risk_pb2.ScoreResponse(
        event_id=verdict.event_id,
        risk_score=a.risk_score,
        risk_level=_LEVELS[a.risk_level],
        decision=_DECISIONS[verdict.decision],
        reasons=[_reason(r) for r in a.reasons],
        compromised_credentials_detected=verdict.compromised_credentials,
        model_version=a.model_version,
    )


class RiskServicer(risk_pb2_grpc.RiskServiceServicer):
    """riskscore.v1.RiskService on grpc.aio.

    The CPU work of a call (validation, enrichment, the store's indexed reads,
    scoring) runs on the event loop: handing it to a thread pool costs more in
    GIL contention than it saves. Only the durable write leaves the loop, to
    the store's group-commit writer, and the call awaits it.
    """

    def __init__(self, engine: RiskEngine, clock: Clock, metrics: Metrics) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics

    async def _guard(
        self,
        method: str,
        context: grpc.aio.ServicerContext[Any, Any],
        work: Coroutine[Any, Any, T],
    ) -> T:
        started = time.perf_counter()
        code = "OK"
        try:
            # Honour the client's deadline: don't start work nobody will read.
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                work.close()
                code = "DEADLINE_EXCEEDED"
                self._metrics.observe_error(method, code)
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
            try:
                return await work
            except RiskscoreError as exc:
                status = rich_status(exc)
                code = status.code.name
                self._metrics.observe_error(method, code)
                if isinstance(exc, StoreUnavailableError):
                    self._metrics.observe_store_error(method)
                if status.code is grpc.StatusCode.INTERNAL:
                    log.exception("%s failed", method)
                await context.abort(status.code, status.details, status.trailing_metadata)
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception:
                code = "INTERNAL"
                self._metrics.observe_error(method, code)
                log.exception("%s failed", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                raise
        finally:
            # Every call, whatever its outcome, is one observation.
            self._metrics.observe_rpc(method, code, time.perf_counter() - started)

    async def Score(  # noqa: N802 (gRPC method name)
        self,
        request: risk_pb2.ScoreRequest,
        context: grpc.aio.ServicerContext[risk_pb2.ScoreRequest, risk_pb2.ScoreResponse],
    ) -> risk_pb2.ScoreResponse:
        """Score one attempt; answer once it is recorded."""

        async def work() -> risk_pb2.ScoreResponse:
            attempt = attempt_from_request(request, self._clock.now())
            breach = None
            if request.password_sha1:
                # A range API may block on the network: keep it off the loop.
                breach = await asyncio.to_thread(
                    self._engine.check_breach, attempt.event_type, request.password_sha1
                )
            scored = self._engine.evaluate(attempt, breach)
            await asyncio.wrap_future(self._engine.commit(scored))
            return score_response(scored.verdict)

        return await self._guard("Score", context, work())

    async def ReportOutcome(  # noqa: N802 (gRPC method name)
        self,
        request: risk_pb2.OutcomeRequest,
        context: grpc.aio.ServicerContext[risk_pb2.OutcomeRequest, risk_pb2.OutcomeResponse],
    ) -> risk_pb2.OutcomeResponse:
        """Record what happened to a scored attempt."""

        async def work() -> risk_pb2.OutcomeResponse:
            event_id, outcome, when = outcome_from_request(request, self._clock.now())
            result = await asyncio.wrap_future(self._engine.submit_outcome(event_id, outcome, when))
            return risk_pb2.OutcomeResponse(
                already_recorded=result.already_recorded, profile_updated=result.profile_updated
            )

        return await self._guard("ReportOutcome", context, work())
