"""The gauges of state, sampled every `metrics_sample_s`: the outbox's backlog and the age of
its oldest row, each durable consumer's pending, unacknowledged and redelivered messages (from
JetStream), the dead letters nobody replayed, the pool's connections and waiters, and what a
service adds (`Sampler`s: referrals by status, deliveries waiting). Sampling reads a few
aggregate rows; it never holds up the work, and a failed round is logged and tried again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog
from nats.js import JetStreamContext

from bridges_kit.faults import NATS_ERRORS, describe
from bridges_kit.metrics import Metrics
from bridges_kit.workers import Periodic

log = structlog.get_logger(__name__)

Sampler = Callable[[asyncpg.Pool, Metrics], Awaitable[None]]


async def sample_outbox_and_dead_letters(pool: asyncpg.Pool, metrics: Metrics) -> None:
    async with pool.acquire() as conn:
        outbox = await conn.fetchrow(
            """SELECT count(*) AS waiting,
                      coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s
               FROM outbox WHERE published_at IS NULL"""
        )
        letters = await conn.fetch(
            """SELECT consumer, count(*) AS open FROM dead_letters
               WHERE replayed_at IS NULL GROUP BY consumer"""
        )
    metrics.outbox_backlog.set(outbox["waiting"])
    metrics.outbox_oldest_age.set(float(outbox["oldest_s"]))
    for row in letters:
        metrics.dead_letters(consumer=row["consumer"]).set(row["open"])


def sample_pool(pool: asyncpg.Pool, metrics: Metrics) -> None:
    size, idle = pool.get_size(), pool.get_idle_size()
    metrics.pool_connections(state="in_use").set(size - idle)
    metrics.pool_connections(state="idle").set(idle)
    metrics.pool_waiting.set(getattr(pool, "waiting", 0))


class MetricsSampler(Periodic):
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        metrics: Metrics,
        consumers: Sequence[tuple[str, str, str]],
        samplers: Sequence[Sampler],
        interval_s: float,
    ) -> None:
        """`consumers`: (label, stream, durable name) of this service's durable consumers."""
        super().__init__(interval_s)
        self._pool = pool
        self._js = js
        self._metrics = metrics
        self._consumers = consumers
        self._samplers = samplers
        # dead letters of consumers that had some: set back to 0 once all are replayed
        for label, _, _ in consumers:
            metrics.dead_letters(consumer=label).set(0)

    async def tick(self) -> int:
        sample_pool(self._pool, self._metrics)
        await sample_outbox_and_dead_letters(self._pool, self._metrics)
        for sampler in self._samplers:
            await sampler(self._pool, self._metrics)
        await self._sample_consumers()
        return 1

    async def _sample_consumers(self) -> None:
        for label, stream, durable in self._consumers:
            try:
                info: Any = await self._js.consumer_info(stream, durable)
            except NATS_ERRORS as exc:  # not created yet, or NATS away: next round
                log.debug("consumer_info_unavailable", consumer=durable, error=describe(exc))
                continue
            self._metrics.consumer_pending(consumer=label).set(info.num_pending or 0)
            self._metrics.consumer_ack_pending(consumer=label).set(info.num_ack_pending or 0)
            self._metrics.consumer_redelivered(consumer=label).set(info.num_redelivered or 0)
