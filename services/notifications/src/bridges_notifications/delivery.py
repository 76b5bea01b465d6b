"""The delivery worker: claims due deliveries (SKIP LOCKED leases, so replicas share the work),
POSTs them signed, records every attempt and schedules the next one or gives up.

The schedule lives in the database (`next_attempt_at`), so it survives restarts. A worker that
dies mid-delivery leaves a lease that expires; the delivery is then retried with the same
`webhook-id`, which receivers use to drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import structlog

from bridges_kit.outbox import enqueue
from bridges_notifications import retry
from bridges_notifications.fanout import WAKE_CHANNEL
from bridges_notifications.signing import signature_headers
from bridges_schema import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_SUCCEEDED,
    DeliveryChannel,
    DeliveryDeadLettered,
    DeliverySucceeded,
    Streams,
    new_event,
)

log = structlog.get_logger(__name__)

SOURCE = "/bridges/notifications"
USER_AGENT = "Bridges-Webhooks/1.0"


@dataclass(frozen=True)
class DeliveryPolicy:
    schedule_s: tuple[float, ...] = retry.DEFAULT_SCHEDULE_S
    timeout_s: float = 5.0
    lease_s: float = 60.0
    concurrency: int = 16
    batch: int = 64
    poll_s: float = 1.0
    paused_recheck_s: float = 60.0


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        streams: Streams,
        policy: DeliveryPolicy,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._pool = pool
        self._streams = streams
        self._policy = policy
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(policy.timeout_s),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            limits=httpx.Limits(max_connections=policy.concurrency * 2),
        )
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        try:
            while not self._stopping.is_set():
                try:
                    if listener is None or listener.is_closed():
                        listener = await self._pool.acquire()
                        await listener.add_listener(WAKE_CHANNEL, self._on_notify)
                    claimed = await self.claim()
                except Exception as exc:  # PostgreSQL away: try again shortly
                    log.warning("delivery_claim_failed", error=repr(exc))
                    listener = None
                    await self._sleep(1.0)
                    continue
                if claimed:
                    await asyncio.gather(*(self._deliver(row) for row in claimed))
                    if len(claimed) == self._policy.batch:
                        continue
                await self._sleep(self._policy.poll_s)
        finally:
            if listener is not None and not listener.is_closed():
                await listener.remove_listener(WAKE_CHANNEL, self._on_notify)
                await self._pool.release(listener)
            await self._client.aclose()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def claim(self) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._pool.fetch(
            """WITH due AS (
                   SELECT id FROM delivery
                   WHERE status = 'pending' AND next_attempt_at <= now()
                     AND (lease_until IS NULL OR lease_until < now())
                   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
               UPDATE delivery d SET lease_until = now() + make_interval(secs => $2),
                   attempts = d.attempts + 1
               FROM due, endpoint e
               WHERE d.id = due.id AND e.id = d.endpoint_id
               RETURNING d.id, d.event_id, d.event_type, d.referral_id, d.agency_id,
                   d.endpoint_id, d.payload, d.attempts, e.url, e.secret, e.enabled""",
            self._policy.batch,
            self._policy.lease_s,
        )
        return rows

    async def _deliver(self, row: asyncpg.Record) -> None:
        try:
            if not row["enabled"]:
                await self._postpone(row)
                return
            async with self._slots:
                result = await self._post(row)
            await self._record(row, result)
        except Exception:  # never lose the delivery: its lease expires and it is retried
            log.exception("delivery_failed_unexpectedly", delivery_id=str(row["id"]))

    async def _post(self, row: asyncpg.Record) -> AttemptResult:
        body = bytes(row["payload"]).decode()
        headers = signature_headers(row["event_id"], datetime.now(UTC), body, [row["secret"]])
        started = time.perf_counter()
        try:
            async with self._client.stream("POST", row["url"], content=body, headers=headers) as r:
                status, retry_after = r.status_code, r.headers.get("retry-after")
            error = None if 200 <= status < 300 else f"HTTP {status}"
            return AttemptResult(status, _ms(started), error, retry.parse_retry_after(retry_after))
        except httpx.TimeoutException:
            return AttemptResult(None, _ms(started), "timeout", None)
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms(started), f"{type(exc).__name__}: {exc}"[:300], None)

    async def _postpone(self, row: asyncpg.Record) -> None:
        await self._pool.execute(
            """UPDATE delivery SET attempts = attempts - 1, lease_until = NULL,
                   next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1""",
            row["id"],
            self._policy.paused_recheck_s,
        )

    async def _record(self, row: asyncpg.Record, result: AttemptResult) -> None:
        outcome = retry.after_attempt(
            row["attempts"],
            result.status_code,
            schedule=self._policy.schedule_s,
            retry_after=result.retry_after,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO delivery_attempt (delivery_id, status_code, latency_ms, error)
                   VALUES ($1, $2, $3, $4)""",
                row["id"],
                result.status_code,
                result.latency_ms,
                result.error,
            )
            if isinstance(outcome, retry.RetryIn):
                await conn.execute(
                    """UPDATE delivery SET lease_until = NULL, last_error = $2,
                           next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1""",
                    row["id"],
                    result.error,
                    outcome.seconds,
                )
                return
            delivered = isinstance(outcome, retry.Delivered)
            finished = await conn.fetchval(
                """UPDATE delivery SET status = $2, lease_until = NULL, last_error = $3,
                       finished_at = now() WHERE id = $1 RETURNING finished_at""",
                row["id"],
                "succeeded" if delivered else "dead",
                None if delivered else outcome.reason,  # type: ignore[union-attr]
            )
            await enqueue(conn, self._outcome_event(row, outcome, finished), self._streams)
        log.info(
            "delivery_finished",
            delivery_id=str(row["id"]),
            outcome="succeeded" if delivered else "dead",
            attempts=row["attempts"],
        )

    def _outcome_event(self, row: asyncpg.Record, outcome: retry.Outcome, at: datetime) -> Any:
        common: dict[str, Any] = {
            "delivery_id": row["id"],
            "channel": DeliveryChannel.WEBHOOK,
            "agency_id": row["agency_id"],
            "endpoint_id": row["endpoint_id"],
            "source_event_id": row["event_id"],
            "source_event_type": row["event_type"],
            "referral_id": row["referral_id"],
            "attempts": row["attempts"],
        }
        if isinstance(outcome, retry.GiveUp):
            data: Any = DeliveryDeadLettered(
                **common, last_error=outcome.reason[:300], dead_lettered_at=at
            )
            return new_event(DELIVERY_DEAD_LETTERED, data, source=SOURCE, subject=str(row["id"]))
        return new_event(
            DELIVERY_SUCCEEDED,
            DeliverySucceeded(**common, delivered_at=at),
            source=SOURCE,
            subject=str(row["id"]),
        )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
