"""The operators' log: every service's append-only `operator_actions` table, written in the
same transaction as the action where the action has one (`SqlOperatorActions` in a unit of
work), read by ops and admins at `GET /ops/actions`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from bridges_kit import text
from bridges_kit.operator_actions import OperatorAction
from bridges_kit.sql import Params
from bridges_kit.sql_uow import Repository


class OperatorActionOut(BaseModel):
    id: int
    at: datetime
    actor: str
    name: str | None
    role: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]


_INSERT = """INSERT INTO operator_actions (actor, name, role, action, target, outcome, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7)"""


def _row(action: OperatorAction) -> tuple[Any, ...]:
    # an error text may quote what a receiver answered: kept storable, and short
    detail = {
        k: text.storable(v)[:300] if isinstance(v, str) else v for k, v in action.detail.items()
    }
    return (
        action.actor,
        action.name,
        action.role,
        action.action,
        text.storable(action.target)[:200],
        action.outcome,
        detail,
    )


async def record(pool: asyncpg.Pool, action: OperatorAction) -> None:
    """Record an action that has no transaction of its own (e.g. a replay through a consumer)."""
    await pool.execute(_INSERT, *_row(action))


class SqlOperatorActions(Repository):
    """For a unit of work: the action recorded with the change it made, or not at all."""

    async def record(self, action: OperatorAction) -> None:
        await self._conn.execute(_INSERT, *_row(action))


async def list_actions(
    pool: asyncpg.Pool,
    *,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[OperatorActionOut]:
    """Newest first, keyset-paged by id."""
    p = Params()
    where = ["true"]
    if action is not None:
        where.append(f"action = {p(action)}")
    if before_id is not None:
        where.append(f"id < {p(before_id)}")
    rows = await pool.fetch(
        f"""SELECT id, at, actor, name, role, action, target, outcome, detail
            FROM operator_actions WHERE {" AND ".join(where)}
            ORDER BY id DESC LIMIT {p(limit)}""",
        *p.values,
    )
    return [OperatorActionOut.model_validate(dict(r)) for r in rows]
