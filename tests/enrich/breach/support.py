"""Helpers of the breach tests: a HIBP-style range server and Pwned Passwords dump writers."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

from riskscore.enrich.breach import sha1_hex

# Passwords the canned server knows, with the counts it reports.
LEAKED = {"password": 9_545_824, "123456": 37_359_195, "P@ssw0rd": 38_024}
# A hash whose suffix the server lists only as a count-0 padding row.
PADDED_ONLY = sha1_hex("padding-only-not-leaked")
PADDED_ROWS = 820


@dataclass
class RangeServerState:
    """What the handler serves and everything it saw."""

    mode: str = "ok"  # ok | lowercase | sleep | error | malformed | huge
    request_lines: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_for(self, prefix: str) -> int:
        """Requests whose line names ``prefix``."""
        with self.lock:
            return sum(f"/range/{prefix} " in line for line in self.request_lines)


def range_body(prefix: str) -> str:
    """The padded answer for ``prefix``: real rows plus count-0 rows, sorted like HIBP's."""
    rows = {h[5:]: c for h, c in ((sha1_hex(p), c) for p, c in LEAKED.items()) if h[:5] == prefix}
    if PADDED_ONLY[:5] == prefix:
        rows.setdefault(PADDED_ONLY[5:], 0)
    rng = random.Random(prefix)
    while len(rows) < PADDED_ROWS:
        rows.setdefault(f"{rng.getrandbits(140):035X}", 0)
    return "".join(f"{suffix}:{rows[suffix]}\r\n" for suffix in sorted(rows))


class RangeServer(ThreadingHTTPServer):
    # Joined on close, so no handler thread outlives its test.
    daemon_threads = False
    state: RangeServerState

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up early (timeouts, oversized bodies)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class RangeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection ends after this, so server_close cannot hang.
    timeout = 5

    def do_GET(self) -> None:
        state = cast("RangeServer", self.server).state
        with state.lock:
            state.request_lines.append(self.requestline)
            state.headers.append(dict(self.headers.items()))
        mode = state.mode
        if mode == "sleep":
            state.release.wait(10)
            self.close_connection = True
        if mode == "error":
            self._send(500, b"upstream exploded")
            return
        prefix = self.path.rsplit("/", 1)[-1].upper()
        if not self.path.startswith("/range/") or len(prefix) != 5:
            self._send(400, b"The hash prefix was not in a valid format")
            return
        body = range_body(prefix)
        if mode == "lowercase":
            body = body.lower()
        elif mode == "malformed":
            body = body[:200] + "this is not a row\r\n" + body[200:]
        elif mode == "huge":
            body = body * 40
        self._send(200, body.encode("ascii"))

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The client gave up (the timeout tests): nothing to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet; the state records requests."""


def random_records(count: int, seed: int) -> list[tuple[bytes, int]]:
    """``count`` distinct random digests with counts, in random order."""
    rng = random.Random(seed)
    # A dict, not a set: its order is the generation order, the same in every run.
    digests: dict[bytes, None] = {}
    while len(digests) < count:
        digests[rng.randbytes(20)] = None
    return [(digest, rng.randint(1, 5_000_000)) for digest in digests]


def write_dump(path: Path, records: Iterable[tuple[bytes, int]], *, newline: bytes = b"\n") -> Path:
    """Write ``records`` as ``SHA1HEX:COUNT`` lines in the order given."""
    with path.open("wb") as handle:
        handle.writelines(
            digest.hex().upper().encode("ascii") + b":" + str(count).encode("ascii") + newline
            for digest, count in records
        )
    return path
