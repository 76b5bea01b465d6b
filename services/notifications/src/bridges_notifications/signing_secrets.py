"""Webhook signing secrets sealed at rest (`bridges_kit.sealing`, the service's key ring).

A signing secret lets whoever holds it forge webhooks an agency trusts, so, like families' data,
it is stored only sealed: each endpoint has a data key wrapped under the key ring's active key,
and its current and previous secrets are sealed under that data key (bound to the endpoint:
a sealed secret copied to another endpoint does not open). The secret is opened only to sign a
delivery. At start the service seals secrets stored before sealing existed and re-wraps data
keys under the active key, so a rotated ring reaches every endpoint with a restart.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from bridges_kit.sealing import DataKey, KeyRing, key_id_of

FIELD = "signing-secret"  # both columns: rotation moves the current one to `previous`


def owner(endpoint_id: UUID) -> str:
    return f"endpoint/{endpoint_id}"


def new_key(ring: KeyRing, endpoint_id: UUID) -> tuple[DataKey, bytes]:
    """A fresh data key for the endpoint, and the same wrapped (to store)."""
    return ring.new_data_key(owner(endpoint_id))


def opened(ring: KeyRing, endpoint_id: UUID, wrapped: bytes, sealed: bytes) -> str:
    return ring.unwrap(owner(endpoint_id), wrapped).open_text(FIELD, sealed)


async def seal_stored(pool: asyncpg.Pool, ring: KeyRing) -> int:
    """Seal the secrets stored plain and re-wrap data keys under the active key; returns how
    many endpoints changed (run at start: endpoints are few)."""
    changed = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT id, data_key, secret, previous_secret FROM endpoint
               WHERE secret IS NOT NULL OR previous_secret IS NOT NULL OR data_key IS NOT NULL
               FOR UPDATE"""
        )
        for row in rows:
            plain = row["secret"] is not None or row["previous_secret"] is not None
            wrapped = row["data_key"]
            if not plain and wrapped is not None and key_id_of(wrapped) == ring.active:
                continue
            key = (
                ring.unwrap(owner(row["id"]), wrapped)
                if wrapped is not None
                else new_key(ring, row["id"])[0]
            )
            await conn.execute(
                """UPDATE endpoint SET data_key = $2,
                       sealed_secret = coalesce($3, sealed_secret),
                       sealed_previous_secret = coalesce($4, sealed_previous_secret),
                       secret = NULL, previous_secret = NULL
                   WHERE id = $1""",
                row["id"],
                ring.wrap(key),
                _sealed(key, row["secret"]),
                _sealed(key, row["previous_secret"]),
            )
            changed += 1
    return changed


def _sealed(key: DataKey, secret: str | None) -> bytes | None:
    return None if secret is None else key.seal_text(FIELD, secret)
