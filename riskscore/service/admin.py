"""The RiskAdminService servicer: Cognito's Set/DescribeRiskConfiguration, ExplainDecision,
and the auth event history with its feedback (service/history.py).

Access control is not here: ``service/auth.py``'s interceptor refuses calls
without the admin token before they reach this servicer.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any, Final

import grpc
from google.protobuf import timestamp_pb2

from riskscore.core.result import Decision, RiskLevel
from riskscore.engine import Clock, Explanation, RiskEngine
from riskscore.errors import InvalidArgumentError
from riskscore.events.history import auth_event_json
from riskscore.events.metrics import Metrics
from riskscore.notify import FeedbackTokens, InvalidFeedbackTokenError
from riskscore.policy.config import AdvancedSecurityMode, RiskConfiguration
from riskscore.policy.stored import StoredPolicySource
from riskscore.service.auth import bearer_token, refusal
from riskscore.service.guard import guard
from riskscore.service.history import (
    FEEDBACK_VALUES,
    feedback_request,
    history_query,
    history_response,
)
from riskscore.service.servicer import score_reason
from riskscore.service.validation import attempt_from_request
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2

_MODES: Final = {
    AdvancedSecurityMode.OFF: admin_pb2.OFF,
    AdvancedSecurityMode.AUDIT: admin_pb2.AUDIT,
    AdvancedSecurityMode.ENFORCED: admin_pb2.ENFORCED,
}
_MODE_OF: Final = {wire: mode for mode, wire in _MODES.items()}
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
# A RiskConfiguration document is small (Cognito caps each email body at
# 20000 characters, six bodies, two lists of 200 CIDRs).
MAX_CONFIGURATION_JSON: Final = 256 * 1024


def configuration_from_request(
    request: admin_pb2.SetRiskConfigurationRequest,
) -> tuple[RiskConfiguration, AdvancedSecurityMode | None]:
    """Parse and validate a Set request; errors name Cognito's field path."""
    text = request.risk_configuration_json
    if not text.strip():
        raise InvalidArgumentError("risk_configuration_json", "is required")
    if len(text) > MAX_CONFIGURATION_JSON:
        raise InvalidArgumentError(
            "risk_configuration_json", f"is over {MAX_CONFIGURATION_JSON} characters"
        )
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError("risk_configuration_json", f"is not JSON: {exc}") from None
    config = RiskConfiguration.from_json(doc)
    mode: AdvancedSecurityMode | None = None
    if request.advanced_security_mode != admin_pb2.ADVANCED_SECURITY_MODE_UNSPECIFIED:
        mode = _MODE_OF.get(request.advanced_security_mode)
        if mode is None:
            raise InvalidArgumentError("advanced_security_mode", "is not OFF, AUDIT or ENFORCED")
        if config.client_id is not None:
            raise InvalidArgumentError(
                "advanced_security_mode",
                "is a pool setting (Cognito's UserPoolAddOns); send it without ClientId",
            )
    return config, mode


def _target(pool_id: str, client_id: str) -> RiskConfiguration:
    # The constructor validates both against Cognito's patterns, naming the field.
    return RiskConfiguration(pool_id, client_id or None)


def describe(
    policy: StoredPolicySource, pool_id: str, client_id: str
) -> admin_pb2.RiskConfigurationResponse:
    """The stored (or file) configuration of a target, and what applies to it."""
    target = _target(pool_id, client_id)
    stored = policy.configured(pool_id, client_id)
    effective, mode = policy.effective(pool_id, client_id)
    spelled = replace(
        target,
        compromised=effective.compromised,
        account_takeover=effective.account_takeover,
        exceptions=effective.exceptions,
    )
    response = admin_pb2.RiskConfigurationResponse(
        risk_configuration_json=json.dumps((stored or target).to_wire()),
        effective_configuration_json=json.dumps(spelled.to_wire()),
        effective_source=effective.source,
        advanced_security_mode=_MODES[mode],
    )
    if stored is not None and stored.last_modified is not None:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(stored.last_modified)
        response.last_modified_date.CopyFrom(stamp)
    return response


def explain_response(
    explained: Explanation, model_version: str
) -> admin_pb2.ExplainDecisionResponse:
    """The wire form of an explanation."""
    a, policy, enforced = explained.assessment, explained.policy, explained.enforced
    return admin_pb2.ExplainDecisionResponse(
        risk_score=a.risk_score,
        risk_level=_LEVELS[a.risk_level],
        reasons=[score_reason(r) for r in a.reasons],
        decision=_DECISIONS[policy.effective_action],
        decision_rule=policy.rule,
        audit_only=policy.audit_only,
        enforced_decision=_DECISIONS[enforced.effective_action],
        enforced_rule=enforced.rule,
        notify=policy.notify,
        risk_decision=policy.risk_decision.value,
        alternatives=[
            admin_pb2.Alternative(
                risk_level=_LEVELS[alt.level],
                configured_action=_DECISIONS[alt.configured],
                effective_action=_DECISIONS[alt.effective],
                notify=alt.notify,
            )
            for alt in policy.alternatives
        ],
        compromised_credentials_detected=explained.compromised,
        advanced_security_mode=_MODES[explained.mode],
        configuration_source=explained.configuration_source,
        model_version=model_version,
    )


class AdminServicer(admin_pb2_grpc.RiskAdminServiceServicer):
    """riskscore.v1.RiskAdminService on grpc.aio."""

    def __init__(
        self,
        engine: RiskEngine,
        policy: StoredPolicySource,
        clock: Clock,
        metrics: Metrics,
        *,
        admin_token: str = "",
        feedback_tokens: FeedbackTokens | None = None,
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._admin_token = admin_token
        self._feedback_tokens = feedback_tokens

    async def SetRiskConfiguration(  # noqa: N802 (gRPC method name)
        self,
        request: admin_pb2.SetRiskConfigurationRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> admin_pb2.RiskConfigurationResponse:
        """Store a configuration (and mode) durably, then describe it."""

        async def work() -> admin_pb2.RiskConfigurationResponse:
            config, mode = configuration_from_request(request)
            config = replace(config, last_modified=self._clock.now())
            await asyncio.wrap_future(self._policy.set(config, mode))
            return describe(self._policy, config.user_pool_id, config.client_id or "")

        return await guard(self._metrics, "SetRiskConfiguration", context, work())

    async def DescribeRiskConfiguration(  # noqa: N802 (gRPC method name)
        self,
        request: admin_pb2.DescribeRiskConfigurationRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> admin_pb2.RiskConfigurationResponse:
        """The configuration of a pool or client; defaults for one never configured."""

        async def work() -> admin_pb2.RiskConfigurationResponse:
            return describe(self._policy, request.user_pool_id, request.client_id)

        return await guard(self._metrics, "DescribeRiskConfiguration", context, work())

    async def ExplainDecision(  # noqa: N802 (gRPC method name)
        self,
        request: risk_pb2.ScoreRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> admin_pb2.ExplainDecisionResponse:
        """Score without recording anything, and say why."""

        async def work() -> admin_pb2.ExplainDecisionResponse:
            attempt = attempt_from_request(request, self._clock.now())
            breach = None
            if request.password_sha1:
                breach = await asyncio.to_thread(
                    self._engine.check_breach, attempt.event_type, request.password_sha1
                )
            explained = self._engine.explain(attempt, breach)
            return explain_response(explained, self._engine.model_version)

        return await guard(self._metrics, "ExplainDecision", context, work())

    async def ListAuthEvents(  # noqa: N802 (gRPC method name)
        self,
        request: admin_pb2.ListAuthEventsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> admin_pb2.ListAuthEventsResponse:
        """A page of the user's auth events, newest first."""

        async def work() -> admin_pb2.ListAuthEventsResponse:
            query = history_query(request)
            page = await asyncio.to_thread(
                self._engine.list_auth_events,
                query.pool_id,
                query.username,
                query.limit,
                query.before,
            )
            return history_response(query, page)

        return await guard(self._metrics, "ListAuthEvents", context, work())

    async def UpdateAuthEventFeedback(  # noqa: N802 (gRPC method name)
        self,
        request: admin_pb2.UpdateAuthEventFeedbackRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> admin_pb2.UpdateAuthEventFeedbackResponse:
        """Record Valid / Invalid feedback on an event; answer once durable."""

        # The one admin RPC the interceptor lets through: it takes a feedback token
        # (Cognito's FeedbackToken, from a notification link) or the admin token.
        if request.feedback_token:
            why = self._token_refusal(request)
        else:
            metadata = [(k, v) for k, v in context.invocation_metadata() or ()]
            why = refusal(self._admin_token, bearer_token(metadata))
        if why is not None:
            self._metrics.observe_error("UpdateAuthEventFeedback", "UNAUTHENTICATED")
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, why)

        async def work() -> admin_pb2.UpdateAuthEventFeedbackResponse:
            fb = feedback_request(request)
            if request.feedback_token and not request.provider:
                fb = replace(fb, provider=LINK_FEEDBACK_PROVIDER)
            result = await asyncio.wrap_future(
                self._engine.submit_feedback(
                    fb.pool_id, fb.username, fb.event_id, fb.value, fb.provider
                )
            )
            return admin_pb2.UpdateAuthEventFeedbackResponse(
                auth_event_json=json.dumps(auth_event_json(result.event)),
                changed=result.changed,
                profile_updated=result.profile_updated,
            )

        return await guard(self._metrics, "UpdateAuthEventFeedback", context, work())

    def _token_refusal(self, request: admin_pb2.UpdateAuthEventFeedbackRequest) -> str | None:
        """Why the request's feedback token does not grant it; None when it does."""
        if self._feedback_tokens is None:
            return "feedback tokens are not enabled on this server ([notifications] enabled)"
        value = FEEDBACK_VALUES.get(request.feedback_value)
        try:
            self._feedback_tokens.verify(
                request.feedback_token,
                pool_id=request.user_pool_id,
                username=request.username,
                event_id=request.event_id,
                value=value,
            )
        except InvalidFeedbackTokenError as exc:
            return f"the feedback token is not valid for this feedback ({exc.reason})"
        return None


# Who gave feedback through a notification's link (the console records "Admin").
LINK_FEEDBACK_PROVIDER = "User"
