"""The delivery path's bounds and what makes it fast: requests in flight never exceed the
configured concurrency, a slow receiver holds only its own endpoint's slots, consumer lanes
apply each event once, connections to a receiver are reused (one pool per TLS host name), and
attempts that end together share a commit with the same effects as one by one."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from notifications_fakes import FakeUnitOfWork, claimed, webhook_delivery, webhook_endpoint

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.testing import eventually
from bridges_notifications import attempts, netguard, retry
from bridges_notifications.bootstrap import NotificationsSettings
from bridges_notifications.domain import (
    Attempted,
    AttemptResult,
    BreakerPolicy,
    Endpoint,
    NewDelivery,
)
from bridges_notifications.receiver_connections import ReceiverConnections
from bridges_notifications.recording import AttemptRecorder
from bridges_notifications.transports import WebhookTransport
from bridges_schema import DeliveryChannel, DeliverySucceeded

POLICY = attempts.AttemptPolicy(schedule_s=(1, 2), breaker=BreakerPolicy(failures=3))


async def _watch_holding(receiver: WebhookReceiver, done: asyncio.Event) -> int:
    """The most requests the receiver held at once until `done`."""
    most = 0
    while not done.is_set():
        most = max(most, len(receiver.holding))
        await asyncio.sleep(0.005)
    return most


# -- bounds, over a real service, PostgreSQL, NATS and receivers ----------------------------


async def test_no_more_requests_are_in_flight_than_the_concurrency(start_desk, receiver):
    desk = await start_desk(BRIDGES_DELIVERY_CONCURRENCY="3", BRIDGES_DELIVERY_PER_ENDPOINT="8")
    receiver.answer(*([200] * 12), delay_s=0.3)
    await desk.endpoint(receiver.url)
    done = asyncio.Event()
    watching = asyncio.create_task(_watch_holding(receiver, done))
    events = [await desk.publish() for _ in range(12)]
    await eventually(lambda: len(set(receiver.ids())) == 12, timeout_s=20)
    done.set()
    assert await watching == 3  # the bound is used, and never passed
    assert sorted(set(receiver.ids())) == sorted(e.id for e in events)


async def test_a_slow_receiver_holds_only_its_own_endpoints_slots(start_desk):
    desk = await start_desk(BRIDGES_DELIVERY_CONCURRENCY="4", BRIDGES_DELIVERY_PER_ENDPOINT="2")
    slow, fast = await WebhookReceiver().start(), await WebhookReceiver().start()
    try:
        slow.answer(*([200] * 3), delay_s=5)
        elsewhere = uuid.uuid4()
        await desk.endpoint(slow.url, agency=elsewhere)
        await desk.endpoint(fast.url)
        for _ in range(3):
            await desk.publish(agency=elsewhere)
        await eventually(lambda: len(slow.holding) == 2)  # its bound: the third waits
        fine = [await desk.publish() for _ in range(6)]
        await eventually(lambda: len(fast.requests) == 6, timeout_s=10)
        # all through the two free slots while the slow receiver still sits on its two
        assert (len(slow.holding), len(slow.requests)) == (2, 0)
        assert sorted(fast.ids()) == sorted(e.id for e in fine)
    finally:
        await slow.stop()
        await fast.stop()


async def test_consumer_lanes_apply_each_event_once(start_desk, receiver):
    desk = await start_desk(
        BRIDGES_CONSUMER_LANES="4", BRIDGES_CONSUMER_BATCH="2", BRIDGES_DB_POOL_MAX="8"
    )
    await desk.endpoint(receiver.url)
    events = [await desk.publish() for _ in range(30)]
    await eventually(lambda: len(receiver.requests) >= 30, timeout_s=20)
    counts = await desk.pool.fetch(
        """SELECT count(*) AS deliveries, sum(attempts) AS attempts FROM delivery
           WHERE event_id = ANY($1)""",
        [e.id for e in events],
    )
    assert (counts[0]["deliveries"], counts[0]["attempts"]) == (30, 30)
    assert sorted(receiver.ids()) == sorted(e.id for e in events)  # no second POST either


@pytest.mark.parametrize(
    ("lanes", "pool", "running"), [(4, 10, 4), (8, 10, 6), (4, 5, 1), (4, 2, 1), (1, 50, 1)]
)
def test_consumer_lanes_leave_the_delivery_worker_its_connections(lanes, pool, running):
    settings = NotificationsSettings(consumer_lanes=lanes, db_pool_max=pool)
    assert settings.lanes() == running


# -- connections ----------------------------------------------------------------------------


class _CountingReceiver:
    """A bare HTTP/1.1 server answering 204 to every request, counting connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_deliveries_to_one_receiver_reuse_one_connection():
    server = _CountingReceiver()
    url = await server.start()
    transport = WebhookTransport(2.0, netguard.parse_networks(["127.0.0.0/8"]), 4)
    try:
        results = [await transport.send(webhook_delivery(url)) for _ in range(5)]
    finally:
        await transport.close()
        await server.stop()
    assert [r.status_code for r in results] == [204] * 5
    assert (server.requests, server.connections) == (5, 1)


async def test_each_tls_host_name_gets_a_pool_of_its_own_and_plain_http_shares_one():
    connections = ReceiverConnections(1.0, 4)
    try:
        async with (
            connections.client("a.example.org") as a,
            connections.client(None) as plain,
            connections.client("b.example.org") as b,
            connections.client(None) as plain_again,
        ):
            assert len({id(a), id(b), id(plain)}) == 3
            assert plain_again is plain
        async with connections.client("a.example.org") as a_again:
            assert a_again is a
    finally:
        await connections.close()


# -- recording attempts together ------------------------------------------------------------


AGENCY = uuid.uuid4()


async def _queue(uow: FakeUnitOfWork, count: int) -> tuple[Endpoint, list[NewDelivery]]:
    """One endpoint and `count` deliveries to it, each of a referral event of its own."""
    hook = await uow.endpoints.add(webhook_endpoint(AGENCY))
    planned = [
        NewDelivery(
            id=uuid.uuid4(),
            event_id=str(uuid.uuid4()),
            event_type="org.bridges.referral.requested.v1",
            referral_id=uuid.uuid4(),
            agency_id=AGENCY,
            channel=DeliveryChannel.WEBHOOK,
            target=str(hook.id),
            audience="agency",
            payload=b"{}",
            endpoint_id=hook.id,
        )
        for _ in range(count)
    ]
    await uow.deliveries.add(planned)
    return hook, planned


OK = AttemptResult(200, 3, None)


async def test_attempts_that_end_together_share_one_commit():
    uow = FakeUnitOfWork()
    _, planned = await _queue(uow, 5)
    commits = uow.commits
    recorder = AttemptRecorder(lambda: uow, POLICY, max_group=16)
    outcomes = await asyncio.gather(
        *(recorder.record(Attempted(claimed(p, 1), OK)) for p in planned)
    )
    assert all(isinstance(o, retry.Delivered) for o in outcomes)
    assert uow.commits - commits == 1
    assert len(uow.events_of(DeliverySucceeded)) == 5
    assert {uow.deliveries.rows[p.id].status for p in planned} == {"succeeded"}


async def test_a_group_that_fails_is_recorded_one_by_one_so_only_the_culprit_fails():
    uow = FakeUnitOfWork()
    _, (first, second, vanished) = await _queue(uow, 3)
    del uow.deliveries.rows[vanished.id]  # recording it raises KeyError in the fake
    recorder = AttemptRecorder(lambda: uow, POLICY, max_group=16)
    outcomes = await asyncio.gather(
        *(recorder.record(Attempted(claimed(p, 1), OK)) for p in (first, second, vanished)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], retry.Delivered) and isinstance(outcomes[1], retry.Delivered)
    assert isinstance(outcomes[2], KeyError)
    assert uow.deliveries.rows[second.id].status == "succeeded"


@pytest.mark.parametrize(
    ("codes", "failures"),
    [((503, 200, 503), 1), ((200, 503, 503), 2), ((503, 503, 200), 0)],
)
async def test_attempts_recorded_together_count_for_the_breaker_in_their_order(
    codes: tuple[int, ...], failures: int
) -> None:
    uow = FakeUnitOfWork()
    hook, planned = await _queue(uow, len(codes))
    attempted: list[Any] = [
        Attempted(claimed(p, 1), AttemptResult(code, 3, None if code == 200 else f"HTTP {code}"))
        for p, code in zip(planned, codes, strict=True)
    ]
    await attempts.record_attempts(uow, attempted, POLICY)
    assert uow.endpoints.rows[hook.id].consecutive_failures == failures
    assert len(uow.deliveries.attempt_log) == 3
