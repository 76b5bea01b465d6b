"""What ops and admins did through the operations surfaces: replays, pauses, endpoint and
recipient changes, test events. One append-only table per service (`operator_actions`), written
in the same transaction as the action where the action has one, read by ops and admins at
`GET /ops/actions`. Ids, action names and outcomes only: never family data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from bridges_kit import text
from bridges_kit.principal import Principal
from bridges_kit.sql import Params
from bridges_kit.sql_uow import Repository


@dataclass(frozen=True)
class OperatorAction:
    """One action: who (`actor` is the token's subject), what (`action`, e.g.
    "delivery.replay"), on what (`target`, an id) and how it ended."""

    actor: str
    role: str
    action: str
    target: str
    outcome: str = "done"
    name: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by(
        cls,
        principal: Principal,
        action: str,
        target: object,
        *,
        outcome: str = "done",
        **detail: Any,
    ) -> OperatorAction:
        return cls(
            principal.sub,
            principal.role.value,
            action,
            str(target),
            outcome,
            principal.name,
            detail,
        )


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
