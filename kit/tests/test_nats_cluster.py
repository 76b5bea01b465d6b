"""A three-node JetStream cluster on loopback (issue 11): the streams are declared with three
copies through the servers' comma-separated URL, and a publisher that retries as the outbox relay
does loses nothing and stores nothing twice while the stream leader's node is killed (SIGKILL);
the node comes back by itself and catches up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from bridges_devstack.servers import EmbeddedNatsCluster
from bridges_devstack.testing import fresh_name
from bridges_kit import bus
from bridges_kit.faults import NATS_ERRORS
from bridges_schema import Streams
from bridges_schema.subjects import Domain

pytestmark = pytest.mark.integration  # starts its own three-node cluster

T = TypeVar("T")
MESSAGES = 150
KILL_AT = 50


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNatsCluster]:
    running = EmbeddedNatsCluster(Path(tmp_path_factory.mktemp("nats-cluster")), size=3)
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt` until it succeeds, as the relay and the consumers wait out a cluster electing
    new leaders (bounded: 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await attempt()
        except NATS_ERRORS:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _publish_until_stored(js: nats.js.JetStreamContext, subject: str, n: int) -> None:
    """Publish message `n` with its id until the cluster acknowledges it."""
    headers = {"Nats-Msg-Id": f"id-{n}"}
    await _retrying(lambda: js.publish(subject, f"event {n}".encode(), headers=headers))


async def test_killing_the_stream_leaders_node_loses_nothing_and_it_rejoins(
    cluster: EmbeddedNatsCluster,
) -> None:
    streams = Streams(fresh_name())
    stream = streams.stream(Domain.REFERRAL).name
    subject = streams.subject(Domain.REFERRAL, 1, "filed")
    nc = await bus.connect(cluster.url, "cluster-test", timeout_s=10)
    try:
        js = nc.jetstream(timeout=3)
        await bus.ensure_streams(js, streams, replicas=3)
        info = await js.stream_info(stream)
        assert info.config.num_replicas == 3 and info.cluster is not None
        leader = cluster.node(str(info.cluster.leader))
        for n in range(MESSAGES):
            if n == KILL_AT:
                leader.kill()  # mid-stream, as a crash
            await _publish_until_stored(js, subject, n)
            if n == KILL_AT:  # a publish the old leader may have stored, sent again
                await _publish_until_stored(js, subject, n - 1)

        after = await _retrying(lambda: js.stream_info(stream))
        assert after.cluster is not None and after.cluster.leader != leader.name
        assert after.state.messages == MESSAGES  # none lost, none twice (Nats-Msg-Id)
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT)
        consumer = await _retrying(
            lambda: js.pull_subscribe(subject, "check", stream=stream, config=config)
        )
        seen: list[str] = []
        while len(seen) < MESSAGES:
            for message in await _retrying(lambda: consumer.fetch(50, timeout=5)):
                seen.append(message.data.decode())
                await message.ack()
        assert sorted(seen) == sorted(f"event {n}" for n in range(MESSAGES))

        leader.start()  # the supervisor's restart: same ports, same store
        cluster.wait_healthy()
        deadline = time.monotonic() + 30
        while True:  # it catches up as a follower
            now = await _retrying(lambda: js.stream_info(stream))
            replicas = now.cluster.replicas or []  # type: ignore[union-attr]
            back = next((r for r in replicas if r.name == leader.name), None)
            if back is not None and back.current:
                break
            assert time.monotonic() < deadline, f"{leader.name} did not catch up: {replicas}"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
