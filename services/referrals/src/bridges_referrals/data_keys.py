"""Ops over the cases' data keys, safe while the service runs: which key-encryption keys are in
use (and refusing to start without one of them), rotation (re-wrapping each case's data key
under the active key, in batches, and rewriting the blind index of families' names under it),
and sealing what was stored before sealing existed.

Rotation touches one small column per case: the fields stay sealed under the same data key. The
name index (`name_index`) is derived from the key ring too: its tokens are made again from each
case's name, opened with the case's data key.
Each batch is its own transaction and takes its cases with FOR UPDATE SKIP LOCKED, so intake and
casework go on meanwhile; a case busy at that moment is taken by a later batch or run. Running
it again is harmless: it only takes cases still under another key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from bridges_kit.sealing import DataKey, KeyRing, unsealed
from bridges_referrals import case_queues, name_index
from bridges_referrals.case_keys import (
    CLIENT,
    GIVEN_BY_NAME,
    SITUATION,
    WITHDRAWAL_NOTE,
    history_note,
)

BATCH = 500


class DataKeysMissing(RuntimeError):
    """Cases' data keys are wrapped under key-encryption keys the key ring does not hold."""


@dataclass(frozen=True)
class Usage:
    """How many cases' data keys each key-encryption key wraps, and under which key how many
    cases' names are indexed."""

    by_key: dict[str, int]
    erased: int  # cases without a key: their family's data was erased
    unsealed: int  # cases holding data from before sealing (sealed at start-up)
    names_by_key: dict[str, int] = field(default_factory=dict)

    def needed(self) -> dict[str, int]:
        """Cases that need each key (their data key, or their name's index)."""
        ids = set(self.by_key) | set(self.names_by_key)
        return {k: max(self.by_key.get(k, 0), self.names_by_key.get(k, 0)) for k in ids}

    def missing(self, ring: KeyRing) -> dict[str, int]:
        return {key_id: n for key_id, n in self.needed().items() if key_id not in ring.keys}

    def describe(self, ring: KeyRing) -> str:
        lines = [f"{'key':<24}{'cases':>10}{'names':>10}"]
        needed = self.needed()
        for key_id in sorted(set(ring.keys) | set(needed)):
            state = (
                "active"
                if key_id == ring.active
                else "MISSING from the ring"
                if key_id not in ring.keys
                else "unused: may be removed"
                if not needed.get(key_id)
                else "in use: run `keys rotate`"
            )
            counts = f"{self.by_key.get(key_id, 0):>10}{self.names_by_key.get(key_id, 0):>10}"
            lines.append(f"{key_id:<24}{counts}  {state}")
        lines.append(f"{'(erased: no key)':<24}{self.erased:>10}")
        if self.unsealed:
            lines.append(f"{'(not sealed yet)':<24}{self.unsealed:>10}  sealed at start-up")
        return "\n".join(lines)


async def usage(conn: asyncpg.Connection) -> Usage:
    rows = await conn.fetch(
        "SELECT data_key_id, count(*) AS cases FROM referral_case GROUP BY data_key_id"
    )
    counts = {row["data_key_id"]: row["cases"] for row in rows}
    erased = counts.pop(None, 0)
    unsealed_cases = await conn.fetchval("SELECT count(*) FROM unsealed_case")
    names = await name_index.usage(conn)
    return Usage(counts, erased - unsealed_cases, unsealed_cases, names)


async def check_ring(conn: asyncpg.Connection, ring: KeyRing) -> Usage:
    """Refuse a key ring that lacks a key-encryption key some case still needs."""
    found = await usage(conn)
    missing = found.missing(ring)
    if missing:
        listed = ", ".join(f"{key_id!r} ({n} cases)" for key_id, n in sorted(missing.items()))
        raise DataKeysMissing(
            f"the key ring lacks key-encryption keys that cases still need: {listed}. Put them "
            "back in the key ring (BRIDGES_DATA_KEY_FILE or BRIDGES_DATA_KEYS); to retire a "
            "key, first `keys rotate` and remove it only when `keys status` shows 0 cases"
        )
    return found


Progress = Callable[[str, int, int], None]  # key id, re-wrapped so far, how many were under it


@dataclass(frozen=True)
class Rotation:
    rewrapped: int  # cases' data keys
    reindexed: int  # cases' names


async def rotate(
    pool: asyncpg.Pool, ring: KeyRing, batch: int = BATCH, progress: Progress | None = None
) -> Rotation:
    """Re-wrap every case's data key, and rewrite every name's index, under the active key."""
    rewrapped = await _rewrap(pool, ring, batch, progress)
    return Rotation(rewrapped, await name_index.reindex(pool, ring, batch))


async def _rewrap(pool: asyncpg.Pool, ring: KeyRing, batch: int, progress: Progress | None) -> int:
    async with pool.acquire() as conn:
        found = await check_ring(conn, ring)
    rewrapped = 0
    for key_id, total in sorted(found.by_key.items()):
        if key_id == ring.active:
            continue
        done = 0
        while moved := await _rewrap_batch(pool, ring, key_id, batch):
            done += moved
            if progress is not None:
                progress(key_id, done, total)
        rewrapped += done
    return rewrapped


async def _rewrap_batch(pool: asyncpg.Pool, ring: KeyRing, key_id: str, batch: int) -> int:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT id, data_key FROM referral_case WHERE data_key_id = $1
               LIMIT $2 FOR UPDATE SKIP LOCKED""",
            key_id,
            batch,
        )
        await conn.executemany(
            "UPDATE referral_case SET data_key = $2, data_key_id = $3 WHERE id = $1",
            [
                (row["id"], ring.rewrap(str(row["id"]), row["data_key"]), ring.active)
                for row in rows
            ],
        )
    return len(rows)


# -- data stored before sealing --------------------------------------------------------------


async def seal_unsealed(pool: asyncpg.Pool, ring: KeyRing, batch: int = 200) -> int:
    """Seal the cases migration 005 queued (their values stored plain); returns how many."""

    async def seal(conn: asyncpg.Connection, ids: list[UUID]) -> None:
        for case_id in ids:
            await _seal_case(conn, ring, case_id)

    return await case_queues.drain(pool, "unsealed_case", seal, batch)


def _seal(key: DataKey, name: str, legacy: bytes | None) -> bytes | None:
    return None if legacy is None else key.seal(name, unsealed(legacy))


async def _seal_case(conn: asyncpg.Connection, ring: KeyRing, case_id: UUID) -> None:
    key, wrapped = ring.new_data_key(str(case_id))
    case = await conn.fetchrow(
        "SELECT client, situation FROM referral_case WHERE id = $1 FOR UPDATE", case_id
    )
    await conn.execute(
        """UPDATE referral_case SET client = $2, situation = $3, data_key = $4, data_key_id = $5
           WHERE id = $1""",
        case_id,
        _seal(key, CLIENT, case["client"]),
        _seal(key, SITUATION, case["situation"]),
        wrapped,
        ring.active,
    )
    for consent in await conn.fetch(
        "SELECT id, given_by_name, withdrawal_note FROM consent WHERE case_id = $1", case_id
    ):
        await conn.execute(
            "UPDATE consent SET given_by_name = $2, withdrawal_note = $3 WHERE id = $1",
            consent["id"],
            _seal(key, GIVEN_BY_NAME, consent["given_by_name"]),
            _seal(key, WITHDRAWAL_NOTE, consent["withdrawal_note"]),
        )
    notes = await conn.fetch(
        """SELECT h.id, h.referral_id, h.version, h.note FROM referral_history h
           JOIN referral r ON r.id = h.referral_id
           WHERE r.case_id = $1 AND h.note IS NOT NULL""",
        case_id,
    )
    await conn.executemany(
        "UPDATE referral_history SET note = $2 WHERE id = $1",
        [
            (n["id"], _seal(key, history_note(n["referral_id"], n["version"]), n["note"]))
            for n in notes
        ],
    )
