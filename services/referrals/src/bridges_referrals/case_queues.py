"""Cases a migration queued for work only the running service can do (it holds the key ring):
sealing values stored before sealing (`unsealed_case`), indexing names filed before the blind
index (`unindexed_case`). Drained at start-up in batches, each its own transaction; cases a
replica starting alongside took are skipped, and a case leaves its queue with its work done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal
from uuid import UUID

import asyncpg

Queue = Literal["unsealed_case", "unindexed_case"]
Work = Callable[[asyncpg.Connection, list[UUID]], Awaitable[None]]


async def drain(pool: asyncpg.Pool, queue: Queue, work: Work, batch: int = 200) -> int:
    """Take the queue's cases a batch at a time and do `work` on each batch in the transaction
    that takes them off; returns how many cases."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            ids = [
                row["case_id"]
                for row in await conn.fetch(
                    f"""DELETE FROM {queue} WHERE case_id IN (
                            SELECT case_id FROM {queue} LIMIT $1 FOR UPDATE SKIP LOCKED)
                        RETURNING case_id""",
                    batch,
                )
            ]
            if ids:
                await work(conn, ids)
        if not ids:
            return done
        done += len(ids)
