"""The kit's delivery guarantees over a real PostgreSQL and nats-server: the outbox publishes each
event once, consumers apply each event once, an outage is waited out without using up a
message's deliveries, faults of the work are retried a bounded number of times and parked, and
parked events can be replayed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.js.errors import NotFoundError

from bridges_devstack.samples import service_upserted
from bridges_devstack.testing import Infra, eventually, fresh_name
from bridges_kit import bus, db, dead_letters
from bridges_kit.consumer import Consumer, ConsumerPolicy, Dispatcher, Subscription, on
from bridges_kit.metrics import Metrics
from bridges_kit.outbox import NOTIFY_CHANNEL, OutboxRelay, enqueue_many
from bridges_kit.pruning import Pruner
from bridges_kit.sql_uow import PostgresUnitOfWork
from bridges_kit.wakeup import Wakeup
from bridges_schema import (
    SERVICE_UPSERTED,
    CloudEvent,
    ServiceUpserted,
    Streams,
)
from bridges_schema.subjects import Domain

NO_SERVICE_MIGRATIONS = Path(__file__).parent / "no_migrations"


class BareUnitOfWork(PostgresUnitOfWork):
    """The kit's unit of work with no repositories: handlers use its connection."""

    def _bind(self, conn: asyncpg.Connection) -> None:
        pass


Handler = Callable[[CloudEvent[ServiceUpserted], BareUnitOfWork], Awaitable[None]]


class Kit:
    def __init__(self, infra: Infra, pool: asyncpg.Pool, js: Any, streams: Streams) -> None:
        self.infra, self.pool, self.js, self.streams = infra, pool, js, streams
        self.metrics = Metrics("kit-test")
        self.schema = ""

    def uow(self) -> BareUnitOfWork:
        return BareUnitOfWork(self.pool, self.streams)

    def dispatcher(self, durable: str, handler: Handler) -> Dispatcher[BareUnitOfWork]:
        subscription = Subscription(durable, Domain.DIRECTORY, (on(ServiceUpserted, handler),))
        return Dispatcher(subscription, self.uow)

    def consumer(self, durable: str, handler: Handler, **policy: Any) -> Consumer[BareUnitOfWork]:
        return Consumer(
            self.pool,
            self.js,
            self.streams,
            self.dispatcher(durable, handler),
            self.metrics,
            ConsumerPolicy(**policy),
        )

    async def publish(self, payload: bytes) -> None:
        await self.js.publish(SERVICE_UPSERTED.subject(self.streams.namespace), payload)

    async def consumer_info(self, consumer: Consumer[Any]) -> Any:
        try:
            return await self.js.consumer_info(
                self.streams.stream(Domain.DIRECTORY).name, consumer.name
            )
        except NotFoundError:
            return None

    async def applied(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM applied"))

    async def parked(self) -> list[asyncpg.Record]:
        return list(await self.pool.fetch("SELECT * FROM dead_letters ORDER BY id"))


@pytest.fixture
async def kit(infra: Infra) -> AsyncIterator[Kit]:
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
    kit = Kit(infra, pool, js, streams)
    kit.schema = schema
    yield kit
    await nc.close()
    await pool.close()


def _event() -> CloudEvent[ServiceUpserted]:
    return service_upserted(agency_id=None)


async def apply(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
    await uow.connection.execute(
        "INSERT INTO applied VALUES ($1, $2)", event.id, event.data.service_id
    )


class Running:
    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.task = asyncio.create_task(worker.run())

    async def stop(self) -> None:
        self.worker.stop()
        await asyncio.wait_for(self.task, 15)


async def test_outbox_event_is_applied_exactly_once_even_when_published_twice(kit):
    event = _event()
    async with kit.pool.acquire() as conn, conn.transaction():
        await enqueue_many(conn, [event], kit.streams)
    relay = OutboxRelay(kit.pool, kit.js, kit.metrics, Wakeup(lambda: None, NOTIFY_CHANNEL))  # type: ignore[arg-type,return-value]
    assert await relay.relay_once() == 1
    assert await kit.pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    # a crash between publish and mark would republish: JetStream drops the duplicate by id,
    # and even a raw second copy is absorbed by the consumer's processed-event table
    await kit.pool.execute("UPDATE outbox SET published_at = NULL")
    assert await relay.relay_once() == 1
    await kit.publish(event.model_dump_json().encode())
    consumer = Running(kit.consumer("apply", apply))

    async def handled_twice() -> bool:
        info = await kit.consumer_info(consumer.worker)
        return info is not None and info.num_ack_pending == 0 and info.delivered.stream_seq >= 2

    await eventually(handled_twice)
    await consumer.stop()
    assert await kit.applied() == 1


async def test_a_bug_in_the_handler_is_retried_a_bounded_number_of_times_then_parked(kit):
    calls = 0

    async def explode(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bug in handler")

    event = _event()
    await kit.publish(event.model_dump_json().encode())
    await kit.publish(b"{not json")
    consumer = Running(kit.consumer("poison", explode, max_attempts=3, max_deliver=6))

    async def parked() -> bool:
        return len(await kit.parked()) == 2

    await eventually(parked, timeout_s=20)
    await consumer.stop()
    assert calls == 3
    rows = {r["event_id"]: r for r in await kit.parked()}
    assert rows[event.id]["deliveries"] == 3  # the handler's bug: retried, then parked
    assert "bug in handler" in rows[event.id]["error"]
    assert rows[None]["error"].startswith("not JSON")  # garbage: parked at once
    assert rows[None]["deliveries"] == 1
    dl = await kit.js.stream_info(kit.streams.stream(Domain.DEAD_LETTER).name)
    assert dl.state.messages == 2


async def test_a_local_error_that_looks_like_an_outage_is_not_retried_forever(kit):
    """The database answers, yet the handler keeps failing with an OSError: that is the work's
    fault (e.g. a file it cannot write), so it is parked after the bounded attempts."""
    calls = 0

    async def disk_full(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("a local socket the handler needs is refused")

    await kit.publish(_event().model_dump_json().encode())
    consumer = Running(kit.consumer("local", disk_full, max_attempts=2, max_deliver=5))

    async def parked() -> bool:
        return len(await kit.parked()) == 1

    await eventually(parked, timeout_s=20)
    await consumer.stop()
    assert calls == 2


async def test_an_outage_is_waited_out_without_using_up_deliveries(kit, monkeypatch):
    database_away = True
    calls = 0

    async def flaky(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        if database_away:
            raise ConnectionResetError("database restarting")
        await apply(event, uow)

    consumer = kit.consumer("outage", flaky, max_attempts=2, max_deliver=3, ack_wait_s=1.0)

    async def answers() -> bool:
        return not database_away

    monkeypatch.setattr(consumer, "_database_answers", answers)
    await kit.publish(_event().model_dump_json().encode())
    running = Running(consumer)

    async def several_tries() -> bool:
        return calls >= 4  # more tries than max_attempts and max_deliver allow for faults

    await eventually(several_tries, timeout_s=20)
    await asyncio.sleep(1.5)  # past the ack wait: the held message's lease was kept
    database_away = False

    async def applied() -> bool:
        return await kit.applied() == 1

    await eventually(applied, timeout_s=20)
    info = await kit.consumer_info(running.worker)
    await running.stop()
    assert await kit.parked() == []
    assert info.num_redelivered == 0  # held, never redelivered


async def test_a_long_handler_keeps_its_message_with_in_progress(kit):
    calls = 0

    async def slow(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(2.5)
        await apply(event, uow)

    consumer = Running(kit.consumer("slow", slow, ack_wait_s=1.0))
    await kit.publish(_event().model_dump_json().encode())

    async def applied() -> bool:
        return await kit.applied() == 1

    await eventually(applied, timeout_s=20)
    info = await kit.consumer_info(consumer.worker)
    await consumer.stop()
    assert calls == 1 and info.num_redelivered == 0


async def test_stopping_hands_back_the_unhandled_batch_at_once(kit):
    release = asyncio.Event()

    async def gated(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        await release.wait()
        await apply(event, uow)

    for _ in range(5):
        await kit.publish(_event().model_dump_json().encode())
    first = Running(kit.consumer("handback", gated, ack_wait_s=60.0, batch=5))

    async def holding() -> bool:
        info = await kit.consumer_info(first.worker)
        return info is not None and info.num_ack_pending == 5

    await eventually(holding)
    first.worker.stop()
    release.set()
    await asyncio.wait_for(first.task, 10)
    assert await kit.applied() == 1  # the message in hand was finished
    second = Running(kit.consumer("handback", apply, ack_wait_s=60.0))

    async def all_applied() -> bool:
        return await kit.applied() == 5

    # the other four come back at once (nak), not after the 60 s ack wait
    await eventually(all_applied, timeout_s=10)
    await second.stop()


async def test_a_message_delivered_max_deliver_times_unsettled_is_parked(kit):
    consumer = kit.consumer("crashy", apply, max_attempts=2, max_deliver=3, ack_wait_s=1.0)
    await kit.publish(_event().model_dump_json().encode())
    psub = await consumer._subscribe()  # a consumer that dies before settling, twice
    for _ in range(2):
        [unsettled] = await psub.fetch(1, timeout=5)
        assert unsettled.metadata.num_delivered in (1, 2)
        await asyncio.sleep(1.2)
    await psub.unsubscribe()
    running = Running(consumer)

    async def parked() -> bool:
        return len(await kit.parked()) == 1

    await eventually(parked, timeout_s=20)
    await running.stop()
    [letter] = await kit.parked()
    assert "3 times" in letter["error"] and await kit.applied() == 0


async def test_a_parked_event_is_replayed_once_after_the_fix(kit):
    fixed = False

    async def buggy(event: CloudEvent[ServiceUpserted], uow: BareUnitOfWork) -> None:
        if not fixed:
            raise KeyError("a bug")
        await apply(event, uow)

    consumer = Running(kit.consumer("replay", buggy, max_attempts=1, max_deliver=3))
    await kit.publish(_event().model_dump_json().encode())
    await kit.publish(b"garbage")

    async def parked() -> bool:
        return len(await kit.parked()) == 2

    await eventually(parked, timeout_s=20)
    await consumer.stop()
    letters = await dead_letters.list_letters(kit.pool, consumer="replay", replayed=False)
    event_letter = next(x for x in letters if x.event_id is not None)
    garbage = next(x for x in letters if x.event_id is None)
    dispatchers = [kit.dispatcher("replay", buggy)]
    with pytest.raises(dead_letters.ReplayFailed):
        await dead_letters.replay(kit.pool, dispatchers, event_letter.id)
    fixed = True
    replayed = await dead_letters.replay(kit.pool, dispatchers, event_letter.id)
    again = await dead_letters.replay(kit.pool, dispatchers, event_letter.id)
    assert replayed.replayed_at is not None and again.replayed_at == replayed.replayed_at
    assert await kit.applied() == 1
    with pytest.raises(dead_letters.NotReplayable):
        await dead_letters.replay(kit.pool, dispatchers, garbage.id)
    with pytest.raises(dead_letters.DeadLetterNotFound):
        await dead_letters.replay(kit.pool, dispatchers, 10**12)


async def test_pruning_removes_old_bookkeeping_only(kit):
    for age_days in (10, 1):
        event = _event()
        async with kit.pool.acquire() as conn, conn.transaction():
            await enqueue_many(conn, [event], kit.streams)
            await conn.execute(
                "INSERT INTO processed_events (consumer, event_id, processed_at) "
                "VALUES ('c', $1, now() - make_interval(days => $2))",
                event.id,
                age_days,
            )
        await kit.pool.execute(
            "UPDATE outbox SET published_at = now() - make_interval(days => $2) "
            "WHERE event_id = $1",
            event.id,
            age_days,
        )
    await kit.pool.execute(
        "UPDATE outbox SET published_at = NULL WHERE id = (SELECT min(id) FROM outbox)"
    )
    pruner = Pruner(
        kit.pool,
        keep_published=timedelta(days=3),
        keep_processed=timedelta(days=3),
        interval_s=3600,
        batch=1,
    )
    assert await pruner.tick() == 1  # the old processed record; the old row is unpublished
    assert await kit.pool.fetchval("SELECT count(*) FROM outbox") == 2
    assert await kit.pool.fetchval("SELECT count(*) FROM processed_events") == 1


async def test_the_relay_listens_again_after_its_connection_is_killed(kit):
    dsn = kit.infra.postgres_url("directory")
    wakeup = Wakeup(lambda: db.connect(dsn, kit.schema), NOTIFY_CHANNEL)
    relay = Running(OutboxRelay(kit.pool, kit.js, kit.metrics, wakeup, poll_s=30.0))

    async def enqueue_one() -> str:
        event = _event()
        async with kit.pool.acquire() as conn, conn.transaction():
            await enqueue_many(conn, [event], kit.streams)
        return event.id

    async def all_published() -> bool:
        left = await kit.pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return left == 0

    await enqueue_one()
    await eventually(all_published, timeout_s=10)  # woken by NOTIFY, not the 30 s poll
    killed = await kit.pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
    )
    assert killed >= 1
    await enqueue_one()
    await eventually(all_published, timeout_s=10)
    await enqueue_one()
    await eventually(all_published, timeout_s=10)
    assert not relay.task.done()  # no crash
    await relay.stop()
