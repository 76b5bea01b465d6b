"""The blind index of families' names in PostgreSQL (`family_name_token`): what lets staff
search a name that is stored only sealed (see `bridges_kit.blind_index`, `family_names`).

A case's tokens are written with the case at intake (under the key ring's active key), deleted
with the family's data (consent withdrawn, retention), rewritten under the active key by
`keys rotate` (`reindex`), and made at start-up for cases filed before the index existed
(`index_unindexed`). Only the client's given and family names are indexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.blind_index import BlindIndex
from bridges_kit.sealing import KeyRing
from bridges_kit.sql import Params
from bridges_referrals import case_queues, family_names
from bridges_referrals.case_keys import CLIENT, opened_json

PURPOSE = "family-name"
ERASE = "DELETE FROM family_name_token WHERE case_id = $1"


def of(ring: KeyRing) -> BlindIndex:
    return BlindIndex(ring, PURPOSE)


def tokens(index: BlindIndex, client: Mapping[str, Any] | None) -> list[bytes]:
    """The tokens of a client's names, under the active key."""
    return index.tokens(family_names.indexed_words(client))


INSERT = """INSERT INTO family_name_token (case_id, key_id, token)
    SELECT $1, $2, t FROM unnest($3::bytea[]) AS t ON CONFLICT DO NOTHING"""


async def write(
    conn: asyncpg.Connection, index: BlindIndex, case_id: UUID, client: Mapping[str, Any] | None
) -> None:
    found = tokens(index, client)
    if found:
        await conn.execute(INSERT, case_id, index.active, found)


def matching_cases(p: Params, index: BlindIndex, words: Sequence[str]) -> str:
    """SQL for the ids of the cases whose names hold every one of `words` (under any key)."""
    numbers, looked_up = [], []
    for number, word in enumerate(words):
        for token in index.lookups(word):
            numbers.append(number)
            looked_up.append(token)
    return f"""SELECT t.case_id FROM family_name_token t
        JOIN unnest({p(numbers)}::int[], {p(looked_up)}::bytea[]) AS q (word, token)
          ON t.token = q.token
        GROUP BY t.case_id HAVING count(DISTINCT q.word) = {p(len(words))}"""


async def _rebuild(
    conn: asyncpg.Connection, ring: KeyRing, index: BlindIndex, rows: Sequence[asyncpg.Record]
) -> None:
    """Replace the tokens of each case of `rows` (id, data_key, client) by tokens under the
    active key, from its client opened with its own data key."""
    for row in rows:
        await conn.execute(ERASE, row["id"])
        if row["data_key"] is None or row["client"] is None:
            continue  # erased meanwhile: nothing to find any more
        key = ring.unwrap(str(row["id"]), row["data_key"])
        await write(conn, index, row["id"], opened_json(key, CLIENT, row["client"]))


async def reindex(pool: asyncpg.Pool, ring: KeyRing, batch: int) -> int:
    """Rewrite under the active key the tokens of cases still indexed under another key, a
    batch per transaction (cases busy elsewhere are left for a later batch or run)."""
    index, done = of(ring), 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT c.id, c.data_key, c.client FROM referral_case c
                   WHERE c.id IN (SELECT case_id FROM family_name_token WHERE key_id <> $1
                                  LIMIT $2)
                   FOR UPDATE OF c SKIP LOCKED""",
                ring.active,
                batch,
            )
            await _rebuild(conn, ring, index, rows)
        done += len(rows)
        if not rows:
            return done


async def index_unindexed(pool: asyncpg.Pool, ring: KeyRing, batch: int = 200) -> int:
    """Index the cases migration 011 queued (filed before the index); returns how many."""
    index = of(ring)

    async def build(conn: asyncpg.Connection, ids: list[UUID]) -> None:
        rows = await conn.fetch(
            """SELECT id, data_key, client FROM referral_case WHERE id = ANY($1::uuid[])
               FOR UPDATE""",
            ids,
        )
        await _rebuild(conn, ring, index, rows)

    return await case_queues.drain(pool, "unindexed_case", build, batch)


async def usage(conn: asyncpg.Connection) -> dict[str, int]:
    """How many cases' names are indexed under each key."""
    rows = await conn.fetch(
        "SELECT key_id, count(DISTINCT case_id) AS cases FROM family_name_token GROUP BY key_id"
    )
    return {row["key_id"]: row["cases"] for row in rows}
