"""The CloudWatch Logs read API, served on port 0 and called through a real boto3 client."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import boto3
import pytest
from aiohttp import web
from botocore.config import Config

from riskscore.awsapi import LOGS_TARGET_PREFIX, LogsApi, create_http_app, start_http_server
from riskscore.awsapi.http import JsonObject, JsonOperation
from riskscore.events.memory_query import MemoryLogQuery

GROUP = "/aws/cognito/userpools/us-east-1_Example/auth-events"
T0 = 1_726_694_200_000  # 2024-09-18T21:16:40Z
LEVELS = ("LOW", "MEDIUM", "HIGH")


def auth_event(i: int) -> str:
    """A Cognito AuthEventType-like record (cognito.md section 3)."""
    return json.dumps(
        {
            "eventType": "SignIn",
            "message": {
                "eventId": f"evt-{i:03d}",
                "creationDate": (T0 + i * 1000) / 1000,
                "riskLevel": LEVELS[i % 3],
                "eventResponse": "Fail" if i % 2 else "Pass",
                "ipAddress": f"203.0.113.{i}",
                "compromisedCredentialsDetected": False,
            },
        },
        separators=(",", ":"),
    )


def filled_query() -> MemoryLogQuery:
    query = MemoryLogQuery()
    # 30 events spread over three streams, each stream in time order.
    for i in range(30):
        stream = ("2024/09/18/pool-a", "2024/09/18/pool-b", "2024/09/19/pool-c")[i % 3]
        query.add(GROUP, stream, T0 + i * 1000, auth_event(i), T0 + i * 1000 + 5)
    for n in range(7):
        query.add_group(f"/riskscore/extra-{n}")
    return query


class ServerThread:
    """An aiohttp app on 127.0.0.1:0 in a background thread's event loop."""

    def __init__(self, handlers: Mapping[str, JsonOperation], **options: int) -> None:
        self._handlers = handlers
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _start(self) -> tuple[web.AppRunner, int]:
        app = create_http_app(self._handlers, **self._options)
        return await start_http_server(app, "127.0.0.1", 0)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self._runner, self.port = future.result(timeout=10)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        shutdown = self._loop.shutdown_default_executor()
        asyncio.run_coroutine_threadsafe(shutdown, self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A raw POST /, for what boto3 would refuse to send."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()


def logs_client(port: int, *, validate: bool = True) -> Any:
    session = boto3.session.Session()
    return session.client(
        "logs",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
    )


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread({LOGS_TARGET_PREFIX: LogsApi(filled_query())}) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[Any]:
    logs = logs_client(server.port)
    yield logs
    logs.close()


# --- DescribeLogGroups / DescribeLogStreams -------------------------------------


def test_describe_log_groups_pages_by_name(client: Any) -> None:
    names: list[str] = []
    kwargs: dict[str, Any] = {"limit": 3}
    while True:
        page = client.describe_log_groups(**kwargs)
        assert len(page["logGroups"]) <= 3
        names += [g["logGroupName"] for g in page["logGroups"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert names == sorted([GROUP] + [f"/riskscore/extra-{n}" for n in range(7)])
    paginated = client.get_paginator("describe_log_groups").paginate(
        PaginationConfig={"PageSize": 2}
    )
    assert [g["logGroupName"] for p in paginated for g in p["logGroups"]] == names


def test_describe_log_groups_shape(client: Any) -> None:
    (group,) = client.describe_log_groups(logGroupNamePrefix="/aws/cognito")["logGroups"]
    assert group["logGroupName"] == GROUP
    assert group["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{GROUP}:*"
    assert group["storedBytes"] == sum(len(auth_event(i)) for i in range(30))
    assert client.describe_log_groups(logGroupNamePrefix="/nothing")["logGroups"] == []


def test_describe_log_streams_orders_and_pages(client: Any) -> None:
    by_name = client.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert [s["logStreamName"] for s in by_name] == [
        "2024/09/18/pool-a",
        "2024/09/18/pool-b",
        "2024/09/19/pool-c",
    ]
    assert by_name[0]["firstEventTimestamp"] == T0
    assert by_name[0]["lastEventTimestamp"] == T0 + 27_000
    assert by_name[0]["lastIngestionTime"] == T0 + 27_005
    latest_first = client.describe_log_streams(
        logGroupName=GROUP, orderBy="LastEventTime", descending=True
    )["logStreams"]
    assert [s["logStreamName"] for s in latest_first] == [
        "2024/09/19/pool-c",
        "2024/09/18/pool-b",
        "2024/09/18/pool-a",
    ]
    paged = client.get_paginator("describe_log_streams").paginate(
        logGroupName=GROUP, logStreamNamePrefix="2024/09/18", PaginationConfig={"PageSize": 1}
    )
    pages = [[s["logStreamName"] for s in p["logStreams"]] for p in paged]
    assert pages == [["2024/09/18/pool-a"], ["2024/09/18/pool-b"]]


def test_describe_log_streams_errors(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidParameterException, match="LastEventTime"):
        client.describe_log_streams(
            logGroupName=GROUP, logStreamNamePrefix="2024", orderBy="LastEventTime"
        )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_log_streams(logGroupName="/no/such/group")


# --- GetLogEvents ------------------------------------------------------------


def stream_events(stream_index: int) -> list[int]:
    return [T0 + i * 1000 for i in range(stream_index, 30, 3)]


def test_get_log_events_forward_from_head_until_the_token_repeats(client: Any) -> None:
    seen: list[int] = []
    kwargs: dict[str, Any] = {
        "logGroupName": GROUP,
        "logStreamName": "2024/09/18/pool-a",
        "startFromHead": True,
        "limit": 4,
    }
    token = None
    for _ in range(10):
        page = client.get_log_events(**kwargs)
        assert page["nextForwardToken"].startswith("f/")
        assert page["nextBackwardToken"].startswith("b/")
        seen += [e["timestamp"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            assert page["events"] == []
            break
        token = kwargs["nextToken"] = page["nextForwardToken"]
    else:
        pytest.fail("nextForwardToken never repeated")
    assert seen == stream_events(0)
    del kwargs["nextToken"]
    first = client.get_log_events(**kwargs)["events"][0]
    assert first == {"timestamp": T0, "message": auth_event(0), "ingestionTime": T0 + 5}


def test_get_log_events_latest_first_then_backward(client: Any) -> None:
    kwargs: dict[str, Any] = {
        "logGroupIdentifier": f"arn:aws:logs:us-east-1:000000000000:log-group:{GROUP}:*",
        "logStreamName": "2024/09/18/pool-b",
        "limit": 3,
    }
    page = client.get_log_events(**kwargs)
    assert [e["timestamp"] for e in page["events"]] == stream_events(1)[-3:]
    pages = [page["events"]]
    token = page["nextBackwardToken"]
    for _ in range(10):
        page = client.get_log_events(**kwargs, nextToken=token)
        if page["nextBackwardToken"] == token:
            assert page["events"] == []
            break
        pages.insert(0, page["events"])
        token = page["nextBackwardToken"]
    else:
        pytest.fail("nextBackwardToken never repeated")
    assert [e["timestamp"] for p in pages for e in p] == stream_events(1)
    # Turning around: forward from the oldest page's backward token re-reads the stream.
    again = client.get_log_events(**kwargs, nextToken="f/" + token[2:])
    assert [e["timestamp"] for e in again["events"]] == stream_events(1)[:3]


def test_get_log_events_time_window(client: Any) -> None:
    page = client.get_log_events(
        logGroupName=GROUP,
        logStreamName="2024/09/19/pool-c",
        startTime=T0 + 5000,
        endTime=T0 + 14_000,
        startFromHead=True,
    )
    # Stream c holds T0+2s, 5s, 8s, 11s, 14s...; the end is exclusive.
    assert [e["timestamp"] - T0 for e in page["events"]] == [5000, 8000, 11_000]


def test_get_log_events_empty_window_tokens_repeat(client: Any) -> None:
    page = client.get_log_events(logGroupName=GROUP, logStreamName="2024/09/18/pool-a", endTime=1)
    assert page["events"] == []
    again = client.get_log_events(
        logGroupName=GROUP,
        logStreamName="2024/09/18/pool-a",
        endTime=1,
        nextToken=page["nextForwardToken"],
    )
    assert again["nextForwardToken"] == page["nextForwardToken"]


def test_get_log_events_errors(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_log_events(logGroupName=GROUP, logStreamName="no-such-stream")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_log_events(logGroupName="/no/such/group", logStreamName="s")
    with pytest.raises(client.exceptions.InvalidParameterException, match="nextToken"):
        client.get_log_events(logGroupName=GROUP, logStreamName="s", nextToken="garbage")
    with pytest.raises(client.exceptions.InvalidParameterException, match="logGroupName"):
        client.get_log_events(logStreamName="2024/09/18/pool-a")


# --- FilterLogEvents -----------------------------------------------------------


def test_filter_log_events_paginator_interleaves_all_streams(client: Any) -> None:
    pages = list(
        client.get_paginator("filter_log_events").paginate(
            logGroupName=GROUP, PaginationConfig={"PageSize": 7}
        )
    )
    assert len(pages) == 5
    assert all("nextToken" in p for p in pages[:-1])
    assert "nextToken" not in pages[-1]
    events = [e for p in pages for e in p["events"]]
    assert [e["timestamp"] for e in events] == [T0 + i * 1000 for i in range(30)]
    assert len({e["eventId"] for e in events}) == 30
    assert events[1]["logStreamName"] == "2024/09/18/pool-b"
    assert events[1]["message"] == auth_event(1)
    assert events[1]["ingestionTime"] == T0 + 1005


def test_filter_log_events_json_pattern(client: Any) -> None:
    pattern = '{ $.message.riskLevel = "HIGH" && $.message.eventResponse = "Fail" }'
    result = client.filter_log_events(logGroupName=GROUP, filterPattern=pattern)
    assert "nextToken" not in result
    expected = [i for i in range(30) if i % 3 == 2 and i % 2 == 1]
    assert [json.loads(e["message"])["message"]["eventId"] for e in result["events"]] == [
        f"evt-{i:03d}" for i in expected
    ]


def test_filter_log_events_terms_streams_and_window(client: Any) -> None:
    found = client.filter_log_events(logGroupName=GROUP, filterPattern='"203.0.113.7"')
    assert [e["timestamp"] for e in found["events"]] == [T0 + 7000]
    found = client.filter_log_events(
        logGroupName=GROUP,
        logStreamNames=["2024/09/18/pool-a", "2024/09/19/pool-c"],
        startTime=T0 + 3000,
        endTime=T0 + 9000,
        filterPattern="HIGH ?Fail ?Pass",
    )
    assert [e["timestamp"] - T0 for e in found["events"]] == [5000, 8000]
    found = client.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="2024/09/19")
    assert {e["logStreamName"] for e in found["events"]} == {"2024/09/19/pool-c"}


def test_filter_log_events_errors(client: Any) -> None:
    with pytest.raises(client.exceptions.InvalidParameterException, match="logStreamNames"):
        client.filter_log_events(
            logGroupName=GROUP, logStreamNames=["2024/09/18/pool-a"], logStreamNamePrefix="2024"
        )
    with pytest.raises(client.exceptions.InvalidParameterException, match="filterPattern"):
        client.filter_log_events(logGroupName=GROUP, filterPattern="{ $.message.riskLevel = ")
    with pytest.raises(client.exceptions.InvalidParameterException, match="nextToken"):
        client.filter_log_events(logGroupName=GROUP, nextToken="bm90IGpzb24")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.filter_log_events(logGroupName="/no/such/group")


def test_server_side_limits_are_checked(server: ServerThread) -> None:
    unchecked = logs_client(server.port, validate=False)
    try:
        with pytest.raises(unchecked.exceptions.InvalidParameterException, match="limit"):
            unchecked.describe_log_groups(limit=51)
        with pytest.raises(unchecked.exceptions.InvalidParameterException, match="limit"):
            unchecked.get_log_events(logGroupName=GROUP, logStreamName="s", limit=0)
        with pytest.raises(unchecked.exceptions.InvalidParameterException, match="logStreamNames"):
            unchecked.filter_log_events(logGroupName=GROUP, logStreamNames=[])
    finally:
        unchecked.close()


# --- the listener itself -------------------------------------------------------

JSON_11 = {"Content-Type": "application/x-amz-json-1.1"}


@pytest.mark.parametrize(
    ("target", "body", "headers", "status", "aws_type"),
    [
        ("Nope_20990101.DescribeLogGroups", b"{}", JSON_11, 400, "UnknownOperationException"),
        (f"{LOGS_TARGET_PREFIX}.PutLogEvents", b"{}", JSON_11, 400, "UnknownOperationException"),
        (LOGS_TARGET_PREFIX, b"{}", JSON_11, 400, "UnknownOperationException"),
        (f"{LOGS_TARGET_PREFIX}.DescribeLogGroups", b"{", JSON_11, 400, "SerializationException"),
        (f"{LOGS_TARGET_PREFIX}.DescribeLogGroups", b"[]", JSON_11, 400, "SerializationException"),
        (
            f"{LOGS_TARGET_PREFIX}.DescribeLogGroups",
            b"{}",
            {"Content-Type": "text/plain"},
            400,
            "SerializationException",
        ),
    ],
)
def test_listener_errors_use_the_json_11_shape(
    server: ServerThread,
    target: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    aws_type: str,
) -> None:
    got_status, payload = server.post(body, {**headers, "X-Amz-Target": target})
    assert (got_status, payload["__type"]) == (status, aws_type)
    assert payload["message"]


def test_unsigned_raw_request_with_empty_body_is_served(server: ServerThread) -> None:
    status, payload = server.post(
        b"", {**JSON_11, "X-Amz-Target": f"{LOGS_TARGET_PREFIX}.DescribeLogGroups"}
    )
    assert status == 200
    assert len(payload["logGroups"]) == 8


class Broken:
    async def __call__(self, operation: str, request: JsonObject) -> JsonObject:
        raise RuntimeError("boom")


def test_internal_errors_are_500_and_oversized_bodies_413() -> None:
    with ServerThread({"Broken_1": Broken()}, max_request_bytes=1024) as running:
        status, payload = running.post(b"{}", {**JSON_11, "X-Amz-Target": "Broken_1.Op"})
        assert (status, payload["__type"]) == (500, "InternalFailure")
        assert "boom" not in payload["message"]
        big = json.dumps({"pad": "x" * 2048}).encode()
        status, payload = running.post(big, {**JSON_11, "X-Amz-Target": "Broken_1.Op"})
        assert status == 413
        assert payload["__type"] == "RequestEntityTooLargeException"
