"""The transactional outbox: `enqueue_many` inside the state change's transaction (the unit of
work does it on commit), `OutboxRelay` publishes.

Publishing sets `Nats-Msg-Id` to the event id, so a row republished after a crash (published,
not yet marked) is dropped by JetStream's duplicate window; consumers are idempotent besides.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg
import structlog
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind

from bridges_kit import tracing
from bridges_kit.backoff import Backoff
from bridges_kit.faults import NATS_ERRORS, describe
from bridges_kit.logs import NATS_CORRELATION_HEADER, correlation_id
from bridges_kit.metrics import Metrics
from bridges_kit.one_statement import OneStatement
from bridges_kit.wakeup import Wakeup
from bridges_schema import CloudEvent, Streams, event_spec

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "bridges_outbox"
_RELAY_WAITS = Backoff(first_s=0.1, cap_s=5.0)  # while NATS refuses; from the first again after


def _outbox_row(event: CloudEvent[Any], streams: Streams) -> tuple[Any, ...]:
    cid = event.correlationid or correlation_id()
    # the CloudEvent's traceparent keeps the trace the event began in (the request that wrote
    # it), wherever it travels; the row's header is that context for the relay's publish span
    traceparent = event.traceparent or tracing.current_traceparent()
    updates = {
        key: value
        for key, value in (("correlationid", cid), ("traceparent", traceparent))
        if value and getattr(event, key) is None
    }
    if updates:
        event = event.model_copy(update=updates)
    headers = {NATS_CORRELATION_HEADER: cid} if cid else {}
    if traceparent:
        headers[tracing.TRACEPARENT] = traceparent
    return (
        event.id,
        event_spec(event).subject(streams.namespace),
        event.model_dump_json().encode(),
        headers,
    )


async def enqueue_many(
    conn: asyncpg.Connection, events: Sequence[CloudEvent[Any]], streams: Streams
) -> None:
    """Store several events in order (one round trip per batch, one relay wake-up)."""
    if not events:
        return
    await conn.executemany(
        "INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)",
        [_outbox_row(event, streams) for event in events],
    )
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


def enqueue_in(
    statement: OneStatement, events: Sequence[CloudEvent[Any]], streams: Streams
) -> None:
    """Add the events' rows, in order, and the relay's wake-up to `statement`: written if, and
    only if, its gate opens."""
    if not events:
        return
    p = statement.params
    rows = ", ".join(
        f"({p(event_id)}::text, {p(subject)}::text, {p(payload)}::bytea, {p(headers)}::jsonb, {n})"
        for n, (event_id, subject, payload, headers) in enumerate(
            (_outbox_row(event, streams) for event in events), 1
        )
    )
    statement.write(
        f"""INSERT INTO outbox (event_id, subject, payload, headers)
            SELECT e.event_id, e.subject, e.payload, e.headers
            FROM (VALUES {rows}) AS e (event_id, subject, payload, headers, n), gate
            ORDER BY e.n"""
    )
    statement.notify(NOTIFY_CHANNEL)


class OutboxRelay:
    """Publishes unpublished outbox rows in order; several replicas share work via SKIP LOCKED.

    Woken by the NOTIFY that `enqueue_many` sends, else polls every `poll_s`. When NATS or
    PostgreSQL is away the rows simply wait; any other error is a bug and escapes to the
    runtime's supervision (logged with its traceback, the relay restarted)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        metrics: Metrics,
        wakeup: Wakeup,
        *,
        batch: int = 200,
        poll_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._js = js
        self._metrics = metrics
        self._wakeup = wakeup
        self._batch = batch
        self._poll_s = poll_s
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        waits = _RELAY_WAITS.delays()
        try:
            while not self._stopping:
                try:
                    published = await self.relay_once()
                    waits = _RELAY_WAITS.delays()
                except NATS_ERRORS as exc:  # the rows wait
                    delay = next(waits)
                    log.warning("outbox_relay_waiting", error=describe(exc), retry_in_s=delay)
                    await self._wakeup.wait(delay)
                    continue
                if published < self._batch:
                    await self._wakeup.wait(self._poll_s)
        finally:
            await self._wakeup.close()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        published: list[int] = []
        failure: BaseException | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_id, subject, payload, headers FROM outbox
                   WHERE published_at IS NULL ORDER BY id LIMIT $1
                   FOR UPDATE SKIP LOCKED""",
                self._batch,
            )
            # pipelined: every row's PUB goes out in order at once, then the acks are awaited,
            # instead of one round trip per row
            with _publish_spans(rows) as headers:
                acks = await asyncio.gather(
                    *(
                        self._js.publish(
                            row["subject"],
                            bytes(row["payload"]),
                            headers={"Nats-Msg-Id": row["event_id"], **row_headers},
                            timeout=5,
                        )
                        for row, row_headers in zip(rows, headers, strict=True)
                    ),
                    return_exceptions=True,
                )
            for row, ack in zip(rows, acks, strict=True):
                if isinstance(ack, BaseException):
                    if not isinstance(ack, NATS_ERRORS):
                        raise ack
                    # marked: the rows before it; the rest go again (a row JetStream did
                    # store is recognised by its Nats-Msg-Id and not stored twice)
                    failure = ack
                    break
                published.append(row["id"])
            if published:
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    published,
                )
        self._metrics.outbox_published.inc(len(published))
        if failure is not None:
            raise failure
        return len(published)


@contextlib.contextmanager
def _publish_spans(rows: Sequence[Any]) -> Iterator[list[dict[str, str]]]:
    """A PRODUCER span per row, the child of the trace its row was written in, ended once its
    ack is in; each row's headers carry its span on (`traceparent`) to the consumers."""
    spans = [
        tracing.start_span(
            f"publish {row['subject']}",
            kind=SpanKind.PRODUCER,
            parent=tracing.extract_headers(row["headers"]),
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "publish",
                "messaging.destination.name": row["subject"],
                "messaging.message.id": row["event_id"],
            },
        )
        for row in rows
    ]
    try:
        yield [tracing.inject(row["headers"], span) for row, span in zip(rows, spans, strict=True)]
    finally:
        for span in spans:
            span.end()
