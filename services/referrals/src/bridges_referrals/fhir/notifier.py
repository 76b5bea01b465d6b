"""Subscriptions kept in PostgreSQL, and the worker that notifies them: every `interval_s` each
subscription due is locked (one replica at a time), told of the Tasks of its agency changed
since it was last told, one signed POST per change in order, and moved on past each one its
endpoint accepted (2xx). A failure keeps it where it is and waits (backoff doubling to
`MAX_BACKOFF_S`); after `ERROR_AFTER` failures in a row its status is `error` (still retried).
At least once: the `webhook-id` (subscription, Task, version) lets a receiver drop a repeat."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import structlog

from bridges_kit.backoff import Backoff
from bridges_kit.signing import new_secret, signature_headers
from bridges_kit.workers import Periodic
from bridges_referrals.domain import utc_now
from bridges_referrals.fhir import subscriptions
from bridges_referrals.fhir.subscriptions import Stored

log = structlog.get_logger(__name__)

BATCH = 50
ERROR_AFTER = 5
MAX_BACKOFF_S = 300.0
# after failure n in a row: 2**n s, +-10% so subscriptions that failed together spread out
RETRIES = Backoff(first_s=2.0, cap_s=MAX_BACKOFF_S, jitter=0.1)
TIMEOUT_S = 5.0


class SubscriptionNotFound(LookupError):
    """No such Subscription."""


def _stored(row: asyncpg.Record) -> Stored:
    return Stored(
        row["id"],
        row["agency_id"],
        row["endpoint"],
        row["status"],
        row["events"],
        row["last_error"],
    )


async def create(
    pool: asyncpg.Pool, wanted: subscriptions.Wanted, created_by: str
) -> tuple[Stored, str]:
    """A new active subscription, told of changes from now on; returns it and its secret."""
    secret = new_secret()
    row = await pool.fetchrow(
        """INSERT INTO fhir_subscription
               (id, agency_id, endpoint, secret, status, created_by, created_at, notified_at)
           VALUES ($1, $2, $3, $4, 'active', $5, $6, $6) RETURNING *""",
        uuid.uuid4(),
        wanted.agency_id,
        wanted.endpoint,
        secret,
        created_by,
        utc_now(),
    )
    return _stored(row), secret


async def get(pool: asyncpg.Pool, subscription_id: UUID) -> Stored:
    row = await pool.fetchrow("SELECT * FROM fhir_subscription WHERE id = $1", subscription_id)
    if row is None:
        raise SubscriptionNotFound(f"no Subscription {subscription_id}")
    return _stored(row)


async def switch_off(pool: asyncpg.Pool, subscription_id: UUID) -> Stored:
    row = await pool.fetchrow(
        "UPDATE fhir_subscription SET status = 'off' WHERE id = $1 RETURNING *", subscription_id
    )
    if row is None:
        raise SubscriptionNotFound(f"no Subscription {subscription_id}")
    return _stored(row)


class Notifier(Periodic):
    def __init__(
        self, pool: Callable[[], asyncpg.Pool], base_url: str, interval_s: float = 1.0
    ) -> None:
        super().__init__(interval_s)
        self._pool, self._base_url = pool, base_url
        self._client: httpx.AsyncClient | None = None

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            self._client = client
            await super().run()

    async def tick(self) -> int:
        sent = 0
        pool: asyncpg.Pool = self._pool()
        while True:
            async with pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    """SELECT * FROM fhir_subscription
                       WHERE status <> 'off' AND (retry_at IS NULL OR retry_at <= now())
                         AND EXISTS (SELECT 1 FROM referral r WHERE r.agency_id =
                             fhir_subscription.agency_id AND (r.updated_at, r.id) >
                             (fhir_subscription.notified_at, fhir_subscription.notified_id))
                       ORDER BY retry_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED"""
                )
                if row is None:
                    return sent
                sent += await self._notify(conn, row)

    async def _notify(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        changed = await conn.fetch(
            """SELECT id, version, updated_at FROM referral
               WHERE agency_id = $1 AND (updated_at, id) > ($2, $3)
               ORDER BY updated_at, id LIMIT $4""",
            row["agency_id"],
            row["notified_at"],
            row["notified_id"],
            BATCH,
        )
        stored, events, told = _stored(row), row["events"], 0
        for task in changed:
            events += 1
            bundle = subscriptions.notification(
                self._base_url, stored, events, task["id"], utc_now()
            )
            failure = await self._post(
                row["endpoint"],
                f"{row['id']}:{task['id']}:{task['version']}",
                bundle,
                row["secret"],
            )
            if failure is not None:
                await self._failed(conn, row, failure)
                break
            told += 1
            await conn.execute(
                """UPDATE fhir_subscription SET notified_at = $2, notified_id = $3, events = $4,
                       failures = 0, retry_at = NULL, last_error = NULL, status = 'active'
                   WHERE id = $1""",
                row["id"],
                task["updated_at"],
                task["id"],
                events,
            )
        return told

    async def _post(
        self, endpoint: str, message_id: str, bundle: dict[str, Any], secret: str
    ) -> str | None:
        """None when the endpoint accepted the notification; else what went wrong."""
        assert self._client is not None
        body = json.dumps(bundle)
        headers = signature_headers(message_id, utc_now(), body, [secret])
        headers["content-type"] = "application/fhir+json"
        try:
            answer = await self._client.post(endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        return None if answer.is_success else f"HTTP {answer.status_code}"

    async def _failed(self, conn: asyncpg.Connection, row: asyncpg.Record, error: str) -> None:
        failures = row["failures"] + 1
        wait = RETRIES.delay(failures)
        log.warning("fhir_notification_failed", subscription=str(row["id"]), error=error)
        await conn.execute(
            """UPDATE fhir_subscription SET failures = $2::int, retry_at = $3, last_error = $4,
                   status = CASE WHEN $2::int >= $5::int THEN 'error' ELSE status END
               WHERE id = $1""",
            row["id"],
            failures,
            utc_now() + timedelta(seconds=wait),
            error,
            ERROR_AFTER,
        )
