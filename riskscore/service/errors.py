"""One table from riskscore's errors to gRPC status, with rich details.

INVALID_ARGUMENT carries a google.rpc.BadRequest whose FieldViolation names
the field, so clients can point at it without parsing the message.
"""

from __future__ import annotations

from typing import Final

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from riskscore.enrich.breach.base import BreachCheckError
from riskscore.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    RiskscoreError,
    StoreUnavailableError,
)
from riskscore.events.log_limits import EventLogError
from riskscore.notify.tokens import InvalidFeedbackTokenError

STATUS_OF: Final[dict[type[RiskscoreError], grpc.StatusCode]] = {
    InvalidArgumentError: grpc.StatusCode.INVALID_ARGUMENT,
    EventLogError: grpc.StatusCode.UNAVAILABLE,
    BreachCheckError: grpc.StatusCode.UNAVAILABLE,
    InvalidFeedbackTokenError: grpc.StatusCode.UNAUTHENTICATED,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    ConflictError: grpc.StatusCode.FAILED_PRECONDITION,
    StoreUnavailableError: grpc.StatusCode.UNAVAILABLE,
}


def status_code_of(exc: RiskscoreError) -> grpc.StatusCode:
    """The gRPC status for an error (INTERNAL for anything not in the table)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


def rich_status(exc: RiskscoreError) -> grpc.Status:
    """A grpc.Status with a google.rpc.Status detail for the error."""
    code = status_code_of(exc)
    message = str(exc) if code is not grpc.StatusCode.INTERNAL else "internal error"
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    if isinstance(exc, InvalidArgumentError):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=exc.field, description=exc.description
                    )
                ]
            )
        )
        status.details.append(detail)
    return rpc_status.to_status(status)
