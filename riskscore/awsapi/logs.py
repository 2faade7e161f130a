"""CloudWatch Logs read API (target ``Logs_20140328``) over a :class:`LogQuery`.

Shapes follow botocore's ``logs/2014-03-28/service-2.json`` so boto3's
``logs`` client and its paginators work unchanged: DescribeLogGroups,
DescribeLogStreams, GetLogEvents and FilterLogEvents (cognito.md section 3.4).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any, Final, NotRequired, TypedDict, TypeVar

from riskscore.awsapi.http import JsonObject, UnknownOperationError
from riskscore.errors import InvalidArgumentError
from riskscore.events.query import LogEvent, LogQuery, Position, StreamOrder

__all__ = ["LOGS_TARGET_PREFIX", "LogsApi"]

_T = TypeVar("_T")

LOGS_TARGET_PREFIX: Final = "Logs_20140328"

_DESCRIBE_LIMIT: Final = 50
_EVENTS_LIMIT: Final = 10_000
_MAX_STREAM_NAMES: Final = 100
# GetLogEvents tokens are "f/<digits>" or "b/<digits>", as CloudWatch's are;
# the digits are segment * 10**20 + offset (offsets fit in 64 bits).
_SHIFT: Final = 10**20
_TOKEN: Final = re.compile(r"([fb])/(\d{1,60})")
# A cursor after every event of any stream: "latest first" reads before it.
_END: Final = Position(2**62, 0)


class _GroupShape(TypedDict):
    logGroupName: str
    creationTime: int
    metricFilterCount: int
    arn: str
    logGroupArn: str
    storedBytes: int
    logGroupClass: str
    retentionInDays: NotRequired[int]


class _StreamShape(TypedDict):
    logStreamName: str
    creationTime: int
    arn: str
    storedBytes: int
    firstEventTimestamp: NotRequired[int]
    lastEventTimestamp: NotRequired[int]
    lastIngestionTime: NotRequired[int]


class _OutputEvent(TypedDict):
    timestamp: int
    message: str
    ingestionTime: int


class _FilteredEvent(_OutputEvent):
    logStreamName: str
    eventId: str


class LogsApi:
    """The CloudWatch Logs read operations, as a JsonOperation for the HTTP listener."""

    target_prefix: Final = LOGS_TARGET_PREFIX

    def __init__(
        self, query: LogQuery, *, region: str = "us-east-1", account_id: str = "000000000000"
    ) -> None:
        self._query = query
        self._arn_prefix = f"arn:aws:logs:{region}:{account_id}:log-group:"
        self._operations: dict[str, Callable[[JsonObject], JsonObject]] = {
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
        }

    async def __call__(self, operation: str, request: JsonObject) -> JsonObject:
        """Run one operation off the event loop (readers do file I/O)."""
        run = self._operations.get(operation)
        if run is None:
            raise UnknownOperationError(f"unknown operation {LOGS_TARGET_PREFIX}.{operation}")
        return await asyncio.to_thread(run, request)

    def describe_log_groups(self, request: JsonObject) -> JsonObject:
        """DescribeLogGroups: groups by name prefix, paged by name."""
        prefix = _string(request, "logGroupNamePrefix") or ""
        limit = _integer(request, "limit", 1, _DESCRIBE_LIMIT) or _DESCRIBE_LIMIT
        after = _decode_json_token(request, "after", str)
        groups = [g for g in self._query.groups(prefix) if after is None or g.name > after]
        page = groups[:limit]
        shapes: list[_GroupShape] = []
        for group in page:
            arn = f"{self._arn_prefix}{group.name}"
            shape: _GroupShape = {
                "logGroupName": group.name,
                "creationTime": group.creation_time,
                "metricFilterCount": 0,
                "arn": f"{arn}:*",
                "logGroupArn": arn,
                "storedBytes": group.stored_bytes,
                "logGroupClass": "STANDARD",
            }
            if group.retention_days is not None:
                shape["retentionInDays"] = group.retention_days
            shapes.append(shape)
        response: JsonObject = {"logGroups": shapes}
        if len(groups) > limit:
            response["nextToken"] = _encode_json_token({"after": page[-1].name})
        return response

    def describe_log_streams(self, request: JsonObject) -> JsonObject:
        """DescribeLogStreams: by name or last event time, either direction, paged by offset."""
        group = self._group_name(request)
        prefix = _string(request, "logStreamNamePrefix") or ""
        order = _string(request, "orderBy") or "LogStreamName"
        if order not in ("LogStreamName", "LastEventTime"):
            raise InvalidArgumentError("orderBy", "must be LogStreamName or LastEventTime")
        if prefix and order == "LastEventTime":
            # CloudWatch refuses this combination with InvalidParameterException.
            raise InvalidArgumentError(
                "logStreamNamePrefix", "cannot order by LastEventTime with a logStreamNamePrefix"
            )
        descending = _boolean(request, "descending") or False
        limit = _integer(request, "limit", 1, _DESCRIBE_LIMIT) or _DESCRIBE_LIMIT
        offset = _decode_json_token(request, "offset", int) or 0
        stream_order: StreamOrder = "LastEventTime" if order == "LastEventTime" else "LogStreamName"
        streams = self._query.streams(group, prefix, stream_order)
        if descending:
            streams.reverse()
        shapes: list[_StreamShape] = []
        for stream in streams[offset : offset + limit]:
            shape: _StreamShape = {
                "logStreamName": stream.name,
                "creationTime": stream.creation_time,
                "arn": f"{self._arn_prefix}{group}:log-stream:{stream.name}",
                "storedBytes": stream.stored_bytes,
            }
            if stream.first_event_timestamp is not None:
                shape["firstEventTimestamp"] = stream.first_event_timestamp
            if stream.last_event_timestamp is not None:
                shape["lastEventTimestamp"] = stream.last_event_timestamp
            if stream.last_ingestion_time is not None:
                shape["lastIngestionTime"] = stream.last_ingestion_time
            shapes.append(shape)
        response: JsonObject = {"logStreams": shapes}
        if offset + limit < len(streams):
            response["nextToken"] = _encode_json_token({"offset": offset + limit})
        return response

    def get_log_events(self, request: JsonObject) -> JsonObject:
        """GetLogEvents: one stream, forward or backward, with f/ and b/ tokens."""
        group = self._group_name(request)
        stream = _string(request, "logStreamName")
        if not stream:
            raise InvalidArgumentError("logStreamName", "is required")
        start = _integer(request, "startTime", 0, None)
        end = _integer(request, "endTime", 0, None)
        limit = _integer(request, "limit", 1, _EVENTS_LIMIT) or _EVENTS_LIMIT
        token = _string(request, "nextToken")
        if token is not None:
            forward, cursor = _decode_stream_token(token)
        elif _boolean(request, "startFromHead"):
            forward, cursor = True, None
        else:
            forward, cursor = False, _END
        page = self._query.read(
            group,
            stream,
            start=start,
            end=end,
            after=cursor if forward else None,
            before=None if forward else cursor,
            limit=limit,
        )
        return {
            "events": [_output_event(event) for event in page.events],
            "nextForwardToken": _encode_stream_token("f", page.forward),
            "nextBackwardToken": _encode_stream_token("b", page.backward),
        }

    def filter_log_events(self, request: JsonObject) -> JsonObject:
        """FilterLogEvents: matching events across streams, by timestamp, with an opaque token."""
        group = self._group_name(request)
        names = _string_list(request, "logStreamNames")
        prefix = _string(request, "logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise InvalidArgumentError(
                "logStreamNames", "cannot be combined with logStreamNamePrefix"
            )
        if names is not None and not 1 <= len(names) <= _MAX_STREAM_NAMES:
            raise InvalidArgumentError("logStreamNames", f"must list 1 to {_MAX_STREAM_NAMES}")
        events, resume = self._query.search(
            group,
            names,
            prefix or "",
            start=_integer(request, "startTime", 0, None),
            end=_integer(request, "endTime", 0, None),
            pattern=_string(request, "filterPattern") or "",
            resume=_decode_resume_token(request),
            limit=_integer(request, "limit", 1, _EVENTS_LIMIT) or _EVENTS_LIMIT,
        )
        response: JsonObject = {
            "events": [_filtered_event(event) for event in events],
            "searchedLogStreams": [],
        }
        if resume is not None:
            cursors = {name: [pos.segment, pos.offset] for name, pos in resume.items()}
            response["nextToken"] = _encode_json_token({"streams": cursors})
        return response

    def _group_name(self, request: JsonObject) -> str:
        name = _string(request, "logGroupName")
        identifier = _string(request, "logGroupIdentifier")
        if name is not None and identifier is not None:
            raise InvalidArgumentError(
                "logGroupName", "specify logGroupName or logGroupIdentifier, not both"
            )
        if identifier is not None:
            # An identifier is a name or an ARN "arn:aws:logs:<r>:<a>:log-group:<name>[:*]";
            # group names cannot contain ':'.
            parts = identifier.split(":")
            if parts[0] == "arn":
                if len(parts) < 7 or parts[5] != "log-group" or not parts[6]:
                    raise InvalidArgumentError("logGroupIdentifier", "not a log group ARN")
                return parts[6]
            return identifier
        if not name:
            raise InvalidArgumentError(
                "logGroupName", "logGroupName or logGroupIdentifier is required"
            )
        return name


def _output_event(event: LogEvent) -> _OutputEvent:
    return {
        "timestamp": event.timestamp,
        "message": event.message,
        "ingestionTime": event.ingestion_time,
    }


def _filtered_event(event: LogEvent) -> _FilteredEvent:
    return {
        "logStreamName": event.stream,
        "timestamp": event.timestamp,
        "message": event.message,
        "ingestionTime": event.ingestion_time,
        "eventId": event.event_id,
    }


# --- tokens -------------------------------------------------------------------


def _encode_stream_token(direction: str, position: Position) -> str:
    return f"{direction}/{position.segment * _SHIFT + position.offset:040d}"


def _decode_stream_token(token: str) -> tuple[bool, Position]:
    """(reads forward, cursor) from an "f/..." or "b/..." token."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise InvalidArgumentError("nextToken", "the specified nextToken is invalid")
    segment, offset = divmod(int(match.group(2)), _SHIFT)
    return match.group(1) == "f", Position(segment, offset)


def _encode_json_token(payload: JsonObject) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _token_payload(request: JsonObject) -> JsonObject | None:
    token = _string(request, "nextToken")
    if token is None:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidArgumentError("nextToken", "the specified nextToken is invalid")
    return payload


def _decode_json_token(request: JsonObject, key: str, kind: type[_T]) -> _T | None:
    payload = _token_payload(request)
    if payload is None:
        return None
    value = payload.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidArgumentError("nextToken", "the specified nextToken is invalid")
    return value


def _decode_resume_token(request: JsonObject) -> dict[str, Position] | None:
    streams = _decode_json_token(request, "streams", dict)
    if streams is None:
        return None
    resume: dict[str, Position] = {}
    for name, cursor in streams.items():
        if not (
            isinstance(name, str)
            and isinstance(cursor, list)
            and len(cursor) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in cursor)
        ):
            raise InvalidArgumentError("nextToken", "the specified nextToken is invalid")
        resume[name] = Position(cursor[0], cursor[1])
    return resume


# --- request fields -----------------------------------------------------------


def _string(request: JsonObject, key: str) -> str | None:
    value: Any = request.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(key, "must be a string")
    return value


def _integer(request: JsonObject, key: str, low: int, high: int | None) -> int | None:
    value: Any = request.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError(key, "must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidArgumentError(key, f"must be {bound}, got {value}")
    return value


def _boolean(request: JsonObject, key: str) -> bool | None:
    value: Any = request.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidArgumentError(key, "must be a boolean")
    return value


def _string_list(request: JsonObject, key: str) -> list[str] | None:
    value: Any = request.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgumentError(key, "must be a list of strings")
    return value
