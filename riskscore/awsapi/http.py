"""The one HTTP listener: AWS JSON 1.1 requests dispatched by ``X-Amz-Target``.

Every AWS-style API riskscore serves (CloudWatch Logs reads now; user pool
and identity pool later) is a :class:`JsonOperation` registered under its
target prefix (``Logs_20140328``). A request is ``POST /`` with
``X-Amz-Target: <prefix>.<Operation>`` and a JSON body; errors use the JSON
1.1 shape ``{"__type": ..., "message": ...}``, mapped in one table here.

SigV4 signatures are accepted but not verified: this is a local endpoint, and
AWS SDKs refuse to send unsigned requests, so callers sign with any
credentials (``aws_access_key_id="x"``). Put an authenticating proxy in front
of it before exposing it beyond the host.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar, Final, Protocol

from aiohttp import web

from riskscore.errors import InvalidArgumentError, NotFoundError, RiskscoreError

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "AwsApiError",
    "JsonObject",
    "JsonOperation",
    "SerializationError",
    "UnknownOperationError",
    "create_http_app",
    "start_http_server",
]

_log = logging.getLogger(__name__)

# JSON bodies are free-form until an operation validates them.
JsonObject = dict[str, Any]

# PutLogEvents alone may carry 1,048,576 bytes of messages plus JSON framing.
DEFAULT_MAX_REQUEST_BYTES: Final = 2 * 1024 * 1024
_CONTENT_TYPE: Final = "application/x-amz-json-1.1"


class JsonOperation(Protocol):
    """One AWS service: answers ``operation`` (the part after the dot) for a JSON body."""

    def __call__(self, operation: str, request: JsonObject) -> Awaitable[JsonObject]:
        """Run one operation; raise RiskscoreError subclasses for client errors."""
        ...


class AwsApiError(RiskscoreError):
    """An error with an AWS wire type; ``aws_type`` becomes ``__type``."""

    code = "invalid_argument"
    aws_type: ClassVar[str] = "ValidationException"
    status: ClassVar[int] = 400


class UnknownOperationError(AwsApiError):
    """The X-Amz-Target names no registered service or operation."""

    aws_type = "UnknownOperationException"


class SerializationError(AwsApiError):
    """The body is not a JSON object, or the Content-Type is not JSON 1.1."""

    aws_type = "SerializationException"


class _TooLargeError(AwsApiError):
    aws_type = "RequestEntityTooLargeException"
    status = 413


# riskscore's own errors to (AWS __type, HTTP status): the single mapping table.
_ERROR_TYPES: Final[tuple[tuple[type[RiskscoreError], str, int], ...]] = (
    (InvalidArgumentError, "InvalidParameterException", 400),
    (NotFoundError, "ResourceNotFoundException", 400),
)


def _error_response(aws_type: str, message: str, status: int) -> web.Response:
    return web.json_response(
        {"__type": aws_type, "message": message},
        status=status,
        content_type=_CONTENT_TYPE,
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _map_error(error: RiskscoreError) -> web.Response:
    if isinstance(error, AwsApiError):
        return _error_response(error.aws_type, str(error), error.status)
    for kind, aws_type, status in _ERROR_TYPES:
        if isinstance(error, kind):
            return _error_response(aws_type, str(error), status)
    return _internal_error(error)


def _internal_error(error: BaseException) -> web.Response:
    _log.error("internal error in AWS JSON API", exc_info=error)
    return _error_response("InternalFailure", "internal error", 500)


class _Dispatcher:
    def __init__(self, handlers: Mapping[str, JsonOperation]) -> None:
        self._handlers = dict(handlers)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            service, operation = self._route(request.headers.get("X-Amz-Target", ""))
            body = await self._body(request)
            result = await service(operation, body)
        except RiskscoreError as error:
            return _map_error(error)
        except Exception as error:
            return _internal_error(error)
        return web.json_response(
            result, content_type=_CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())}
        )

    def _route(self, target: str) -> tuple[JsonOperation, str]:
        prefix, _, operation = target.partition(".")
        service = self._handlers.get(prefix)
        if service is None or not operation:
            raise UnknownOperationError(f"unknown operation {target!r}")
        return service, operation

    async def _body(self, request: web.Request) -> JsonObject:
        if not request.content_type.startswith(("application/x-amz-json-", "application/json")):
            raise SerializationError(f"unsupported Content-Type {request.content_type!r}")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _TooLargeError("request body too large") from None
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise SerializationError("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SerializationError("request body must be a JSON object")
        return body


def create_http_app(
    handlers: Mapping[str, JsonOperation],
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> web.Application:
    """The aiohttp application serving every registered AWS JSON 1.1 service at ``POST /``."""
    app = web.Application(client_max_size=max_request_bytes)
    app.router.add_post("/", _Dispatcher(handlers).handle)
    return app


async def start_http_server(
    app: web.Application, host: str, port: int
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on host:port (0 picks a free port); returns the runner and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    address = runner.addresses[0]
    return runner, int(address[1])
