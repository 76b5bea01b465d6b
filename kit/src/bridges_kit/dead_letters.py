"""Messages a consumer gave up on: parked in the `dead_letters` table, listed and replayed by
ops (HTTP under /events/dead-letters and each service's `dead-letters` command); every replay is
recorded as the operator's action, a failed one too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from pydantic import BaseModel, ValidationError

from bridges_kit import operator_log, text
from bridges_kit.faults import OUTAGE_ERRORS, describe
from bridges_kit.operator_actions import OperatorAction
from bridges_kit.principal import Principal
from bridges_kit.speakers import impostor
from bridges_kit.sql import Params
from bridges_schema import UnknownEventType, parse_event

if TYPE_CHECKING:
    from bridges_kit.consumer import Dispatcher


@dataclass(frozen=True)
class Letter:
    consumer: str
    subject: str
    stream_sequence: int
    event_id: str | None
    payload: bytes
    error: str
    deliveries: int


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    subject: str
    event_id: str | None
    event: dict[str, Any] | None = None  # the event, when the payload is JSON (events hold no PII)
    error: str
    deliveries: int
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterNotFound(LookupError):
    """No such dead letter."""


class NotReplayable(ValueError):
    """The dead letter cannot be replayed (unparseable, or no consumer of this service reads it)."""


class ReplayFailed(RuntimeError):
    """Replaying the dead letter failed again; it stays parked."""


async def park(pool: asyncpg.Pool, letter: Letter) -> None:
    # the subject, id and reason come from the message: whatever it holds must not stop it
    # being parked (a NUL would make PostgreSQL refuse the row, and the consumer loop on it)
    await pool.execute(
        """INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, payload, error,
               deliveries) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (consumer, stream_sequence) DO NOTHING""",
        letter.consumer,
        text.storable(letter.subject),
        letter.stream_sequence,
        None if letter.event_id is None else text.storable(letter.event_id)[:64],
        letter.payload,
        text.storable(letter.error[:1000]),
        letter.deliveries,
    )


_COLUMNS = "id, consumer, subject, event_id, payload, error, deliveries, created_at, replayed_at"


def _out(row: asyncpg.Record) -> DeadLetterOut:
    try:
        event = json.loads(bytes(row["payload"]))
    except (ValueError, UnicodeDecodeError):
        event = None
    fields = {k: row[k] for k in _COLUMNS.split(", ") if k != "payload"}
    return DeadLetterOut(**fields, event=event if isinstance(event, dict) else None)


async def list_letters(
    pool: asyncpg.Pool,
    *,
    consumer: str | None = None,
    replayed: bool | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[DeadLetterOut]:
    """Newest first, keyset-paged by id."""
    p = Params()
    where = ["true"]
    if consumer is not None:
        where.append(f"consumer = {p(consumer)}")
    if replayed is not None:
        where.append("replayed_at IS NOT NULL" if replayed else "replayed_at IS NULL")
    if before_id is not None:
        where.append(f"id < {p(before_id)}")
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE {' AND '.join(where)} "
        f"ORDER BY id DESC LIMIT {p(limit)}",
        *p.values,
    )
    return [_out(r) for r in rows]


async def get_letter(pool: asyncpg.Pool, letter_id: int) -> DeadLetterOut:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = $1", letter_id)
    if row is None:
        raise DeadLetterNotFound(f"no dead letter {letter_id}")
    return _out(row)


async def open_ids(pool: asyncpg.Pool, limit: int) -> list[int]:
    """The parked events nobody replayed yet, oldest first (the order they were parked in)."""
    rows = await pool.fetch(
        "SELECT id FROM dead_letters WHERE replayed_at IS NULL ORDER BY id LIMIT $1", limit
    )
    return [r["id"] for r in rows]


async def replay(
    pool: asyncpg.Pool, dispatchers: list[Dispatcher[Any]], letter_id: int
) -> DeadLetterOut:
    """Apply a parked event again through its consumer's handlers (once: a consumer that has
    applied it meanwhile does nothing). On success the letter is marked replayed."""
    row = await pool.fetchrow(
        "SELECT consumer, subject, payload, replayed_at FROM dead_letters WHERE id = $1",
        letter_id,
    )
    if row is None:
        raise DeadLetterNotFound(f"no dead letter {letter_id}")
    dispatcher = next((d for d in dispatchers if d.durable == row["consumer"]), None)
    if dispatcher is None:
        raise NotReplayable(f"no consumer {row['consumer']} in this service")
    if row["replayed_at"] is None:
        try:
            event = parse_event(bytes(row["payload"]))
        except (ValidationError, UnknownEventType, ValueError) as exc:
            raise NotReplayable(f"the message is still unparseable: {describe(exc)}") from None
        subject: str = row["subject"]
        refusal = impostor(event, subject, subject.split(".", 1)[0]) or text.first_unstorable(
            event.model_dump(mode="json")
        )
        if refusal is not None:  # what the consumer refuses, a replay does not apply either
            raise NotReplayable(refusal)
        try:
            await dispatcher.apply(event)
        except OUTAGE_ERRORS:
            raise  # not the letter's fault: the caller gets a 503 and may try again
        except Exception as exc:
            raise ReplayFailed(f"replay failed again: {describe(exc)}") from exc
        await pool.execute(
            "UPDATE dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL",
            letter_id,
        )
    return await get_letter(pool, letter_id)


REFUSALS = (DeadLetterNotFound, NotReplayable, ReplayFailed)


async def replay_by(
    pool: asyncpg.Pool, dispatchers: list[Dispatcher[Any]], letter_id: int, actor: Principal
) -> DeadLetterOut:
    """`replay`, recording who replayed which letter and how it ended."""
    try:
        letter = await replay(pool, dispatchers, letter_id)
    except REFUSALS as exc:
        failed = OperatorAction.by(
            actor, "dead_letter.replay", letter_id, outcome="failed", error=str(exc)
        )
        await operator_log.record(pool, failed)
        raise
    done = OperatorAction.by(actor, "dead_letter.replay", letter_id, consumer=letter.consumer)
    await operator_log.record(pool, done)
    return letter
