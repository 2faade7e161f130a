"""Fixtures of the breach tests: a real range API on 127.0.0.1, port 0."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.enrich.breach.support import RangeHandler, RangeServer, RangeServerState


@pytest.fixture
def range_server() -> Iterator[tuple[str, RangeServerState]]:
    """A range API on an ephemeral port: (base URL, state)."""
    server = RangeServer(("127.0.0.1", 0), RangeHandler)
    server.state = RangeServerState()
    # A short poll interval: shutdown() waits up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}", server.state
    finally:
        server.state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
