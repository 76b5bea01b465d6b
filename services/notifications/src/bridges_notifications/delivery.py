"""The delivery worker: claims due deliveries (SKIP LOCKED leases, so replicas share the work),
sends them (signed webhook POST or email), records every attempt and schedules the next one or
gives up.

- The schedule lives in the database (`next_attempt_at`), so it survives restarts. A worker that
  dies mid-delivery leaves a lease that expires; the delivery is then retried with the same
  `webhook-id`, which receivers use to drop duplicates.
- Deliveries run as independent tasks: a slow or dead endpoint holds only its own slots (at
  most `per_endpoint` at once), never the others'.
- Circuit breaker: after `breaker_failures` failures in a row an endpoint rests for
  `breaker_cooldown_s`; its deliveries wait (no attempt is spent) and one probe reopens it.
- Paused or disabled endpoints are skipped the same way until resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiosmtplib
import asyncpg
import httpx
import structlog

from bridges_kit.outbox import enqueue
from bridges_notifications import messages, netguard, retry
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
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "Bridges <no-reply@bridges.example.org>"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class DeliveryPolicy:
    schedule_s: tuple[float, ...] = retry.DEFAULT_SCHEDULE_S
    timeout_s: float = 5.0
    lease_s: float = 60.0
    concurrency: int = 16
    per_endpoint: int = 4
    breaker_failures: int = 5
    breaker_cooldown_s: float = 60.0
    poll_s: float = 1.0
    allowed_networks: tuple[netguard.Network, ...] = ()
    link_base: str = "http://127.0.0.1:8102"
    mail: MailSettings = field(default_factory=MailSettings)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


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
        self._running: set[asyncio.Task[None]] = set()
        self._per_endpoint: dict[Any, int] = {}
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
                    free = self._policy.concurrency - len(self._running)
                    claimed = await self.claim(free) if free > 0 else []
                except Exception as exc:  # PostgreSQL away: try again shortly
                    log.warning("delivery_claim_failed", error=repr(exc))
                    listener = None
                    await self._sleep(1.0)
                    continue
                for row in claimed:
                    self._start(row)
                if claimed and len(claimed) == free:
                    await self._wait_for_a_slot()
                    continue
                await self._sleep(self._policy.poll_s)
            if self._running:  # graceful stop: finish what is in flight
                await asyncio.wait(self._running, timeout=self._policy.timeout_s + 5)
        finally:
            if listener is not None and not listener.is_closed():
                await listener.remove_listener(WAKE_CHANNEL, self._on_notify)
                await self._pool.release(listener)
            await self._client.aclose()

    def _start(self, row: asyncpg.Record) -> None:
        endpoint = row["endpoint_id"]
        self._per_endpoint[endpoint] = self._per_endpoint.get(endpoint, 0) + 1
        task = asyncio.create_task(self._deliver(row))
        self._running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            left = self._per_endpoint.get(endpoint, 1) - 1
            if left:
                self._per_endpoint[endpoint] = left
            else:
                self._per_endpoint.pop(endpoint, None)
            self._wake.set()

        task.add_done_callback(done)

    async def _wait_for_a_slot(self) -> None:
        if self._running:
            await asyncio.wait(
                self._running, timeout=self._policy.poll_s, return_when=asyncio.FIRST_COMPLETED
            )

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def claim(self, limit: int) -> list[asyncpg.Record]:
        """Lease up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint."""
        busy = [(k, v) for k, v in self._per_endpoint.items() if k is not None]
        rows: list[asyncpg.Record] = await self._pool.fetch(
            """WITH busy AS (
                   SELECT * FROM unnest($3::uuid[], $4::int[]) AS b(endpoint_id, running)),
               webhooks AS (  -- per open endpoint, its oldest due deliveries up to its room
                   SELECT d.id, d.endpoint_id, d.next_attempt_at
                   FROM endpoint e
                   LEFT JOIN busy b ON b.endpoint_id = e.id
                   CROSS JOIN LATERAL (
                       SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                       WHERE d.endpoint_id = e.id AND d.status = 'pending'
                         AND d.next_attempt_at <= now()
                         AND (d.lease_until IS NULL OR d.lease_until < now())
                       ORDER BY d.next_attempt_at
                       LIMIT greatest($5 - coalesce(b.running, 0), 0)
                       FOR UPDATE OF d SKIP LOCKED) d
                   WHERE e.enabled AND NOT e.paused
                     AND (e.circuit_open_until IS NULL OR e.circuit_open_until <= now())),
               emails AS (
                   SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                   WHERE d.endpoint_id IS NULL AND d.status = 'pending'
                     AND d.next_attempt_at <= now()
                     AND (d.lease_until IS NULL OR d.lease_until < now())
                   ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED),
               due AS (
                   SELECT id, endpoint_id
                   FROM (SELECT * FROM webhooks UNION ALL SELECT * FROM emails) c
                   ORDER BY next_attempt_at LIMIT $1)
               UPDATE delivery d SET lease_until = now() + make_interval(secs => $2),
                   attempts = d.attempts + 1
               FROM due LEFT JOIN endpoint e ON e.id = due.endpoint_id
               WHERE d.id = due.id
               RETURNING d.id, d.event_id, d.event_type, d.referral_id, d.agency_id,
                   d.endpoint_id, d.channel, d.target, d.language, d.audience, d.payload,
                   d.attempts, e.url, e.secret, e.previous_secret,
                   coalesce(e.previous_secret_until > now(), false) AS overlap""",
            limit,
            self._policy.lease_s,
            [k for k, _ in busy],
            [v for _, v in busy],
            self._policy.per_endpoint,
        )
        return rows

    async def _deliver(self, row: asyncpg.Record) -> None:
        try:
            if row["channel"] == DeliveryChannel.EMAIL.value:
                result = await self._mail(row)
            else:
                result = await self._post(row)
            await self._record(row, result)
        except Exception:  # never lose the delivery: its lease expires and it is retried
            log.exception("delivery_failed_unexpectedly", delivery_id=str(row["id"]))

    async def _post(self, row: asyncpg.Record) -> AttemptResult:
        started = time.perf_counter()
        try:
            target = await netguard.pin(row["url"], self._policy.allowed_networks)
        except netguard.UnsafeUrl as exc:
            return AttemptResult(None, _ms(started), f"refused: {exc}"[:300])
        secrets = [row["secret"]]
        if row["overlap"]:
            secrets.append(row["previous_secret"])
        body = bytes(row["payload"]).decode()
        headers = signature_headers(row["event_id"], datetime.now(UTC), body, secrets)
        try:
            async with self._client.stream(
                "POST",
                target.url,  # the checked address itself: no second DNS answer is used
                content=body,
                headers={**headers, "host": target.host_header},
                extensions={"sni_hostname": target.server_name},
            ) as r:
                status, retry_after = r.status_code, r.headers.get("retry-after")
            error = None if 200 <= status < 300 else f"HTTP {status}"
            return AttemptResult(status, _ms(started), error, retry.parse_retry_after(retry_after))
        except httpx.TimeoutException:
            return AttemptResult(None, _ms(started), "timeout")
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms(started), f"{type(exc).__name__}: {exc}"[:300])

    async def _mail(self, row: asyncpg.Record) -> AttemptResult:
        started = time.perf_counter()
        mail = self._policy.mail
        notice = messages.compose(
            json.loads(bytes(row["payload"])), row["language"] or "en", self._policy.link_base
        )
        message = messages.message(notice, mail.sender, row["target"], str(row["id"]))
        try:
            await aiosmtplib.send(
                message,
                hostname=mail.host,
                port=mail.port,
                start_tls=mail.starttls,
                use_tls=mail.use_tls,
                username=mail.username,
                password=mail.password,
                timeout=mail.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            # a permanent SMTP refusal is the receiver's 4xx: not retried
            return AttemptResult(400 if permanent else None, _ms(started), f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return AttemptResult(None, _ms(started), f"{type(exc).__name__}: {exc}"[:300])
        return AttemptResult(250, _ms(started), None)

    async def _record(self, row: asyncpg.Record, result: AttemptResult) -> None:
        status_for_policy = 200 if result.ok else result.status_code
        outcome = retry.after_attempt(
            row["attempts"],
            status_for_policy,
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
            if row["endpoint_id"] is not None:
                await self._breaker(conn, row["endpoint_id"], result.ok)
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
            channel=row["channel"],
            outcome="succeeded" if delivered else "dead",
            attempts=row["attempts"],
        )

    async def _breaker(self, conn: asyncpg.Connection, endpoint_id: Any, ok: bool) -> None:
        if ok:
            await conn.execute(
                """UPDATE endpoint SET consecutive_failures = 0, circuit_open_until = NULL
                   WHERE id = $1 AND (consecutive_failures > 0 OR circuit_open_until IS NOT NULL)""",
                endpoint_id,
            )
            return
        opened = await conn.fetchval(
            """UPDATE endpoint SET consecutive_failures = consecutive_failures + 1,
                   circuit_open_until = CASE WHEN consecutive_failures + 1 >= $2
                       THEN now() + make_interval(secs => $3) ELSE circuit_open_until END
               WHERE id = $1 RETURNING consecutive_failures >= $2""",
            endpoint_id,
            self._policy.breaker_failures,
            self._policy.breaker_cooldown_s,
        )
        if opened:
            log.warning("endpoint_circuit_open", endpoint_id=str(endpoint_id))

    def _outcome_event(self, row: asyncpg.Record, outcome: retry.Outcome, at: datetime) -> Any:
        common: dict[str, Any] = {
            "delivery_id": row["id"],
            "channel": DeliveryChannel(row["channel"]),
            # officers' notices are not the agency's: only agency deliveries name it
            "agency_id": row["agency_id"] if row["audience"] == "agency" else None,
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
