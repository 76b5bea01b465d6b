"""One service process: settings, pool, NATS, the outbox relay, consumers and workers, started and
stopped in order. A service's bootstrap module builds one and hands it to `create_app`."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Generic, TypeVar

import asyncpg
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from bridges_kit import bus, db, tracing
from bridges_kit.auth import TokenVerifier
from bridges_kit.backoff import Backoff
from bridges_kit.bus_access import BusUser, consumer_name
from bridges_kit.consumer import Consumer, ConsumerPolicy, Dispatcher, Subscription
from bridges_kit.faults import OUTAGE_ERRORS, describe
from bridges_kit.logs import configure_logging
from bridges_kit.metrics import Metrics
from bridges_kit.outbox import NOTIFY_CHANNEL, OutboxRelay
from bridges_kit.pruning import Pruner
from bridges_kit.sampling import MetricsSampler, Sampler
from bridges_kit.sealing import KeyRing
from bridges_kit.settings import KeyRingSettings, ServiceSettings
from bridges_kit.uow import UnitOfWork
from bridges_kit.wakeup import Wakeup
from bridges_kit.workers import Worker
from bridges_schema import Streams

log = structlog.get_logger(__name__)

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
UowT = TypeVar("UowT", bound=UnitOfWork)

# A crashing worker is restarted after this, doubling to the cap (a bug must not spin hot).
WORKER_RESTARTS = Backoff(first_s=1.0, cap_s=60.0)  # after each crash in a row


class NotStarted(RuntimeError):
    pass


class Runtime(Generic[SettingsT, UowT]):
    def __init__(
        self,
        settings: SettingsT,
        *,
        bus_user: BusUser,
        migrations: Path,
        unit_of_work: Callable[[asyncpg.Pool, Streams], UowT],
        subscriptions: Sequence[Subscription[UowT]] = (),
        workers: Sequence[Callable[[Runtime[SettingsT, UowT]], Worker]] = (),
        verifier: TokenVerifier | None = None,
        samplers: Sequence[Sampler] = (),
    ) -> None:
        self.settings = settings
        consumers = tuple((s.domain, s.durable) for s in subscriptions)
        if consumers != bus_user.consumers:  # its NATS user could not read what it subscribes to
            raise ValueError(f"{bus_user.name}'s bus user does not name its subscriptions")
        self.bus_user = bus_user
        self.streams = Streams(settings.nats_namespace)
        self.metrics = Metrics(settings.service_name)
        self.dispatchers: list[Dispatcher[UowT]] = [Dispatcher(s, self.uow) for s in subscriptions]
        self._migrations = migrations
        self._unit_of_work = unit_of_work
        self._worker_factories = workers
        self._verifier = verifier
        self._samplers = samplers
        self._pool: asyncpg.Pool | None = None
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._workers: list[Worker] = []
        self._tasks: list[asyncio.Task[None]] = []
        # traces: off unless the process's OTEL_* variables name an endpoint (bridges_kit.tracing)
        self.tracer_provider = tracing.provider_from_env(settings.service_name, os.environ)
        self.tracer = (
            self.tracer_provider.get_tracer("bridges")
            if self.tracer_provider is not None
            else tracing.NO_TRACER
        )
        self._traces_process = False

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

    def uow(self) -> UowT:
        """A new unit of work on this process's pool."""
        return self._unit_of_work(self.pool, self.streams)

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
                token_types=s.jwt_access_token_types,
                max_lifetime_s=s.jwt_max_lifetime_s,
                mapping=s.claim_mapping(),
            )
        return self._verifier

    async def open_database(self) -> asyncpg.Pool:
        """Migrate and open the pool (also used alone by one-off commands such as seeding)."""
        if self._pool is None:
            s = self.settings
            dsn = s.database_url.get_secret_value()
            await self._wait_for_database(dsn)
            await db.migrate(dsn, s.db_schema, db.load_migrations(self._migrations))
            self._pool = await db.create_pool(
                dsn, s.db_schema, s.db_pool_min, s.db_pool_max, s.db_acquire_timeout_s
            )
        return self._pool

    async def _wait_for_database(self, dsn: str) -> None:
        """PostgreSQL may be starting with us (a host reboot, a compose stack coming up): retry
        connecting for `db_connect_timeout_s` rather than exit at once."""
        deadline = time.monotonic() + self.settings.db_connect_timeout_s
        waits = Backoff(first_s=0.2, cap_s=5.0).delays()
        while True:
            delay = next(waits)
            try:
                conn = await db.connect(dsn, self.settings.db_schema)
                await conn.close()
                return
            except OUTAGE_ERRORS as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("database_waiting", error=describe(exc), retry_in_s=delay)
                await asyncio.sleep(delay)

    def wakeup(self, channel: str) -> Wakeup:
        """A NOTIFY listener on its own connection (see `bridges_kit.wakeup`)."""
        s = self.settings
        return Wakeup(lambda: db.connect(s.database_url.get_secret_value(), s.db_schema), channel)

    async def start(self) -> None:
        s = self.settings
        configure_logging(s.service_name, s.log_level, s.log_format)
        if self.tracer_provider is not None:
            self._traces_process = tracing.install_process_wide(self.tracer_provider)
        tracing.bind(self.tracer)  # the workers' tasks, started below, inherit it
        pool = await self.open_database()
        self._nc = await bus.connect(
            s.nats_url,
            s.service_name,
            s.nats_connect_timeout_s,
            login=s.bus_login(self.bus_user.name),
        )
        self._js = self._nc.jetstream(timeout=5)
        await bus.ensure_streams(
            self._js, self.streams, s.nats_replicas, domains=self.bus_user.declares()
        )
        policy = ConsumerPolicy(
            max_attempts=s.consumer_max_attempts,
            max_deliver=s.consumer_max_deliver,
            batch=s.consumer_batch,
            ack_wait_s=s.consumer_ack_wait_s,
        )
        self._workers = [
            OutboxRelay(
                pool,
                self._js,
                self.metrics,
                self.wakeup(NOTIFY_CHANNEL),
                batch=s.outbox_batch,
                poll_s=s.outbox_poll_s,
            ),
            Pruner(
                pool,
                keep_published=timedelta(hours=s.outbox_keep_published_h),
                keep_processed=timedelta(days=s.processed_events_keep_days),
                interval_s=s.prune_interval_s,
            ),
            *(
                Consumer(pool, self._js, self.streams, d, self.metrics, policy)
                for d in self.dispatchers
            ),
            *(factory(self) for factory in self._worker_factories),
            self.sampler(self.metrics),
        ]
        self._tasks = [asyncio.create_task(self._supervise(w)) for w in self._workers]
        log.info("service_started", port=s.http_port, namespace=s.nats_namespace)

    def sampler(self, metrics: Metrics) -> MetricsSampler:
        """The sampler of this service's gauges of state, setting them on `metrics` (the
        process's own, every `metrics_sample_s`; a fresh set for ops' summary, now)."""
        return MetricsSampler(
            self.pool,
            self.js,
            metrics,
            [
                (
                    d.durable,
                    self.streams.stream(d.subscription.domain).name,
                    consumer_name(self.streams, d.durable),
                )
                for d in self.dispatchers
            ],
            self._samplers,
            self.settings.metrics_sample_s,
        )

    async def _supervise(self, worker: Worker) -> None:
        """Run a worker; if it crashes, log it and restart it with backoff (a bug must not stop
        the service, nor spin). An outage that escaped the worker is logged without a trace."""
        crashes = 0
        while True:
            try:
                await worker.run()
                return
            except asyncio.CancelledError:
                raise
            except OUTAGE_ERRORS as exc:
                log.warning("worker_outage", worker=type(worker).__name__, error=describe(exc))
            except Exception:
                log.exception("worker_crashed", worker=type(worker).__name__)
            crashes += 1
            await asyncio.sleep(WORKER_RESTARTS.delay(crashes))

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
            except Exception as exc:  # closing anyway: say why it was unclean
                log.warning("nats_close_failed", error=describe(exc))
        if self._pool is not None:
            await self._pool.close()
        self._nc = self._js = self._pool = None
        if self.tracer_provider is not None:
            if self._traces_process:
                tracing.uninstall_process_wide()
            self.tracer_provider.force_flush(timeout_millis=5000)
        log.info("service_stopped")

    async def readiness(self) -> dict[str, bool]:
        postgres = False
        if self._pool is not None:
            try:
                async with asyncio.timeout(2):
                    postgres = await self._pool.fetchval("SELECT true") is True
            except (*OUTAGE_ERRORS, asyncpg.PostgresError):
                postgres = False
        nats_ok = self._nc is not None and self._nc.is_connected
        return {"postgres": postgres, "nats": nats_ok}


KeyRingSettingsT = TypeVar("KeyRingSettingsT", bound=KeyRingSettings)


class KeyRingRuntime(Runtime[KeyRingSettingsT, UowT]):
    """The runtime of a service that seals what it stores (`bridges_kit.sealing`): its key ring,
    read when the database opens, and what the service does with the ring then (`with_keys`:
    check it covers what is stored, seal what was stored plain...); if that fails the runtime
    stops rather than serve."""

    _key_ring: KeyRing | None = None

    @property
    def key_ring(self) -> KeyRing:
        if self._key_ring is None:
            self._key_ring = self.settings.key_ring()
        return self._key_ring

    async def open_database(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        ring = self.key_ring
        pool = await super().open_database()
        try:
            await self.with_keys(pool, ring)
        except BaseException:
            await self.stop()
            raise
        return pool

    async def with_keys(self, pool: asyncpg.Pool, ring: KeyRing) -> None:
        """What the service does with its key ring once its database is open."""
