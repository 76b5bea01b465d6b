"""One service process: settings, pool, NatsClient, outbox relay, consumers and workers, started and
stopped in order. A service's bootstrap module builds one and hands it to `create_app`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import asyncpg
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from bridges_kit import bus, db
from bridges_kit.auth import TokenVerifier
from bridges_kit.consumer import Consumer, Subscription
from bridges_kit.logs import configure_logging
from bridges_kit.metrics import Metrics
from bridges_kit.outbox import OutboxRelay
from bridges_kit.settings import ServiceSettings
from bridges_schema import Streams

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """A background loop: `run` until `stop` is called, finishing the work in hand."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


WorkerFactory = Callable[["Runtime"], Worker]


class NotStarted(RuntimeError):
    pass


class Runtime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: Path,
        subscriptions: Sequence[Subscription] = (),
        workers: Sequence[WorkerFactory] = (),
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.settings = settings
        self.streams = Streams(settings.nats_namespace)
        self.metrics = Metrics(settings.service_name)
        self._migrations = migrations
        self._subscriptions = subscriptions
        self._worker_factories = workers
        self._verifier = verifier
        self._pool: asyncpg.Pool | None = None
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._workers: list[Worker] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise NotStarted("the runtime has not started")
        return self._pool

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise NotStarted("the runtime has not started")
        return self._js

    @property
    def verifier(self) -> TokenVerifier:
        if self._verifier is None:
            s = self.settings
            self._verifier = TokenVerifier(
                public_key_pem=s.jwt_key_pem(),
                jwks_url=s.jwt_jwks_url,
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                algorithms=s.jwt_algorithms,
            )
        return self._verifier

    async def open_database(self) -> asyncpg.Pool:
        """Migrate and open the pool (also used alone by one-off commands such as seeding)."""
        if self._pool is None:
            s = self.settings
            dsn = s.database_url.get_secret_value()
            await db.migrate(dsn, s.db_schema, db.load_migrations(self._migrations))
            self._pool = await db.create_pool(dsn, s.db_schema, s.db_pool_min, s.db_pool_max)
        return self._pool

    async def start(self) -> None:
        s = self.settings
        configure_logging(s.service_name, s.log_level, s.log_format)
        await self.open_database()
        assert self._pool is not None
        self._nc = await bus.connect(s.nats_url, s.service_name, s.nats_connect_timeout_s)
        self._js = self._nc.jetstream(timeout=5)
        await bus.ensure_streams(self._js, self.streams)
        self._workers = [
            OutboxRelay(
                self._pool, self._js, self.metrics, batch=s.outbox_batch, poll_s=s.outbox_poll_s
            ),
            *(
                Consumer(
                    self._pool,
                    self._js,
                    self.streams,
                    sub,
                    self.metrics,
                    max_attempts=s.consumer_max_attempts,
                    batch=s.consumer_batch,
                    ack_wait_s=s.consumer_ack_wait_s,
                )
                for sub in self._subscriptions
            ),
            *(factory(self) for factory in self._worker_factories),
        ]
        self._tasks = [asyncio.create_task(self._supervise(w)) for w in self._workers]
        log.info("service_started", port=s.http_port, namespace=s.nats_namespace)

    async def _supervise(self, worker: Worker) -> None:
        """Run a worker; if it crashes, log and restart it (a bug must not stop the service)."""
        while True:
            try:
                await worker.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker_crashed", worker=type(worker).__name__)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Stop pulling, let in-flight work finish (bounded by the grace period), then close."""
        for worker in self._workers:
            worker.stop()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks, self._workers = [], []
        if self._nc is not None:
            try:  # workers are done: flush acks and publishes, then close
                if self._nc.is_connected:
                    await asyncio.wait_for(self._nc.flush(), timeout=2)
                await self._nc.close()
            except Exception as exc:
                log.warning("nats_close_failed", error=repr(exc))
        if self._pool is not None:
            await self._pool.close()
        self._nc = self._js = self._pool = None
        log.info("service_stopped")

    async def readiness(self) -> dict[str, bool]:
        postgres = False
        if self._pool is not None:
            try:
                async with asyncio.timeout(2):
                    postgres = await self._pool.fetchval("SELECT true") is True
            except Exception:
                postgres = False
        nats_ok = self._nc is not None and self._nc.is_connected
        return {"postgres": postgres, "nats": nats_ok}
