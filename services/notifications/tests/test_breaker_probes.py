"""The circuit breaker under a receiver outage, over real HTTP, PostgreSQL and NATS, with two
replicas on one database: only a failed probe lengthens the rest (attempts under way when the
circuit opened do not), one probe at a time across the replicas, so deliveries resume within
seconds of the receiver's return."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

from bridges_devstack.testing import eventually

OUTAGE_S = 10.0
RESUMED_WITHIN_S = 6.0
# the breaker's defaults (5 failures, a 5 s first rest, doubling); retries each second, so
# there is always a delivery due to probe with
REPLICA = {
    "BRIDGES_BREAKER_FAILURES": "5",
    "BRIDGES_WEBHOOK_RETRY_SCHEDULE_S": json.dumps([1] * 40),
}


async def test_a_ten_second_outage_is_followed_by_deliveries_within_six_seconds(
    start_desk, receiver
):
    desk = await start_desk(**REPLICA)
    await start_desk(**REPLICA)  # a second replica on the same database
    await desk.endpoint(receiver.url)
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            await desk.publish()
            await asyncio.sleep(0.05)

    publishing = asyncio.create_task(traffic())
    try:

        async def flowing() -> bool:
            return any(r.status == 200 for r in receiver.requests)

        await eventually(flowing, timeout_s=20)
        start = time.monotonic()
        end = receiver.failing_until = start + OUTAGE_S

        async def resumed() -> bool:
            return any(r.status == 200 and r.at >= end for r in receiver.requests)

        await eventually(resumed, timeout_s=OUTAGE_S + 30)
    finally:
        stop.set()
        await publishing
    recovered = min(r.at for r in receiver.requests if r.status == 200 and r.at >= end)
    assert recovered - end <= RESUMED_WITHIN_S, f"deliveries resumed {recovered - end:.1f} s late"
    # once the attempts under way when the circuit opened are answered: probes only, one at
    # a time (5 s, then 10 s apart), never one per replica
    probes = sorted(r.at for r in receiver.requests if start + 2 <= r.at < end)
    assert 1 <= len(probes) <= 2, [round(at - start, 2) for at in probes]
    assert all(later - earlier >= 4 for earlier, later in itertools.pairwise(probes))
