"""The kit's delivery guarantees over a real PostgreSQL and nats-server: the outbox publishes each
event once, consumers apply each event once, and poison messages are parked, not lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.js.errors import NotFoundError

from bridges_devstack.testing import Infra, eventually, fresh_name
from bridges_kit import bus, db
from bridges_kit.consumer import Consumer, Subscription
from bridges_kit.metrics import Metrics
from bridges_kit.outbox import OutboxRelay, enqueue
from bridges_schema import SERVICE_UPSERTED, CapacityStatus, ServiceUpserted, Streams, new_event
from bridges_schema.subjects import Domain

NO_SERVICE_MIGRATIONS = Path(__file__).parent / "no_migrations"


@pytest.fixture
async def kit(infra: Infra) -> AsyncIterator[dict[str, Any]]:
    schema = fresh_name()
    dsn = infra.postgres_url("directory")
    NO_SERVICE_MIGRATIONS.mkdir(exist_ok=True)
    await db.migrate(dsn, schema, db.load_migrations(NO_SERVICE_MIGRATIONS))
    pool = await db.create_pool(dsn, schema, 1, 4)
    await pool.execute("CREATE TABLE applied (event_id text, service_id uuid)")
    nc = await bus.connect(infra.nats_url, "kit-test")
    js = nc.jetstream()
    streams = Streams(fresh_name())
    await bus.ensure_streams(js, streams)
    yield {"pool": pool, "js": js, "streams": streams, "metrics": Metrics("kit-test")}
    await nc.close()
    await pool.close()


def _event() -> Any:
    return new_event(
        SERVICE_UPSERTED,
        ServiceUpserted(
            service_id=uuid.uuid4(),
            version=1,
            organization_id=uuid.uuid4(),
            organization_name="Org",
            agency_id=None,
            name="Pantry",
            status="active",
            accepting_referrals=True,
            capacity_status=CapacityStatus.AVAILABLE,
            modified_at=datetime.now(UTC),
        ),
        source="/test",
    )


async def _run(worker: Any) -> asyncio.Task[None]:
    return asyncio.create_task(worker.run())


async def _stop(worker: Any, task: asyncio.Task[None]) -> None:
    worker.stop()
    await asyncio.wait_for(task, 10)


async def test_outbox_event_is_applied_exactly_once_even_when_published_twice(kit):
    pool: asyncpg.Pool = kit["pool"]
    event = _event()

    async def apply(ev: Any, conn: asyncpg.Connection) -> None:
        await conn.execute("INSERT INTO applied VALUES ($1, $2)", ev.id, ev.data.service_id)

    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, event, kit["streams"])
    relay = OutboxRelay(pool, kit["js"], kit["metrics"], poll_s=0.1)
    assert await relay.relay_once() == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    # a crash between publish and mark would republish: JetStream drops the duplicate by id,
    # and even a raw second copy is absorbed by the consumer's processed-event table
    await pool.execute("UPDATE outbox SET published_at = NULL")
    assert await relay.relay_once() == 1
    await kit["js"].publish(
        SERVICE_UPSERTED.subject(kit["streams"].namespace), event.model_dump_json().encode()
    )
    consumer = Consumer(
        pool,
        kit["js"],
        kit["streams"],
        Subscription("apply", Domain.DIRECTORY, {SERVICE_UPSERTED: apply}),
        kit["metrics"],
    )
    task = await _run(consumer)

    async def handled_twice() -> bool:
        try:
            info = await kit["js"].consumer_info(
                kit["streams"].stream(Domain.DIRECTORY).name, consumer.name
            )
        except NotFoundError:
            return False  # not subscribed yet
        return info.num_ack_pending == 0 and info.delivered.stream_seq >= 2

    await eventually(handled_twice)
    await _stop(consumer, task)
    assert await pool.fetchval("SELECT count(*) FROM applied") == 1


async def test_poison_message_is_dead_lettered_after_bounded_attempts(kit):
    pool: asyncpg.Pool = kit["pool"]
    calls = 0

    async def explode(ev: Any, conn: asyncpg.Connection) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bug in handler")

    consumer = Consumer(
        pool,
        kit["js"],
        kit["streams"],
        Subscription("poison", Domain.DIRECTORY, {SERVICE_UPSERTED: explode}),
        kit["metrics"],
        max_attempts=3,
    )
    event = _event()
    subject = SERVICE_UPSERTED.subject(kit["streams"].namespace)
    await kit["js"].publish(subject, event.model_dump_json().encode())
    await kit["js"].publish(subject, b"{not json")
    task = await _run(consumer)

    async def parked() -> bool:
        return await pool.fetchval("SELECT count(*) FROM dead_letters") == 2

    await eventually(parked, timeout_s=20)
    await _stop(consumer, task)
    assert calls == 3
    rows = {
        r["event_id"]: r
        for r in await pool.fetch("SELECT event_id, deliveries, error FROM dead_letters")
    }
    assert rows[event.id]["deliveries"] == 3  # the handler's bug: retried, then parked
    assert "unparseable" in rows[None]["error"]  # garbage: parked at once
    assert rows[None]["deliveries"] == 1
    dl = await kit["js"].stream_info(kit["streams"].stream(Domain.DEAD_LETTER).name)
    assert dl.state.messages == 2


async def test_transient_failures_are_retried_without_dead_lettering(kit):
    pool: asyncpg.Pool = kit["pool"]
    calls = 0

    async def flaky(ev: Any, conn: asyncpg.Connection) -> None:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise ConnectionError("database restarting")
        await conn.execute("INSERT INTO applied VALUES ($1, $2)", ev.id, ev.data.service_id)

    consumer = Consumer(
        pool,
        kit["js"],
        kit["streams"],
        Subscription("flaky", Domain.DIRECTORY, {SERVICE_UPSERTED: flaky}),
        kit["metrics"],
        max_attempts=2,
    )
    await kit["js"].publish(
        SERVICE_UPSERTED.subject(kit["streams"].namespace), _event().model_dump_json().encode()
    )
    task = await _run(consumer)

    async def applied() -> bool:
        return await pool.fetchval("SELECT count(*) FROM applied") == 1

    await eventually(applied, timeout_s=30)
    await _stop(consumer, task)
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 0
