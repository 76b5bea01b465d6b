"""The raw baselines the pipeline benchmark puts beside its figures, measured in the same run on
the same servers: a JetStream publish -> pull-consume round trip (nats-py, no bookkeeping),
one-INSERT transactions (pgbench) and a trivial endpoint of the referrals process (wrk)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import StreamConfig

from bench import load
from bench.figures import percentile

EVENT_BYTES = 700  # about a referral.requested CloudEvent's size


def latency_row(label: str, latencies_ms: Sequence[float], seconds: float) -> dict[str, Any]:
    """count, rate and p50/p95/p99/max/mean of `latencies_ms` measured over `seconds`."""
    ordered = sorted(latencies_ms)

    def at(p: float) -> float | None:
        return round(percentile(ordered, p), 2) if ordered else None

    return {
        "label": label,
        "count": len(ordered),
        "per_second": round(len(ordered) / seconds, 1) if seconds > 0 else None,
        "p50_ms": at(50),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "max_ms": at(100),
        "mean_ms": round(sum(ordered) / len(ordered), 2) if ordered else None,
    }


def tool_row(figures: load.Figures) -> dict[str, Any]:
    """A wrk or pgbench run as a row: those tools report p90, not p95."""
    return {
        "label": figures.label,
        "count": figures.requests,
        "per_second": round(figures.per_second, 1),
        "p50_ms": round(figures.p50_ms, 2),
        "p90_ms": round(figures.p90_ms, 2),
        "p95_ms": None,
        "p99_ms": round(figures.p99_ms, 2),
        "max_ms": None,
        "mean_ms": round(figures.mean_ms, 2),
        "errors": figures.errors,
    }


async def jetstream_round_trip(
    nats_url: str, duration_s: float, in_flight: int = load.CONCURRENCY
) -> dict[str, Any]:
    """A closed loop, as wrk's: `in_flight` publishers each publish (awaiting the PubAck) and wait
    for one pull consumer (batches, ack each) to hold that message before publishing the next.
    Latency: from the publish call to the consumer holding the message."""
    bus = await nats.connect(nats_url)
    try:
        js = bus.jetstream()
        await js.add_stream(StreamConfig(name="BENCH_ROUND_TRIP", subjects=["bench.round_trip"]))
        subscription = await js.pull_subscribe("bench.round_trip", durable="bench-round-trip")
        padding = b" " * EVENT_BYTES
        waiting: dict[bytes, asyncio.Future[float]] = {}
        latencies: list[float] = []
        stop_at = time.perf_counter() + duration_s
        publishing = True

        async def publish(worker: int) -> None:
            sequence = 0
            while time.perf_counter() < stop_at:
                key = f"{worker}-{sequence}".encode()
                sequence += 1
                held = waiting[key] = asyncio.get_running_loop().create_future()
                sent = time.perf_counter()
                await js.publish("bench.round_trip", key + b" " + padding)
                latencies.append((await asyncio.wait_for(held, 30) - sent) * 1000)

        async def consume() -> None:
            while publishing or waiting:
                try:
                    messages = await subscription.fetch(in_flight, timeout=0.5)
                except (NatsTimeout, TimeoutError):  # nats-py raises either
                    continue
                now = time.perf_counter()
                for message in messages:
                    await message.ack()
                    held = waiting.pop(message.data.split(b" ", 1)[0], None)
                    if held is not None:
                        held.set_result(now)

        started = time.perf_counter()
        consuming = asyncio.create_task(consume())
        await asyncio.gather(*(publish(k) for k in range(in_flight)))
        seconds = time.perf_counter() - started
        publishing = False
        await consuming
        await js.delete_stream("BENCH_ROUND_TRIP")
    finally:
        await bus.close()
    return latency_row(
        f"JetStream publish -> consume, {in_flight} in flight (nats-py)", latencies, seconds
    )


def wrk(label: str, url: str, **options: Any) -> load.Figures:
    """`load.wrk`, safe to run in a thread: a StopIteration (wrk printed no figures) raised
    through `asyncio.to_thread` would leave its awaiting task hanging for ever."""
    try:
        return load.wrk(label, url, **options)
    except StopIteration as missing:
        problem = f"wrk printed no figures for {label!r} (did its Lua script fail?)"
        raise RuntimeError(problem) from missing


def pgbench_inserts(dsn: str, duration_s: float) -> dict[str, Any]:
    figures = load.pgbench(
        "one-INSERT transactions (pgbench)", dsn, load.RAW_INSERT, duration_s=duration_s
    )
    return tool_row(figures)


def trivial_endpoint(url: str, duration_s: float) -> dict[str, Any]:
    figures = wrk("GET /healthz, referrals (wrk)", f"{url}/healthz", duration_s=duration_s)
    return tool_row(figures)
