"""Events per second from JetStream to an acknowledged webhook (fan-out, delivery row, signed
POST, attempt log, outcome event) with a local receiver, beside a raw baseline in the same run:
nats-py pull consumer + httpx POST + ack, no bookkeeping, same concurrency.

    .venv/bin/python -m bench.notify [--events 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
from nats.js.api import StreamConfig

from bench import harness
from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port
from bridges_schema import (
    DEFAULT_NAMESPACE,
    REFERRAL_REQUESTED,
    ReferralRequested,
    Role,
    Urgency,
    new_event,
)

CONCURRENCY = 16


def _event(agency: uuid.UUID) -> Any:
    now, referral_id = datetime.now(UTC), uuid.uuid4()
    return new_event(
        REFERRAL_REQUESTED,
        ReferralRequested(
            referral_id=referral_id,
            case_id=uuid.uuid4(),
            program_id=uuid.uuid4(),
            agency_id=agency,
            urgency=Urgency.ROUTINE,
            need_codes=("food.pantry",),
            officer_id="bench",
            version=1,
            requested_at=now,
            respond_by=now + timedelta(days=3),
        ),
        source="/bridges/referrals",
        subject=str(referral_id),
    )


async def _until(receiver: WebhookReceiver, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(receiver.requests) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(receiver.requests)} of {count} arrived")
        await asyncio.sleep(0.05)


def _figures(label: str, receiver: WebhookReceiver, started: float, sent: dict[str, float]) -> Any:
    latencies = [(r.at - sent[r.headers["webhook-id"]]) * 1000 for r in receiver.requests]
    seconds = max(r.at for r in receiver.requests) - started
    return harness.Figures(label, len(receiver.requests), seconds, latencies)


async def bridges(infra: harness.Infra, url: str, events: int) -> harness.Figures:
    receiver = await WebhookReceiver().start()
    agency = uuid.uuid4()
    try:
        async with httpx.AsyncClient(base_url=url) as c:
            created = await c.post(
                f"/agencies/{agency}/endpoints",
                json={"url": receiver.url},
                headers={"Authorization": f"Bearer {infra.token(Role.ADMIN)}"},
            )
            created.raise_for_status()
        bus = await nats.connect(infra.nats.url)
        js = bus.jetstream()
        batch = [_event(agency) for _ in range(events)]
        sent: dict[str, float] = {}
        started = time.monotonic()
        for event in batch:
            sent[event.id] = time.monotonic()
            await js.publish(
                REFERRAL_REQUESTED.subject(DEFAULT_NAMESPACE),
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": event.id},
            )
        await _until(receiver, events, 300)
        await bus.close()
        return _figures("Bridges: JetStream -> signed webhook", receiver, started, sent)
    finally:
        await receiver.stop()


async def raw(infra: harness.Infra, events: int) -> harness.Figures:
    receiver = await WebhookReceiver().start()
    bus = await nats.connect(infra.nats.url)
    js = bus.jetstream()
    await js.add_stream(StreamConfig(name="BENCH_RAW", subjects=["bench.raw.>"]))
    agency = uuid.uuid4()
    try:
        payloads = [_event(agency) for _ in range(events)]
        sent: dict[str, float] = {}
        started = time.monotonic()
        for event in payloads:
            sent[event.id] = time.monotonic()
            await js.publish("bench.raw.requested", event.model_dump_json().encode())
        subscription = await js.pull_subscribe("bench.raw.>", durable="bench-raw")
        async with httpx.AsyncClient(timeout=5) as client:
            done = 0
            while done < events:
                messages = await subscription.fetch(CONCURRENCY, timeout=5)

                async def post(message: Any) -> None:
                    event_id = message.data.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
                    await client.post(
                        receiver.url, content=message.data, headers={"webhook-id": event_id}
                    )
                    await message.ack()

                await asyncio.gather(*(post(m) for m in messages))
                done += len(messages)
        await _until(receiver, events, 60)
        return _figures("raw: pull + POST + ack", receiver, started, sent)
    finally:
        await bus.close()
        await receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with harness.infrastructure() as infra:
        port = free_port()
        env = infra.service_env(
            infra.database("bench_notifications"),
            port,
            BRIDGES_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
            BRIDGES_DELIVERY_CONCURRENCY=str(CONCURRENCY),
            BRIDGES_DELIVERY_PER_ENDPOINT=str(CONCURRENCY),
        )
        with harness.service(infra, "bridges_notifications", env, port) as url:
            measured = asyncio.run(bridges(infra, url, args.events))
        baseline = asyncio.run(raw(infra, args.events))
    rows = [measured, baseline]
    extra = {
        "events": args.events,
        "concurrency": CONCURRENCY,
        "bridges_vs_raw_throughput": round(measured.per_second / baseline.per_second, 2),
        "note": "latency = publish to arrival at the receiver",
    }
    result = harness.report("Notifications: events to acknowledged webhooks", rows, extra)
    for key, value in result.items():
        if key not in {"title", "rows"}:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
