"""The notifications service's PostgreSQL repositories: endpoints (with their circuit breaker),
the SMS provider's breaker, email recipients, officers' preferences and deliveries (queued,
leased, attempted, finished).
Each works on its unit of work's connection and returns domain objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from bridges_kit.operator_log import SqlOperatorActions
from bridges_kit.sealing import KeyRing
from bridges_kit.sql_uow import PostgresUnitOfWork, Repository
from bridges_notifications import signing_secrets
from bridges_notifications.domain import (
    Attempted,
    Audience,
    AudienceKind,
    BreakerCount,
    Channel,
    ClaimedDelivery,
    Endpoint,
    Finished,
    Lease,
    NewDelivery,
    OfficerPreference,
    Recipient,
    RetryLater,
)
from bridges_notifications.uow import NotificationsUnitOfWork
from bridges_schema import Streams

WAKE_CHANNEL = "bridges_deliveries"  # NOTIFY when deliveries become due: the worker wakes
# A delivery that may be claimed now: pending, due, and not leased (or its lease ran out),
# nor still held by the claiming worker ($7: one whose attempt waits for PostgreSQL to record)
_DUE = """d.status = 'pending' AND d.next_attempt_at <= now()
    AND (d.lease_until IS NULL OR d.lease_until < now()) AND d.id <> ALL($7::uuid[])"""


def endpoint_of(row: asyncpg.Record, secret: str | None = None) -> Endpoint:
    """The endpoint; its secret (stored only sealed) only as just made (`secret`)."""
    return Endpoint(
        id=row["id"],
        agency_id=row["agency_id"],
        url=row["url"],
        secret=secret,
        enabled=row["enabled"],
        event_types=tuple(row["event_types"]),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        paused=row["paused"],
        previous_secret_until=row["previous_secret_until"],
        consecutive_failures=row["consecutive_failures"],
        circuit_open_until=row["circuit_open_until"],
    )


class SqlEndpoints(Repository):
    def __init__(self, conn: asyncpg.Connection, ring: KeyRing) -> None:
        super().__init__(conn)
        self._ring = ring

    async def add(self, endpoint: Endpoint) -> Endpoint:
        if endpoint.secret is None:
            raise ValueError("a new endpoint needs its signing secret")
        key, wrapped = signing_secrets.new_key(self._ring, endpoint.id)
        row = await self._conn.fetchrow(
            """INSERT INTO endpoint (id, agency_id, url, data_key, sealed_secret, enabled,
                   event_types, description, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING *""",
            endpoint.id,
            endpoint.agency_id,
            endpoint.url,
            wrapped,
            key.seal_text(signing_secrets.FIELD, endpoint.secret),
            endpoint.enabled,
            list(endpoint.event_types),
            endpoint.description,
            endpoint.created_at,
        )
        return endpoint_of(row, endpoint.secret)

    async def change(
        self,
        agency_id: UUID,
        endpoint_id: UUID,
        *,
        url: str,
        enabled: bool,
        event_types: Sequence[str],
        description: str | None,
    ) -> Endpoint | None:
        row = await self._conn.fetchrow(
            """UPDATE endpoint SET url = $3, enabled = $4, event_types = $5, description = $6,
                   updated_at = now()
               WHERE id = $1 AND agency_id = $2 RETURNING *""",
            endpoint_id,
            agency_id,
            url,
            enabled,
            list(event_types),
            description,
        )
        return None if row is None else endpoint_of(row)

    async def of_agency(self, agency_id: UUID) -> list[Endpoint]:
        rows = await self._conn.fetch(
            "SELECT * FROM endpoint WHERE agency_id = $1 ORDER BY created_at, id", agency_id
        )
        return [endpoint_of(r) for r in rows]

    async def rotate_secret(
        self, agency_id: UUID, endpoint_id: UUID, secret: str, overlap: timedelta
    ) -> Endpoint | None:
        wrapped = await self._conn.fetchval(
            "SELECT data_key FROM endpoint WHERE id = $1 AND agency_id = $2 FOR UPDATE",
            endpoint_id,
            agency_id,
        )
        if wrapped is None:
            return None
        key = self._ring.unwrap(signing_secrets.owner(endpoint_id), wrapped)
        row = await self._conn.fetchrow(
            """UPDATE endpoint SET sealed_previous_secret = sealed_secret, sealed_secret = $3,
                   previous_secret_until = now() + $4::interval, updated_at = now()
               WHERE id = $1 AND agency_id = $2 RETURNING *""",
            endpoint_id,
            agency_id,
            key.seal_text(signing_secrets.FIELD, secret),
            overlap,
        )
        return None if row is None else endpoint_of(row, secret)

    async def set_paused(self, endpoint_id: UUID, paused: bool) -> Endpoint | None:
        """Pause, or resume with a clean slate (the breaker forgets past failures)."""
        row = await self._conn.fetchrow(
            """UPDATE endpoint SET paused = $2, updated_at = now(),
                   consecutive_failures = CASE WHEN $2 THEN consecutive_failures ELSE 0 END,
                   failed_probes = CASE WHEN $2 THEN failed_probes ELSE 0 END,
                   circuit_open_until = CASE WHEN $2 THEN circuit_open_until END,
                   probe_until = CASE WHEN $2 THEN probe_until END
               WHERE id = $1 RETURNING *""",
            endpoint_id,
            paused,
        )
        return None if row is None else endpoint_of(row)

    async def count_failure(self, endpoint_id: UUID, *, probe: bool) -> BreakerCount:
        row = await self._conn.fetchrow(
            f"UPDATE endpoint SET {_FAILURE_COUNTED} WHERE id = $1 RETURNING {_BREAKER_COUNT}",
            endpoint_id,
            probe,
        )
        return _breaker_count(row)

    async def rest_until(self, endpoint_id: UUID, until: datetime) -> None:
        await self._conn.execute(
            "UPDATE endpoint SET circuit_open_until = $2 WHERE id = $1", endpoint_id, until
        )

    async def count_success(self, endpoint_id: UUID) -> None:
        await self._conn.execute(
            f"""UPDATE endpoint SET {_CIRCUIT_CLOSED}
                WHERE id = $1 AND (consecutive_failures > 0 OR circuit_open_until IS NOT NULL)""",
            endpoint_id,
        )

    async def soonest_rest_end(self) -> datetime | None:
        soonest: datetime | None = await self._conn.fetchval(
            """SELECT min(until) FROM (
                   SELECT circuit_open_until AS until FROM endpoint
                   WHERE circuit_open_until > now() AND enabled AND NOT paused
                   UNION ALL
                   SELECT circuit_open_until FROM channel_circuit
                   WHERE circuit_open_until > now()) resting"""
        )
        return soonest


# A failure counted ($2: whether it was a probe, which ends the probing); the breaker's state
# after it; the circuit closed (by a success, or on resuming an endpoint).
_FAILURE_COUNTED = """consecutive_failures = consecutive_failures + 1,
    failed_probes = failed_probes + CASE WHEN $2 THEN 1 ELSE 0 END,
    probe_until = CASE WHEN $2 THEN NULL ELSE probe_until END"""
_BREAKER_COUNT = "consecutive_failures, failed_probes, circuit_open_until IS NOT NULL AS resting"
_CIRCUIT_CLOSED = """consecutive_failures = 0, failed_probes = 0, circuit_open_until = NULL,
    probe_until = NULL"""


def _breaker_count(row: asyncpg.Record) -> BreakerCount:
    return BreakerCount(row["consecutive_failures"], row["failed_probes"], row["resting"])


class SqlChannels(Repository):
    async def count_failure(self, channel: Channel, *, probe: bool) -> BreakerCount:
        await self._conn.execute(
            "INSERT INTO channel_circuit (channel) VALUES ($1) ON CONFLICT DO NOTHING",
            channel.value,
        )
        row = await self._conn.fetchrow(
            f"UPDATE channel_circuit SET {_FAILURE_COUNTED} WHERE channel = $1 "
            f"RETURNING {_BREAKER_COUNT}",
            channel.value,
            probe,
        )
        return _breaker_count(row)

    async def rest_until(self, channel: Channel, until: datetime) -> None:
        await self._conn.execute(
            "UPDATE channel_circuit SET circuit_open_until = $2 WHERE channel = $1",
            channel.value,
            until,
        )

    async def count_success(self, channel: Channel) -> None:
        await self._conn.execute(
            f"""UPDATE channel_circuit SET {_CIRCUIT_CLOSED}
                WHERE channel = $1
                  AND (consecutive_failures > 0 OR circuit_open_until IS NOT NULL)""",
            channel.value,
        )


def _recipient(row: asyncpg.Record) -> Recipient:
    return Recipient(
        row["id"],
        row["agency_id"],
        row["address"],
        row["language"],
        row["enabled"],
        row["created_at"],
    )


class SqlRecipients(Repository):
    async def put(self, recipient: Recipient) -> Recipient:
        row = await self._conn.fetchrow(
            """INSERT INTO email_recipient (id, agency_id, address, language, enabled)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (agency_id, address) DO UPDATE SET language = EXCLUDED.language,
                   enabled = EXCLUDED.enabled
               RETURNING *""",
            recipient.id,
            recipient.agency_id,
            recipient.address,
            recipient.language,
            recipient.enabled,
        )
        return _recipient(row)

    async def of_agency(self, agency_id: UUID) -> list[Recipient]:
        rows = await self._conn.fetch(
            "SELECT * FROM email_recipient WHERE agency_id = $1 ORDER BY address", agency_id
        )
        return [_recipient(r) for r in rows]

    async def remove(self, agency_id: UUID, recipient_id: UUID) -> bool:
        removed = await self._conn.fetchval(
            "DELETE FROM email_recipient WHERE id = $1 AND agency_id = $2 RETURNING 1",
            recipient_id,
            agency_id,
        )
        return bool(removed)


class SqlAudiences(Repository):
    async def of_agency(self, agency_id: UUID, *, recipients: bool) -> Audience:
        rows = await self._conn.fetch(
            """SELECT 'endpoint' AS kind, id, agency_id, url, enabled, event_types,
                   description, created_at, updated_at, paused,
                   previous_secret_until, consecutive_failures, circuit_open_until,
                   NULL::text AS address, NULL::text AS language
               FROM endpoint WHERE agency_id = $1
               UNION ALL
               SELECT 'recipient', id, agency_id, NULL, enabled, NULL, NULL, created_at,
                   NULL, NULL, NULL, NULL, NULL, address, language
               FROM email_recipient WHERE $2 AND agency_id = $1
               ORDER BY kind, address, created_at, id""",
            agency_id,
            recipients,
        )
        return Audience(
            endpoints=[endpoint_of(r) for r in rows if r["kind"] == "endpoint"],
            recipients=[_recipient(r) for r in rows if r["kind"] == "recipient"],
        )


class SqlPreferences(Repository):
    async def put(self, preference: OfficerPreference) -> OfficerPreference:
        row = await self._conn.fetchrow(
            """INSERT INTO officer_preference (officer_id, email, enabled, language)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (officer_id) DO UPDATE SET email = EXCLUDED.email,
                   enabled = EXCLUDED.enabled, language = EXCLUDED.language, updated_at = now()
               RETURNING officer_id, email, enabled, language""",
            preference.officer_id,
            preference.email,
            preference.enabled,
            preference.language,
        )
        return OfficerPreference(row["officer_id"], row["email"], row["enabled"], row["language"])

    async def of_officer(self, officer_id: str) -> OfficerPreference | None:
        row = await self._conn.fetchrow(
            "SELECT officer_id, email, enabled, language FROM officer_preference "
            "WHERE officer_id = $1",
            officer_id,
        )
        return (
            None
            if row is None
            else OfficerPreference(row["officer_id"], row["email"], row["enabled"], row["language"])
        )


def _claimed(row: asyncpg.Record, ring: KeyRing) -> ClaimedDelivery:
    secrets: list[str] = []
    if row["data_key"] is not None:  # a webhook: its secrets, opened to sign it
        key = ring.unwrap(signing_secrets.owner(row["endpoint_id"]), row["data_key"])
        sealed = [row["sealed_secret"], row["sealed_previous_secret"] if row["overlap"] else None]
        secrets = [key.open_text(signing_secrets.FIELD, s) for s in sealed if s is not None]
    return ClaimedDelivery(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        referral_id=row["referral_id"],
        agency_id=row["agency_id"],
        endpoint_id=row["endpoint_id"],
        channel=Channel(row["channel"]),
        target=row["target"],
        language=row["language"],
        audience=AudienceKind(row["audience"]),
        payload=bytes(row["payload"]),
        attempts=row["attempts"],
        url=row["url"],
        secrets=tuple(secrets),
        probe=row["probe"],
    )


def _delivery_row(d: NewDelivery) -> tuple[object, ...]:
    return (
        d.id,
        d.event_id,
        d.event_type,
        d.referral_id,
        d.agency_id,
        d.endpoint_id,
        d.channel.value,
        d.target,
        d.language,
        str(d.audience),
        d.payload,
    )


class SqlDeliveries(Repository):
    def __init__(self, conn: asyncpg.Connection, ring: KeyRing) -> None:
        super().__init__(conn)
        self._ring = ring

    async def add(self, deliveries: Sequence[NewDelivery]) -> None:
        """Queue deliveries, at most one per (event, channel, target), and wake the worker
        (one round trip)."""
        if not deliveries:
            return
        columns = list(zip(*(_delivery_row(d) for d in deliveries), strict=True))
        await self._conn.execute(
            """WITH added AS (
                   INSERT INTO delivery (id, event_id, event_type, referral_id, agency_id,
                       endpoint_id, channel, target, language, audience, payload)
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[],
                       $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[],
                       $11::bytea[])
                   ON CONFLICT (event_id, channel, target) DO NOTHING)
               SELECT pg_notify($12, '')""",
            *columns,
            WAKE_CHANNEL,
        )

    async def claim(
        self,
        limit: int,
        lease: Lease,
        in_flight: Mapping[UUID | Channel, int],
        per_endpoint: int,
        held: Collection[UUID] = (),
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries (none of those this worker still `held`): per endpoint whose circuit is closed its oldest,
        up to its room (`per_endpoint` minus what is in flight here), due emails, and due text
        messages while the SMS provider's circuit is closed. A receiver whose rest is over gets
        one probe across all replicas: its row takes the probe's lease (`probe_until`) in the
        same statement, which another replica's claim then sees (or waits for)."""
        endpoints = {k: n for k, n in in_flight.items() if isinstance(k, UUID)}
        rows = await self._conn.fetch(
            f"""WITH busy AS (
                   SELECT * FROM unnest($3::uuid[], $4::int[]) AS b(endpoint_id, running)),
               probed_endpoints AS (
                   UPDATE endpoint e SET probe_until = now() + make_interval(secs => $2)
                   WHERE e.enabled AND NOT e.paused AND e.circuit_open_until <= now()
                     AND (e.probe_until IS NULL OR e.probe_until < now())
                     AND EXISTS (SELECT 1 FROM delivery d
                                 WHERE d.endpoint_id = e.id AND {_DUE})
                   RETURNING e.id),
               probed_channels AS (
                   UPDATE channel_circuit c SET probe_until = now() + make_interval(secs => $2)
                   WHERE c.channel = 'sms' AND c.circuit_open_until <= now()
                     AND (c.probe_until IS NULL OR c.probe_until < now())
                     AND EXISTS (SELECT 1 FROM delivery d WHERE d.endpoint_id IS NULL
                                 AND d.channel = c.channel AND {_DUE})
                   RETURNING c.channel),
               webhooks AS (
                   SELECT d.id, d.endpoint_id, d.next_attempt_at, false AS probe
                   FROM endpoint e
                   LEFT JOIN busy b ON b.endpoint_id = e.id
                   CROSS JOIN LATERAL (
                       SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                       WHERE d.endpoint_id = e.id AND {_DUE}
                       ORDER BY d.next_attempt_at
                       LIMIT greatest($5 - coalesce(b.running, 0), 0)
                       FOR UPDATE OF d SKIP LOCKED) d
                   WHERE e.enabled AND NOT e.paused AND e.circuit_open_until IS NULL
                   UNION ALL
                   SELECT d.id, d.endpoint_id, d.next_attempt_at, true
                   FROM probed_endpoints p
                   CROSS JOIN LATERAL (
                       SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                       WHERE d.endpoint_id = p.id AND {_DUE}
                       ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED) d),
               emails AS (
                   SELECT d.id, d.endpoint_id, d.next_attempt_at, false AS probe FROM delivery d
                   WHERE d.endpoint_id IS NULL AND d.channel = 'email' AND {_DUE}
                   ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED),
               texts AS (
                   SELECT d.id, d.endpoint_id, d.next_attempt_at, false AS probe
                   FROM (SELECT 'sms'::text AS channel) ch
                   LEFT JOIN channel_circuit c ON c.channel = ch.channel
                   CROSS JOIN LATERAL (
                       SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                       WHERE d.endpoint_id IS NULL AND d.channel = ch.channel AND {_DUE}
                       ORDER BY d.next_attempt_at LIMIT $1
                       FOR UPDATE OF d SKIP LOCKED) d
                   WHERE c.circuit_open_until IS NULL
                   UNION ALL
                   SELECT d.id, d.endpoint_id, d.next_attempt_at, true
                   FROM probed_channels p
                   CROSS JOIN LATERAL (
                       SELECT d.id, d.endpoint_id, d.next_attempt_at FROM delivery d
                       WHERE d.endpoint_id IS NULL AND d.channel = p.channel AND {_DUE}
                       ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED) d),
               due AS (  -- probes first: a probe left out would hold its receiver's probing
                   SELECT id, endpoint_id, probe
                   FROM (SELECT * FROM webhooks UNION ALL SELECT * FROM emails
                         UNION ALL SELECT * FROM texts) c
                   ORDER BY probe DESC, next_attempt_at LIMIT $1)
               UPDATE delivery d SET lease_until = now() + make_interval(secs => $2),
                   lease_owner = $6, probe = due.probe, attempts = d.attempts + 1
               FROM due LEFT JOIN endpoint e ON e.id = due.endpoint_id
               WHERE d.id = due.id
               RETURNING d.id, d.event_id, d.event_type, d.referral_id, d.agency_id,
                   d.endpoint_id, d.channel, d.target, d.language, d.audience, d.payload,
                   d.attempts, d.probe, e.url, e.data_key, e.sealed_secret,
                   e.sealed_previous_secret,
                   coalesce(e.previous_secret_until > now(), false) AS overlap""",
            limit,
            lease.seconds,
            list(endpoints),
            list(endpoints.values()),
            per_endpoint,
            lease.owner,
            list(held),
        )
        return [_claimed(r, self._ring) for r in rows]

    async def renew(self, lease: Lease, delivery_ids: Sequence[UUID]) -> None:
        if not delivery_ids:
            return
        await self._conn.execute(
            """UPDATE delivery SET lease_until = now() + make_interval(secs => $2)
               WHERE id = ANY($3::uuid[]) AND lease_owner = $1 AND status = 'pending'
                 AND lease_until IS NOT NULL""",
            lease.owner,
            lease.seconds,
            list(delivery_ids),
        )

    async def add_attempts(self, attempted: Sequence[Attempted]) -> None:
        await self._conn.executemany(
            """INSERT INTO delivery_attempt (delivery_id, status_code, latency_ms, error)
               VALUES ($1, $2, $3, $4)""",
            [
                (a.delivery.id, a.result.status_code, a.result.latency_ms, a.result.error)
                for a in attempted
            ],
        )

    async def retry_later(self, retries: Sequence[RetryLater]) -> None:
        if not retries:
            return
        await self._conn.execute(
            """UPDATE delivery d SET lease_until = NULL, last_error = r.error,
                   next_attempt_at = now() + make_interval(secs => r.seconds)
               FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS r(id, error, seconds)
               WHERE d.id = r.id""",
            [r.delivery_id for r in retries],
            [r.error for r in retries],
            [r.seconds for r in retries],
        )

    async def finish(self, finished: Sequence[Finished]) -> dict[UUID, datetime]:
        if not finished:
            return {}
        rows = await self._conn.fetch(
            """UPDATE delivery d
               SET status = CASE WHEN f.succeeded THEN 'succeeded' ELSE 'dead' END,
                   lease_until = NULL, last_error = f.error, finished_at = now()
               FROM unnest($1::uuid[], $2::bool[], $3::text[]) AS f(id, succeeded, error)
               WHERE d.id = f.id
               RETURNING d.id, d.finished_at""",
            [f.delivery_id for f in finished],
            [f.succeeded for f in finished],
            [f.error for f in finished],
        )
        return {r["id"]: r["finished_at"] for r in rows}

    async def replay(
        self,
        delivery_id: UUID | None = None,
        endpoint_id: UUID | None = None,
        *,
        every_dead: bool = False,
    ) -> int:
        """Queue again, now, one delivery (whatever its state), an endpoint's dead ones or every
        dead one."""
        count: int = await self._conn.fetchval(
            """WITH replayed AS (
                   UPDATE delivery SET status = 'pending', next_attempt_at = now(),
                       lease_until = NULL, finished_at = NULL, attempts = 0
                   WHERE ($1::uuid IS NOT NULL AND id = $1)
                      OR ($2::uuid IS NOT NULL AND endpoint_id = $2 AND status = 'dead')
                      OR ($3 AND status = 'dead')
                   RETURNING 1)
               SELECT count(*) FROM replayed""",
            delivery_id,
            endpoint_id,
            every_dead,
        )
        await self.wake()
        return count

    async def wake(self) -> None:
        """Tell the workers (on commit) that deliveries may be due."""
        await self._conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


class SqlUnitOfWork(PostgresUnitOfWork, NotificationsUnitOfWork):
    """The notifications unit of work on PostgreSQL: these repositories on one transaction."""

    def __init__(self, pool: asyncpg.Pool, streams: Streams, ring: KeyRing) -> None:
        super().__init__(pool, streams)
        self._ring = ring

    def _bind(self, conn: asyncpg.Connection) -> None:
        self.actions = SqlOperatorActions(conn)
        self.endpoints = SqlEndpoints(conn, self._ring)
        self.channels = SqlChannels(conn)
        self.recipients = SqlRecipients(conn)
        self.audiences = SqlAudiences(conn)
        self.preferences = SqlPreferences(conn)
        self.deliveries = SqlDeliveries(conn, self._ring)
