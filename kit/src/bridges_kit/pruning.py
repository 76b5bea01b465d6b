"""Pruning the kit's bookkeeping tables, which would otherwise grow with every event: published
outbox rows and processed-event records past their use, in small batches."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog

from bridges_kit.workers import Periodic

log = structlog.get_logger(__name__)

# Batches keep each statement short (no long locks) and the newest rows are never touched.
_PRUNE_OUTBOX = """WITH gone AS (
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE published_at < now() - $1::interval
        ORDER BY published_at LIMIT $2)
    RETURNING 1) SELECT count(*) FROM gone"""
_PRUNE_PROCESSED = """WITH gone AS (
    DELETE FROM processed_events WHERE ctid IN (
        SELECT ctid FROM processed_events WHERE processed_at < now() - $1::interval
        ORDER BY processed_at LIMIT $2)
    RETURNING 1) SELECT count(*) FROM gone"""


class Pruner(Periodic):
    """Deletes published outbox rows older than `keep_published` (JetStream's duplicate window
    is far shorter) and processed-event records older than `keep_processed` (far longer than a
    redelivery can come: once acked, JetStream never delivers an event again)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        keep_published: timedelta,
        keep_processed: timedelta,
        interval_s: float,
        batch: int = 5000,
    ) -> None:
        super().__init__(interval_s)
        self._pool = pool
        self._keep_published = keep_published
        self._keep_processed = keep_processed
        self._batch = batch

    async def tick(self) -> int:
        pruned = 0
        for sql, keep in (
            (_PRUNE_OUTBOX, self._keep_published),
            (_PRUNE_PROCESSED, self._keep_processed),
        ):
            while True:
                count: int = await self._pool.fetchval(sql, keep, self._batch)
                pruned += count
                if count < self._batch:
                    break
        if pruned:
            log.info("bookkeeping_pruned", rows=pruned)
        return pruned
