"""The RiskService servicer: validate, hand to the engine off the event loop, answer."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

import grpc

from riskscore.core.result import Decision, Reason, RiskLevel
from riskscore.engine import Clock, RiskEngine, Verdict
from riskscore.events.metrics import Metrics
from riskscore.service.guard import guard
from riskscore.service.validation import attempt_from_request, outcome_from_request
from riskscore.v1 import risk_pb2, risk_pb2_grpc

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


def score_reason(r: Reason) -> risk_pb2.Reason:
    """The wire form of a reason."""
    return risk_pb2.Reason(code=r.code, message=r.message, weight=r.weight, evidence=r.evidence)


def score_response(verdict: Verdict) -> risk_pb2.ScoreResponse:
    """The wire form of a verdict."""
    a = verdict.assessment
    return risk_pb2.ScoreResponse(
        event_id=verdict.event_id,
        risk_score=a.risk_score,
        risk_level=_LEVELS[a.risk_level],
        decision=_DECISIONS[verdict.decision],
        reasons=[score_reason(r) for r in a.reasons],
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
        return await guard(self._metrics, method, context, work)

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
