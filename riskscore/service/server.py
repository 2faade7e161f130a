"""The gRPC server: RiskService, RiskAdminService, health, reflection, metrics; graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from prometheus_client import CollectorRegistry
from prometheus_client import start_http_server as start_metrics_server

from riskscore.awsapi import LOGS_TARGET_PREFIX, LogsApi, create_http_app, start_http_server
from riskscore.config import Config, parse_address
from riskscore.engine import Clock, SystemClock
from riskscore.errors import ConfigError
from riskscore.events.metrics import PrometheusMetrics
from riskscore.events.reader import FileLogQuery
from riskscore.service.admin import AdminServicer
from riskscore.service.auth import BearerTokenInterceptor
from riskscore.service.factory import Wiring, build_engine
from riskscore.service.servicer import RiskServicer
from riskscore.v1 import admin_pb2, admin_pb2_grpc, risk_pb2, risk_pb2_grpc

log = logging.getLogger(__name__)

RISK_SERVICE = risk_pb2.DESCRIPTOR.services_by_name["RiskService"].full_name
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["RiskAdminService"].full_name
PURGE_INTERVAL_SECONDS = 600.0


def _credentials(config: Config) -> grpc.ServerCredentials | None:
    server = config.server
    if server.tls_cert is None or server.tls_key is None:
        return None
    try:
        cert = server.tls_cert.read_bytes()
        key = server.tls_key.read_bytes()
    except OSError as exc:
        raise ConfigError("server.tls_cert", f"cannot read TLS files: {exc}") from exc
    if b"-----BEGIN" not in cert:
        raise ConfigError("server.tls_cert", "is not a PEM certificate")
    if b"PRIVATE KEY-----" not in key:
        raise ConfigError("server.tls_key", "is not a PEM private key")
    return grpc.ssl_server_credentials([(key, cert)])


class RiskServer:
    """A built, not yet started, service: the grpc.aio server and what it owns."""

    def __init__(
        self,
        server: grpc.aio.Server,
        port: int,
        wiring: Wiring,
        health: HealthServicer,
        metrics_http: Any | None,
        grace: float,
        http_address: tuple[str, int] | None = None,
        reload_seconds: float = 60.0,
    ) -> None:
        self.server = server
        self.port = port
        self.wiring = wiring
        self._health = health
        self._metrics_http = metrics_http
        self._grace = grace
        self._purger: asyncio.Task[None] | None = None
        self._reloader: asyncio.Task[None] | None = None
        self._reload_seconds = reload_seconds
        self._stopped = False
        self._http_address = http_address
        self._http: web.AppRunner | None = None
        self.http_port: int | None = None

    @property
    def metrics_port(self) -> int | None:
        """The bound Prometheus port, when metrics are served."""
        return int(self._metrics_http.server_port) if self._metrics_http is not None else None

    async def start(self) -> None:
        """Start serving (gRPC, then the HTTP listener); health turns SERVING."""
        await self.server.start()
        if self._http_address is not None:
            app = create_http_app(
                {LOGS_TARGET_PREFIX: LogsApi(FileLogQuery(self.wiring.events_root))}
            )
            try:
                self._http, self.http_port = await start_http_server(app, *self._http_address)
            except OSError as exc:
                await self.server.stop(0)
                raise ConfigError("server.http_address", f"cannot bind: {exc}") from exc
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(RISK_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(ADMIN_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        self._purger = asyncio.create_task(self._purge_forever())
        self._reloader = asyncio.create_task(self._reload_lists_forever(self._reload_seconds))

    async def _reload_lists_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(self.wiring.reputation.reload_if_changed):
                    log.info("reloaded the reputation deny lists")
            except Exception:
                # The old table keeps serving; say so and try again next time.
                log.exception("reloading the reputation deny lists failed")

    async def _purge_forever(self) -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
            try:
                n = await asyncio.to_thread(self.wiring.engine.purge_expired)
                log.info("forgot %d attempts past their outcome window", n)
            except Exception:
                log.exception("purging expired attempts failed")

    async def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, drain in-flight ones for ``grace`` seconds, then close."""
        if self._stopped:
            return
        self._stopped = True
        await self._health.enter_graceful_shutdown()
        await self.server.stop(self._grace if grace is None else grace)
        if self._http is not None:
            await self._http.cleanup()
        for task in (self._purger, self._reloader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.to_thread(self.wiring.close)
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()

    async def wait_for_termination(self) -> None:
        """Block until the server stops."""
        await self.server.wait_for_termination()


def create_server(config: Config, *, clock: Clock | None = None) -> tuple[RiskServer, int]:
    """Build the service on ``config.server.grpc_address``; returns it and its bound port.

    Port 0 binds a free port (tests). Call ``start()`` inside the event loop.
    """
    clock = clock or SystemClock()
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    wiring = build_engine(config, clock=clock, metrics=metrics)
    metrics.set_model_version(wiring.engine.model_version)
    try:
        protected = [ADMIN_SERVICE]
        if config.admin.protect_scoring:
            protected.append(RISK_SERVICE)
        server = grpc.aio.server(
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 1 << 20)],
            interceptors=[
                BearerTokenInterceptor(
                    config.admin.token,
                    protected,
                    exempt=(f"/{ADMIN_SERVICE}/UpdateAuthEventFeedback",),
                )
            ],
        )
        risk_pb2_grpc.add_RiskServiceServicer_to_server(
            RiskServicer(wiring.engine, clock, metrics), server
        )
        admin_pb2_grpc.add_RiskAdminServiceServicer_to_server(
            AdminServicer(
                wiring.engine,
                wiring.policy,
                clock,
                metrics,
                admin_token=config.admin.token,
                feedback_tokens=wiring.feedback_tokens,
            ),
            server,
        )
        health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        reflection.enable_server_reflection(
            (
                RISK_SERVICE,
                ADMIN_SERVICE,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        host, port = parse_address("server.grpc_address", config.server.grpc_address)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        creds = _credentials(config)
        try:
            bound = (
                server.add_secure_port(address, creds)
                if creds is not None
                else server.add_insecure_port(address)
            )
        except RuntimeError:
            bound = 0
        if bound == 0:
            raise ConfigError("server.grpc_address", f"cannot bind {address}")
        metrics_http = None
        if config.server.metrics_address:
            mhost, mport = parse_address("server.metrics_address", config.server.metrics_address)
            try:
                metrics_http, _ = start_metrics_server(mport, mhost, registry)
            except OSError as exc:
                raise ConfigError("server.metrics_address", f"cannot bind: {exc}") from exc
        http = None
        if config.server.http_address:
            http = parse_address("server.http_address", config.server.http_address)
    except BaseException:
        wiring.close()
        raise
    return (
        RiskServer(
            server,
            bound,
            wiring,
            health,
            metrics_http,
            config.server.shutdown_grace_seconds,
            http,
            config.lists.reload_seconds,
        ),
        bound,
    )
