"""Killing the notifications process mid-delivery loses nothing: after a restart every event is
delivered, and the receiver sees each webhook-id no more often than it was attempted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import nats

from bridges_devstack.servers import free_port
from bridges_devstack.testing import eventually
from bridges_kit.bus import ensure_streams
from bridges_notifications.bootstrap import NotificationsSettings
from bridges_schema import ReferralStatus, Role, Streams, event_spec
from bridges_schema.subjects import Domain

EVENTS = 6


@contextmanager
def notifications_process(env: dict[str, str]):
    child = subprocess.Popen(
        [sys.executable, "-m", "bridges_notifications", "serve"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(10)


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as c:
            return (await c.get(f"{url}/readyz", timeout=1)).status_code == 200
    except httpx.HTTPError:
        return False


async def _endpoint_and_events(
    infra: Any, url: str, receiver: Any, bus: Any, namespace: str, make_event: Any
) -> list[Any]:
    """Once the process at `url` is ready: an agency's endpoint at `receiver`, and EVENTS
    referral events for it on the bus."""
    await eventually(lambda: _ready(url), timeout_s=30)
    agency = uuid.uuid4()
    async with httpx.AsyncClient(base_url=url) as c:
        created = await c.post(
            f"/agencies/{agency}/endpoints",
            json={"url": receiver.url},
            headers={"Authorization": f"Bearer {infra.token(Role.ADMIN)}"},
        )
    assert created.status_code == 201, created.text
    events = [make_event(agency, "badge-1", ReferralStatus.REQUESTED) for _ in range(EVENTS)]
    # the referrals service declares its stream at start (notifications only reads it)
    await ensure_streams(bus.jetstream(), Streams(namespace), domains=[Domain.REFERRAL])
    for event in events:
        await bus.jetstream().publish(
            event_spec(event).subject(namespace),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )
    return events


async def test_kill_mid_delivery_then_restart_delivers_everything(
    infra, isolation, receiver, make_event
):
    schema, namespace = isolation
    port = free_port()
    env = {
        **infra.env("notifications", schema, namespace),
        "BRIDGES_HTTP_PORT": str(port),
        "BRIDGES_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.3, 0.4, 0.5]",
        "BRIDGES_WEBHOOK_TIMEOUT_S": "3",
        "BRIDGES_DELIVERY_LEASE_S": "1",
        "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    }
    url = f"http://127.0.0.1:{port}"
    receiver.answer(*([200] * EVENTS), delay_s=1.5)  # slow answers: the kill lands mid-request
    db = await asyncpg.connect(infra.postgres_url("notifications"))
    await db.execute(f'SET search_path = "{schema}", public')
    bus = await nats.connect(infra.nats_url)
    try:
        with notifications_process(env) as first:
            events = await _endpoint_and_events(infra, url, receiver, bus, namespace, make_event)

            async def in_flight() -> bool:
                return bool(
                    await db.fetchval("SELECT count(*) FROM delivery WHERE lease_until > now()")
                )

            await eventually(in_flight, timeout_s=20)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        unfinished = await db.fetchval("SELECT count(*) FROM delivery WHERE status <> 'succeeded'")
        assert unfinished > 0  # the kill really interrupted work
        with notifications_process(env):

            async def all_delivered() -> bool:
                done = await db.fetchval("SELECT count(*) FROM delivery WHERE status = 'succeeded'")
                return done == EVENTS

            await eventually(all_delivered, timeout_s=60)
        seen = Counter(receiver.ids())
        assert set(seen) == {e.id for e in events}
        attempts = {
            r["event_id"]: r["attempts"]
            for r in await db.fetch("SELECT event_id, attempts FROM delivery")
        }
        for event_id, count in seen.items():
            assert count <= attempts[event_id], (event_id, count, attempts[event_id])
    finally:
        await bus.close()
        await db.close()


async def test_a_killed_replicas_webhooks_go_out_within_15_s_with_the_default_leases(
    infra, isolation, receiver, make_event, start_desk
):
    """Another replica is alive when one is killed mid-delivery: the dead one's leases, short
    and no longer renewed, run out and the live one sends its webhooks (default lease)."""
    schema, namespace = isolation
    port = free_port()
    env = {
        **infra.env("notifications", schema, namespace),
        "BRIDGES_HTTP_PORT": str(port),
        "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        # its requests stay open while the second replica starts: the kill lands mid-request
        "BRIDGES_WEBHOOK_TIMEOUT_S": "30",
    }
    url = f"http://127.0.0.1:{port}"
    # as many as it sends at once, answered only after the kill
    held = NotificationsSettings.model_fields["delivery_per_endpoint"].default
    receiver.answer(*([200] * held), delay_s=60)
    bus = await nats.connect(infra.nats_url)
    try:
        with notifications_process(env) as doomed:
            events = await _endpoint_and_events(infra, url, receiver, bus, namespace, make_event)

            async def all_held() -> bool:
                return len(receiver.holding) == held

            await eventually(all_held, timeout_s=20)
            await start_desk()  # the replica that stays alive (default leases)
            doomed.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            doomed.wait(10)

        async def all_delivered() -> bool:
            return {r.headers.get("webhook-id") for r in receiver.requests} == {
                e.id for e in events
            }

        await eventually(all_delivered, timeout_s=40)
    finally:
        await bus.close()
    taken_up = max(r.at for r in receiver.requests) - killed_at
    assert taken_up <= 15, f"the dead replica's webhooks went out {taken_up:.1f} s after the kill"
