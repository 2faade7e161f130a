"""Bearer-token access control for the admin RPCs (and, optionally, for scoring).

A grpc.aio server interceptor checks ``authorization: Bearer <token>`` before
a protected call reaches its servicer; health and reflection stay open. The
comparison is constant-time (hmac.compare_digest) so response timing does not
leak how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import grpc

NOT_CONFIGURED: Final = (
    "admin RPCs are disabled because no admin token is configured: set [admin] token "
    "in the config file (or the RISKSCORE_ADMIN_TOKEN environment variable) and send "
    "'authorization: Bearer <token>' metadata"
)
MISSING: Final = "missing 'authorization: Bearer <token>' metadata"
WRONG: Final = "the bearer token is not valid"
_SCHEME: Final = "bearer "


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The token of the ``authorization`` metadata, if it is a Bearer one."""
    for key, value in metadata or ():
        if key.lower() != "authorization":
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if text[: len(_SCHEME)].lower() == _SCHEME:
            return text[len(_SCHEME) :].strip()
        return None
    return None


def refusal(token: str, presented: str | None) -> str | None:
    """Why a call with ``presented`` is refused under ``token``; None when allowed."""
    if not token:
        return NOT_CONFIGURED
    if not presented:
        return MISSING
    if not hmac.compare_digest(presented.encode(), token.encode()):
        return WRONG
    return None


def _refuse(message: str) -> grpc.RpcMethodHandler[Any, Any]:
    async def abort(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(abort)


if TYPE_CHECKING:  # the stubs make it generic; the runtime class is not subscriptable
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


class BearerTokenInterceptor(_Interceptor):
    """Refuses calls to the protected services without the configured bearer token."""

    def __init__(self, token: str, services: Sequence[str], exempt: Sequence[str] = ()) -> None:
        self._token = token
        self._prefixes = tuple(f"/{service}/" for service in services)
        # Methods that check their own credential (UpdateAuthEventFeedback takes a
        # feedback token in place of the admin token).
        self._exempt = frozenset(exempt)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """Pass allowed calls on; answer the others UNAUTHENTICATED."""
        method = handler_call_details.method
        if not method.startswith(self._prefixes) or method in self._exempt:
            return await continuation(handler_call_details)
        metadata = handler_call_details.invocation_metadata
        why = refusal(self._token, bearer_token(metadata))
        if why is not None:
            return _refuse(why)
        return await continuation(handler_call_details)
