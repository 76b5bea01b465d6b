"""Durable JetStream pull consumers: explicit ack, idempotent handlers, bounded retries, dead letters.

Each message is handled in one PostgreSQL transaction that also records (consumer, event id)
in `processed_events`, so a redelivered event has no second effect. Failures are told apart:
- infrastructure (PostgreSQL away, timeouts): nak with backoff, forever: nothing is lost;
- anything else: retried up to `max_attempts`, then dead-lettered (stream + table), never dropped;
- an unparseable message: dead-lettered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from bridges_kit.logs import NATS_CORRELATION_HEADER, bind_correlation_id, reset_correlation_id
from bridges_kit.metrics import Metrics
from bridges_schema import CloudEvent, EventSpec, Streams, UnknownEventType, parse_event
from bridges_schema.subjects import Domain

log = structlog.get_logger(__name__)

Handler = Callable[[CloudEvent[Any], asyncpg.Connection], Awaitable[None]]

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True)
class Subscription:
    """What one durable consumer reads and which function handles each event type."""

    durable: str
    domain: Domain
    handlers: Mapping[EventSpec[Any], Handler]

    def handler_for(self, event_type: str) -> Handler | None:
        for spec, handler in self.handlers.items():
            if spec.type == event_type:
                return handler
        return None


def retry_delay(deliveries: int) -> float:
    """Backoff before the next delivery: 0.5 s, 1 s, 2 s ... capped at 30 s."""
    return float(min(0.5 * 2 ** max(deliveries - 1, 0), 30.0))


class Consumer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        streams: Streams,
        subscription: Subscription,
        metrics: Metrics,
        *,
        max_attempts: int = 5,
        batch: int = 32,
        ack_wait_s: float = 30.0,
    ) -> None:
        self._pool = pool
        self._js = js
        self._streams = streams
        self._sub = subscription
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._batch = batch
        self._ack_wait_s = ack_wait_s
        self._stopping = asyncio.Event()
        self.name = f"{streams.namespace}-{subscription.durable}"

    def stop(self) -> None:
        """Stop pulling; the batch in hand is finished first."""
        self._stopping.set()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        stream = self._streams.stream(self._sub.domain)
        return await self._js.pull_subscribe(
            stream.subjects[0],
            durable=self.name,
            stream=stream.name,
            config=ConsumerConfig(
                durable_name=self.name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self._ack_wait_s,
                max_deliver=-1,  # bounded by this loop, which tells poison from outage
                max_ack_pending=1000,
            ),
        )

    async def run(self) -> None:
        psub: JetStreamContext.PullSubscription | None = None
        while not self._stopping.is_set():
            try:
                if psub is None:
                    psub = await self._subscribe()
                msgs = await psub.fetch(self._batch, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except Exception as exc:  # NATS away or restarting: wait and resubscribe
                log.warning("consumer_fetch_failed", consumer=self.name, error=repr(exc))
                psub = None
                await self._pause(1.0)
                continue
            for msg in msgs:
                await self.process(msg)
        if psub is not None:
            try:
                await psub.unsubscribe()
            except Exception as exc:
                log.debug("consumer_unsubscribe_failed", consumer=self.name, error=repr(exc))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def process(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered or 1
        try:
            event = parse_event(msg.data)
        except (ValidationError, UnknownEventType, ValueError) as exc:
            await self._dead_letter(msg, None, f"unparseable: {exc}"[:500], deliveries)
            return
        handler = self._sub.handler_for(event.type)
        if handler is None:
            await msg.ack()
            self._metrics.consumer_messages(consumer=self.name, outcome="ignored").inc()
            return
        headers = msg.headers or {}
        token = bind_correlation_id(event.correlationid or headers.get(NATS_CORRELATION_HEADER))
        try:
            await self._handle(event, handler)
            await msg.ack()
            self._metrics.consumer_messages(consumer=self.name, outcome="ok").inc()
        except TRANSIENT_ERRORS as exc:
            log.warning("consumer_transient_failure", consumer=self.name, error=repr(exc))
            self._metrics.consumer_messages(consumer=self.name, outcome="retry").inc()
            await _safe(msg.nak(delay=retry_delay(deliveries)))
        except Exception as exc:
            log.exception("consumer_handler_failed", consumer=self.name, event_id=event.id)
            if deliveries >= self._max_attempts:
                await self._dead_letter(msg, event.id, repr(exc)[:500], deliveries)
            else:
                self._metrics.consumer_messages(consumer=self.name, outcome="retry").inc()
                await _safe(msg.nak(delay=retry_delay(deliveries)))
        finally:
            reset_correlation_id(token)

    async def _handle(self, event: CloudEvent[Any], handler: Handler) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                """INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
                   ON CONFLICT DO NOTHING RETURNING true""",
                self._sub.durable,
                event.id,
            )
            if first_time:
                await handler(event, conn)

    async def _dead_letter(
        self, msg: Msg, event_id: str | None, error: str, deliveries: int
    ) -> None:
        log.error("consumer_dead_letter", consumer=self.name, event_id=event_id, error=error)
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(
                    """INSERT INTO dead_letters (consumer, subject, event_id, payload, error,
                       deliveries) VALUES ($1, $2, $3, $4, $5, $6)""",
                    self._sub.durable,
                    msg.subject,
                    event_id,
                    msg.data,
                    error,
                    deliveries,
                )
            await self._js.publish(
                self._streams.dead_letter_subject(self._sub.durable),
                msg.data,
                headers={
                    "Nats-Msg-Id": f"{self._sub.durable}:{event_id or msg.metadata.sequence.stream}",
                    "Bridges-Original-Subject": msg.subject,
                    "Bridges-Error": error[:200],
                    "Bridges-Deliveries": str(deliveries),
                },
            )
            await msg.term()
            self._metrics.consumer_messages(consumer=self.name, outcome="dead_letter").inc()
        except Exception as exc:  # could not park it: leave it to be redelivered
            log.warning("dead_letter_failed", consumer=self.name, error=repr(exc))
            await _safe(msg.nak(delay=5.0))


async def _safe(ack: Awaitable[None]) -> None:
    try:
        await ack
    except Exception as exc:  # the server will redeliver after ack_wait anyway
        log.warning("ack_failed", error=repr(exc))
