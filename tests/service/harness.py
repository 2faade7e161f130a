"""Runs the real grpc.aio server in a background thread for synchronous tests."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc

from riskscore.config import Config, GeoConfig, ScoringConfig, ServerConfig, StoreConfig
from riskscore.engine import Clock
from riskscore.service.server import RiskServer, create_server


def service_config(data_dir: Path, asn_db: Path, *, model: str = "", **store: str) -> Config:
    """A config on port 0 with the real packaged geo data and a SQLite store.

    The statistical model by default: these tests pin levels to its
    thresholds; tests of the shipped learned model pass ``model="default"``.
    """
    return Config(
        data_dir=data_dir,
        server=ServerConfig(
            grpc_address="127.0.0.1:0",
            metrics_address="127.0.0.1:0",
            http_address="127.0.0.1:0",
        ),
        geo=GeoConfig(asn_db=asn_db),
        store=StoreConfig(**store),  # type: ignore[arg-type]
        scoring=ScoringConfig(model=model),
    ).validate()


class ServerThread:
    """The service on its own event loop; tests talk to it through real stubs."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: RiskServer | None = None
        self.port = 0

    async def _start(self) -> tuple[RiskServer, int]:
        server, port = create_server(self.config, clock=self.clock)
        await server.start()
        return server, port

    def __enter__(self) -> ServerThread:
        self.thread.start()
        self.server, self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(
            60
        )
        return self

    def channel(self) -> grpc.Channel:
        """A fresh client channel to the server."""
        return grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def stop(self, grace: float = 0) -> None:
        """Stop the server and its loop."""
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(grace), self.loop).result(60)
            self.server = None
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        if not self.loop.is_closed() and not self.thread.is_alive():
            self.loop.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
