"""Durable JetStream pull consumers: typed reactions, idempotent handling, explicit acks.

A service says what reacts to what, typed by the event's data class from the schema package:

    Subscription("referrals-programs", Domain.DIRECTORY, (
        on(ServiceUpserted, programs.on_service_upserted),
        on(ServiceDeleted, programs.on_service_deleted),
    ))

Each message is applied in one unit of work that also records (consumer, event id), so a
redelivered event has no second effect. What can go wrong is told apart:
- an outage (PostgreSQL away, restarting, overloaded): the message is held, its lease kept with
  `in_progress()`, and tried again with backoff until the database answers. An outage does not
  use up the message's deliveries, so nothing is lost however long it lasts;
- a fault of the work (a bug, data the handler refuses): `nak` with backoff, up to
  `max_attempts` deliveries, then parked as a dead letter (table and dead-letter stream);
- a message that can never be applied: parked at once, with the reason. That is one over
  `MAX_EVENT_BYTES`, one that is not JSON or not an event of a known type, one holding text
  PostgreSQL cannot store (NUL), and one whose handler raises an error its subscription names
  `permanent` (e.g. the referral does not exist);
- an event no producer of Bridges could have sent: parked at once and counted `refused` (an
  alert: someone may be speaking on the bus who should not). That is one on a subject its type
  does not travel on, one whose `source` is not the service that speaks for its domain (only the
  directory speaks for programs), and one whose handler raises an error its subscription names
  `refused` (e.g. a version jump no producer makes);
- a message delivered `max_deliver` times without being settled (the process died or stalled
  while handling it each time): parked. JetStream's own bound sits above ours, so it never
  drops a message we have not parked.
On shutdown, what was fetched but not handled is handed back at once (`nak`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError

from bridges_kit import dead_letters, text, tracing
from bridges_kit.backoff import Backoff
from bridges_kit.bus_access import consumer_name
from bridges_kit.faults import NATS_ERRORS, OUTAGE_ERRORS, describe
from bridges_kit.logs import bind_correlation_id, reset_correlation_id
from bridges_kit.metrics import Metrics
from bridges_kit.speakers import impostor
from bridges_kit.uow import UnitOfWork
from bridges_schema import (
    ALL_EVENTS,
    CloudEvent,
    Streams,
    UnknownEventType,
    parse_event,
)
from bridges_schema.subjects import Domain

log = structlog.get_logger(__name__)

UowT = TypeVar("UowT", bound=UnitOfWork)
DataT = TypeVar("DataT", bound=BaseModel)

# JetStream's own redelivery bound, above ours: only a message we failed to park reaches it.
SERVER_DELIVERY_MARGIN = 10
# Events carry ids and codes, never documents: a few KB. Anything far larger is not ours, and
# is parked without being parsed.
MAX_EVENT_BYTES = 64 * 1024
# Validation errors named in a dead letter's reason (the rest are counted).
REASONS_LISTED = 3


@dataclass(frozen=True)
class Reaction(Generic[UowT]):
    model: type[BaseModel]
    handler: Callable[[CloudEvent[Any], UowT], Awaitable[None]]


def on(
    model: type[DataT], handler: Callable[[CloudEvent[DataT], UowT], Awaitable[None]]
) -> Reaction[UowT]:
    """`handler` reacts to events carrying `model` (type-checked: the two must agree)."""
    return Reaction(model, handler)


@dataclass(frozen=True)
class Subscription(Generic[UowT]):
    """One durable consumer: the stream it reads and what reacts to each event class."""

    durable: str
    domain: Domain
    reactions: tuple[Reaction[UowT], ...]
    # errors of a handler that no retry can mend (the event names what does not exist...):
    # the event is parked at once instead of retried
    permanent: tuple[type[Exception], ...] = ()
    # errors of a handler that say no producer of Bridges sent the event (a forgery, or a
    # broken producer): parked at once, and counted `refused` (an alert)
    refused: tuple[type[Exception], ...] = ()

    def __post_init__(self) -> None:
        for reaction in self.reactions:
            domains = {s.domain for s in ALL_EVENTS if s.data_model is reaction.model}
            if self.domain not in domains:
                raise ValueError(
                    f"{reaction.model.__name__} never travels on the {self.domain} stream"
                )

    def handlers_for(
        self, event: CloudEvent[Any]
    ) -> list[Callable[[CloudEvent[Any], UowT], Awaitable[None]]]:
        return [r.handler for r in self.reactions if type(event.data) is r.model]


class Dispatcher(Generic[UowT]):
    """Applies an event to a subscription's handlers once, in one unit of work."""

    def __init__(self, subscription: Subscription[UowT], uow: Callable[[], UowT]) -> None:
        self.subscription = subscription
        self._uow = uow

    @property
    def durable(self) -> str:
        return self.subscription.durable

    def handles(self, event: CloudEvent[Any]) -> bool:
        return bool(self.subscription.handlers_for(event))

    async def apply(self, event: CloudEvent[Any]) -> bool:
        """Apply `event`; False when this consumer had already applied it."""
        async with self._uow() as uow:
            if not await uow.first_delivery(self.durable, event.id):
                return False
            for handler in self.subscription.handlers_for(event):
                await handler(event, uow)
            await uow.commit()
        return True


@dataclass(frozen=True)
class ConsumerPolicy:
    max_attempts: int = 5  # deliveries that end in a fault of the work, then it is parked
    max_deliver: int = 20  # deliveries in all (crashes and stalls count), then it is parked
    batch: int = 32
    ack_wait_s: float = 10.0  # a stopped or killed consumer's messages come back this fast


# Before the next delivery after a fault (by deliveries so far), and between tries while the
# database is out: 0.5 s, 1 s, 2 s ... capped at 30 s.
RETRIES = Backoff(first_s=0.5, cap_s=30.0)


def retry_delay(deliveries: int) -> float:
    """Backoff before the next delivery after a fault: 0.5 s, 1 s, 2 s ... capped at 30 s."""
    return RETRIES.delay(deliveries)


class _Interrupted(Exception):
    """The consumer is stopping while it waits out an outage."""


class Consumer(Generic[UowT]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        streams: Streams,
        dispatcher: Dispatcher[UowT],
        metrics: Metrics,
        policy: ConsumerPolicy | None = None,
    ) -> None:
        self._pool = pool
        self._js = js
        self._streams = streams
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._policy = policy or ConsumerPolicy()
        self._stopping = asyncio.Event()
        self.durable = dispatcher.durable
        self.name = consumer_name(streams, dispatcher.durable)

    def stop(self) -> None:
        """Stop pulling; the message in hand is finished, the rest of the batch handed back."""
        self._stopping.set()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        stream = self._streams.stream(self._dispatcher.subscription.domain)
        if self._policy.max_deliver <= self._policy.max_attempts:
            raise ValueError("max_deliver must be above max_attempts")
        return await self._js.pull_subscribe(
            stream.subjects[0],
            durable=self.name,
            stream=stream.name,
            config=ConsumerConfig(
                durable_name=self.name,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self._policy.ack_wait_s,
                max_deliver=self._policy.max_deliver + SERVER_DELIVERY_MARGIN,
                max_ack_pending=1000,
            ),
        )

    async def run(self) -> None:
        psub: JetStreamContext.PullSubscription | None = None
        while not self._stopping.is_set():
            try:
                if psub is None:
                    psub = await self._subscribe()
                msgs = await self._fetch(psub)
            except TimeoutError:  # nothing arrived within the fetch's wait (nats' or asyncio's)
                continue
            except NotFoundError:  # its producer, starting beside us, has not declared it yet
                log.info("consumer_waiting_for_stream", consumer=self.name)
                psub = None
                await self._pause(1.0)
                continue
            except NATS_ERRORS as exc:  # NATS away: resubscribe later
                log.warning("consumer_fetch_failed", consumer=self.name, error=describe(exc))
                psub = None
                await self._pause(1.0)
                continue
            for index, msg in enumerate(msgs):
                if self._stopping.is_set():
                    for unhandled in msgs[index:]:
                        await _settle(unhandled.nak())
                    break
                await self.process(msg)
        if psub is not None:
            with contextlib.suppress(*NATS_ERRORS):
                await psub.unsubscribe()

    async def _fetch(self, psub: JetStreamContext.PullSubscription) -> list[Msg]:
        """The next batch (TimeoutError when none came within 1 s), or none once `stop()` is
        called: a shutdown does not wait out an idle fetch. A message the cancelled fetch had
        already been sent stays unacknowledged and comes back after ack_wait."""
        fetch = asyncio.ensure_future(psub.fetch(self._policy.batch, timeout=1.0))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, *NATS_ERRORS):
                    await fetch
        return [] if fetch.cancelled() else fetch.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def process(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered or 1
        if len(msg.data) > MAX_EVENT_BYTES:
            reason = f"oversized: {len(msg.data)} bytes, events are at most {MAX_EVENT_BYTES}"
            await self._park(msg, None, reason, deliveries)
            return
        try:
            event = parse_event(msg.data)
        except (ValidationError, UnknownEventType, ValueError) as exc:
            await self._park(msg, None, unparseable(exc), deliveries)
            return
        refusal = impostor(event, msg.subject, self._streams.namespace)
        if refusal is not None:
            await self._park(msg, event.id, refusal, deliveries, outcome="refused")
            return
        unstorable = text.first_unstorable(event.model_dump(mode="json"))
        if unstorable is not None:
            await self._park(msg, event.id, unstorable, deliveries)
            return
        if not self._dispatcher.handles(event):
            await _settle(msg.ack())
            self._count("ignored")
            return
        if deliveries >= self._policy.max_deliver:
            reason = f"delivered {deliveries} times without being settled (crash or stall)"
            await self._park(msg, event.id, reason, deliveries)
            return
        token = bind_correlation_id(event.correlationid)
        try:
            with self._span(msg, event, deliveries):
                await self._apply_through_outages(msg, event)
        except _Interrupted:
            await _settle(msg.nak())
            return
        except self._dispatcher.subscription.refused as exc:
            await self._park(msg, event.id, describe(exc), deliveries, outcome="refused")
            return
        except self._dispatcher.subscription.permanent as exc:  # no retry can mend it
            await self._park(msg, event.id, describe(exc), deliveries)
            return
        except Exception as exc:  # a fault of the work: bounded retries, then parked
            log.exception("consumer_handler_failed", consumer=self.name, event_id=event.id)
            if deliveries >= self._policy.max_attempts:
                await self._park(msg, event.id, describe(exc), deliveries)
            else:
                self._count("retry")
                await _settle(msg.nak(delay=retry_delay(deliveries)))
            return
        finally:
            reset_correlation_id(token)
        await _settle(msg.ack())
        self._count("ok")

    def _span(self, msg: Msg, event: CloudEvent[Any], deliveries: int) -> Any:
        """The CONSUMER span, a child of the publish span whose context came in the message's
        `traceparent` header (or of the trace the event began in, its CloudEvent's)."""
        parent = tracing.extract_headers(msg.headers) or tracing.extract(event.traceparent)
        return tracing.span(
            f"consume {msg.subject}",
            kind=SpanKind.CONSUMER,
            parent=parent,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.name,
                "messaging.message.id": event.id,
                "bridges.event.type": event.type,
                "bridges.deliveries": deliveries,
                # ids only (a referral's id names no one): find a referral's trace by it
                **_ids_of(event),
            },
        )

    async def _apply_through_outages(self, msg: Msg, event: CloudEvent[Any]) -> None:
        waits = RETRIES.delays()
        async with self._keep_lease(msg):
            while True:
                try:
                    await self._dispatcher.apply(event)
                    return
                except OUTAGE_ERRORS as exc:
                    if await self._database_answers():
                        raise  # the database is fine: this work fails by itself
                    if self._stopping.is_set():
                        raise _Interrupted from exc
                    delay = next(waits)
                    log.warning(
                        "consumer_waiting_for_database",
                        consumer=self.name,
                        error=describe(exc),
                        retry_in_s=delay,
                    )
                    self._count("outage")
                    await self._pause(delay)

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return bool(await self._pool.fetchval("SELECT true"))
        except (*OUTAGE_ERRORS, asyncpg.PostgresError):
            return False

    @contextlib.asynccontextmanager
    async def _keep_lease(self, msg: Msg) -> AsyncIterator[None]:
        """Tell JetStream the message is in progress while a long handler or an outage lasts."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self._policy.ack_wait_s / 3)
                with contextlib.suppress(*NATS_ERRORS):
                    await msg.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _park(
        self,
        msg: Msg,
        event_id: str | None,
        error: str,
        deliveries: int,
        outcome: str = "dead_letter",
    ) -> None:
        log.error("consumer_dead_letter", consumer=self.name, event_id=event_id, error=error)
        letter = dead_letters.Letter(
            consumer=self.durable,
            subject=msg.subject,
            stream_sequence=msg.metadata.sequence.stream,
            event_id=event_id,
            payload=msg.data,
            error=error,
            deliveries=deliveries,
        )
        waits = RETRIES.delays()
        while True:
            try:
                await dead_letters.park(self._pool, letter)
                break
            except OUTAGE_ERRORS as exc:
                if self._stopping.is_set():
                    await _settle(msg.nak())
                    return
                log.warning("dead_letter_waiting", consumer=self.name, error=describe(exc))
                await self._pause(next(waits))
        try:  # the table is the record ops work from; the stream is for other tools
            await self._js.publish(
                self._streams.dead_letter_subject(self.durable),
                msg.data,
                headers={
                    "Nats-Msg-Id": f"{self.durable}:{letter.stream_sequence}",
                    "Bridges-Original-Subject": msg.subject,
                    # a header value: printable ASCII only (no CR LF to split the frame)
                    "Bridges-Error": "".join(
                        c if c.isascii() and c.isprintable() else "?" for c in error[:200]
                    ),
                    "Bridges-Deliveries": str(deliveries),
                },
            )
        except NATS_ERRORS as exc:
            log.warning("dead_letter_stream_failed", consumer=self.name, error=describe(exc))
        await _settle(msg.term())
        self._count(outcome)

    def _count(self, outcome: str) -> None:
        self._metrics.consumer_messages(consumer=self.durable, outcome=outcome).inc()


def _ids_of(event: CloudEvent[Any]) -> dict[str, str]:
    referral_id = getattr(event.data, "referral_id", None)
    return {"bridges.referral.id": str(referral_id)} if referral_id is not None else {}


def unparseable(exc: Exception) -> str:
    """Why a message is no event, naming the fields at fault but never their values (which
    may be the attack, or unstorable)."""
    if isinstance(exc, UnknownEventType):
        return f"unknown event type {str(exc)[:120]!r}"
    if not isinstance(exc, ValidationError):
        return f"unparseable: {describe(exc)}"
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return f"not JSON: {errors[0]['msg'].removeprefix('Invalid JSON: ')}"
    listed = "; ".join(f"{text.json_path(e['loc'])}: {e['msg']}" for e in errors[:REASONS_LISTED])
    more = f" (and {len(errors) - REASONS_LISTED} more)" if len(errors) > REASONS_LISTED else ""
    return f"not a valid event: {listed}{more}"


async def _settle(ack: Awaitable[None]) -> None:
    """Ack, nak or term; if NATS is away the server redelivers after the ack wait anyway."""
    try:
        await ack
    except NATS_ERRORS as exc:
        log.warning("ack_failed", error=describe(exc))


def dispatchers(
    subscriptions: Sequence[Subscription[UowT]], uow: Callable[[], UowT]
) -> list[Dispatcher[UowT]]:
    return [Dispatcher(s, uow) for s in subscriptions]
