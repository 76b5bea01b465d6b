"""Events per second from JetStream to an acknowledged webhook (fan-out, delivery row, signed
POST, attempt log, outcome event) with a local receiver, beside a raw baseline in the same run:
nats-py pull consumer + httpx POST + ack, no bookkeeping, same concurrency.

The receiver runs in a process of its own for both, so neither sender shares a CPU with it (the
raw loop once ran beside it in this process, which slowed the baseline, not Bridges). Each row
also gives the CPU time per event of the sending process and of the receiver: a receiver near a
whole core per event rate would be the limit, not the sender.

Bridges and the raw loop alternate `--rounds` times against the same servers, both with
CONCURRENCY POSTs in flight; the table shows the median round of each, and the ratio is the
median of the per-round ratios.

    .venv/bin/python -m bench.notify [--events 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from asyncio.subprocess import PIPE
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats
import psutil
from nats.js.api import StreamConfig

from bench import harness
from bench.figures import child_running, cpu_s, median_ratio, paired_ratios
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

CONCURRENCY = 16  # POSTs in flight: the service's BRIDGES_DELIVERY_CONCURRENCY, and the raw loop's
PULL_BATCH = 32  # as each of the service's consumer lanes pulls
_POOL = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)


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


class ReceiverProcess:
    """The webhook receiver as a child process, reporting `<webhook-id> <time>` per request
    (time.monotonic: CLOCK_MONOTONIC, the same clock in every process of the machine)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # first arrival of each webhook-id
        self.requests = 0  # duplicates included
        self._child: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bridges"

    async def start(self) -> ReceiverProcess:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.notify", "--receiver", str(self.port), stdout=PIPE
        )
        assert self._child.stdout is not None
        if (await self._child.stdout.readline()).strip() != b"ready":
            raise RuntimeError("the receiver did not start")
        self._reader = asyncio.create_task(self._read(self._child.stdout))
        return self

    async def _read(self, out: asyncio.StreamReader) -> None:
        async for line in out:
            webhook_id, at = line.split()
            self.arrivals.setdefault(webhook_id.decode(), float(at))
            self.requests += 1

    @property
    def pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    async def stop(self) -> None:
        if self._child is not None:
            self._child.terminate()
            await self._child.wait()
        if self._reader is not None:
            await self._reader


async def _serve_receiver(port: int) -> None:
    receiver = await WebhookReceiver(port=port).start()
    print("ready", flush=True)
    told = 0
    while True:  # until terminated
        await asyncio.sleep(0.02)
        fresh, told = receiver.requests[told:], len(receiver.requests)
        if fresh:
            sys.stdout.write("".join(f"{r.headers['webhook-id']} {r.at}\n" for r in fresh))
            sys.stdout.flush()


@dataclass
class Run:
    figures: harness.Figures
    sender_cpu_ms: float | None  # per event: the process that pulls, POSTs and acks
    receiver_cpu_ms: float | None
    duplicates: int


class CpuMeter:
    def __init__(self, pid: int | None) -> None:
        self._process = None if pid is None else psutil.Process(pid)
        self._start = None if self._process is None else cpu_s(self._process)

    def per_event_ms(self, events: int) -> float | None:
        if self._process is None or self._start is None:
            return None
        return round((cpu_s(self._process) - self._start) * 1000 / events, 2)


async def _until(receiver: ReceiverProcess, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(receiver.arrivals) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(receiver.arrivals)} of {count} arrived")
        await asyncio.sleep(0.05)


def _figures(
    label: str, receiver: ReceiverProcess, started: float, sent: dict[str, float]
) -> harness.Figures:
    latencies = [(at - sent[webhook_id]) * 1000 for webhook_id, at in receiver.arrivals.items()]
    seconds = max(receiver.arrivals.values()) - started
    return harness.Figures(label, len(receiver.arrivals), seconds, latencies)


async def bridges(infra: harness.Infra, url: str, events: int) -> Run:
    receiver = await ReceiverProcess().start()
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
        service = CpuMeter(child_running("bridges_notifications").pid)
        receiving = CpuMeter(receiver.pid)
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
        figures = _figures("Bridges: JetStream -> signed webhook", receiver, started, sent)
        return Run(
            figures,
            service.per_event_ms(events),
            receiving.per_event_ms(events),
            receiver.requests - len(receiver.arrivals),
        )
    finally:
        await receiver.stop()


async def raw(infra: harness.Infra, events: int, round_: int = 0) -> Run:
    receiver = await ReceiverProcess().start()
    bus = await nats.connect(infra.nats.url)
    js = bus.jetstream()
    subjects = f"bench.raw{round_}.>"
    await js.add_stream(StreamConfig(name=f"BENCH_RAW{round_}", subjects=[subjects]))
    agency = uuid.uuid4()
    try:
        payloads = [_event(agency) for _ in range(events)]
        sent: dict[str, float] = {}
        receiving = CpuMeter(receiver.pid)
        started = time.monotonic()
        for event in payloads:
            sent[event.id] = time.monotonic()
            await js.publish(f"bench.raw{round_}.requested", event.model_dump_json().encode())
        sender = CpuMeter(os.getpid())  # as for Bridges: publishing is not the sender's work
        subscription = await js.pull_subscribe(subjects, durable=f"bench-raw{round_}")
        # as the service: batches pulled ahead, CONCURRENCY POSTs in flight at every moment
        # (not a batch at a time, which would wait for each batch's slowest POST)
        pulled: asyncio.Queue[Any] = asyncio.Queue(maxsize=PULL_BATCH)

        async def pull() -> None:
            left = events
            while left:
                for message in await subscription.fetch(min(PULL_BATCH, left), timeout=5):
                    await pulled.put(message)
                    left -= 1

        async with httpx.AsyncClient(timeout=5, limits=_POOL) as client:

            async def post() -> None:
                while True:
                    message = await pulled.get()
                    event_id = message.data.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
                    await client.post(
                        receiver.url, content=message.data, headers={"webhook-id": event_id}
                    )
                    await message.ack()
                    pulled.task_done()

            posting = [asyncio.create_task(post()) for _ in range(CONCURRENCY)]
            try:
                await pull()
                await pulled.join()
            finally:
                for task in posting:
                    task.cancel()
                await asyncio.gather(*posting, return_exceptions=True)
        await _until(receiver, events, 60)
        figures = _figures("raw: pull + POST + ack", receiver, started, sent)
        return Run(
            figures,
            sender.per_event_ms(events),
            receiving.per_event_ms(events),
            receiver.requests - len(receiver.arrivals),
        )
    finally:
        await bus.close()
        await receiver.stop()


def _median_run(runs: list[Run]) -> Run:
    """The round with the median rate (its own latencies and CPU figures)."""
    return sorted(runs, key=lambda r: r.figures.per_second)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Bridges and raw alternate this many times; the median round of each is shown "
        "(on a shared machine, other work then weighs on both alike)",
    )
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # the child's port
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_serve_receiver(args.receiver))
        return
    measured: list[Run] = []
    baseline: list[Run] = []
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
            for round_ in range(args.rounds):
                measured.append(asyncio.run(bridges(infra, url, args.events)))
                baseline.append(asyncio.run(raw(infra, args.events, round_)))
    bridges_run, raw_run = _median_run(measured), _median_run(baseline)
    rates = [b.figures.per_second for b in measured], [r.figures.per_second for r in baseline]
    extra = {
        "events": args.events,
        "concurrency": CONCURRENCY,
        "rounds": args.rounds,
        "bridges_vs_raw_throughput (median of per-round ratios)": round(median_ratio(*rates), 2),
        "per_round_ratio": [round(r, 2) for r in paired_ratios(*rates)],
        "per_round_events_per_s": {
            "bridges": [round(b.figures.per_second, 1) for b in measured],
            "raw": [round(r.figures.per_second, 1) for r in baseline],
        },
        "cpu_ms_per_event": {
            "bridges_service": bridges_run.sender_cpu_ms,
            "raw_loop": raw_run.sender_cpu_ms,
            "receiver_during_bridges": bridges_run.receiver_cpu_ms,
            "receiver_during_raw": raw_run.receiver_cpu_ms,
        },
        "duplicates_received": {
            "bridges": sum(b.duplicates for b in measured),
            "raw": sum(r.duplicates for r in baseline),
        },
        "note": "latency = publish to arrival at the receiver; the receiver is its own process",
    }
    rows = [bridges_run.figures, raw_run.figures]
    result = harness.report("Notifications: events to acknowledged webhooks", rows, extra)
    for key, value in result.items():
        if key not in {"title", "rows"}:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
