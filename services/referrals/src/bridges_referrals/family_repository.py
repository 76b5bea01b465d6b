"""The family's follow-ups and answers in PostgreSQL (migration 040). What could tell about the
family (its safe hours, its link's token, its comment) is sealed under the case's key
(`case_keys`) and erased with the rest of its data (`repository.SqlCases`); a link finds its
follow-up by the token's hash, so the database alone cannot answer for a family."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from bridges_kit.sql_uow import Repository
from bridges_referrals.case_keys import (
    FEEDBACK_COMMENT,
    FOLLOW_UP_LINK,
    FOLLOW_UP_WINDOW,
    CaseKeys,
    opened_json,
    opened_text,
)
from bridges_referrals.follow_up import (
    AnswerChannel,
    FamilyFeedback,
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    SafeWindow,
    token_hash,
)
from bridges_schema import FamilyAnswer

_COLUMNS = """f.id, f.case_id, f.channel, f.status, f.due_at, f.reconfirmed, f.chosen,
    f.sent_at, f.expires_at"""
_WITH_KEY = f"""SELECT {_COLUMNS}, f.safe_window, c.data_key
    FROM follow_up f JOIN referral_case c ON c.id = f.case_id"""


def _follow_up(row: asyncpg.Record, window: SafeWindow | None = None) -> FollowUp:
    return FollowUp(
        id=row["id"],
        case_id=row["case_id"],
        channel=FollowUpChannel(row["channel"]),
        status=FollowUpStatus(row["status"]),
        due_at=row["due_at"],
        reconfirmed=row["reconfirmed"],
        chosen=row["chosen"],
        sent_at=row["sent_at"],
        expires_at=row["expires_at"],
        window=window,
    )


class SqlFollowUps(Repository):
    def __init__(self, conn: asyncpg.Connection, keys: CaseKeys) -> None:
        super().__init__(conn)
        self._keys = keys

    def _opened(self, row: asyncpg.Record | None, personal: bool) -> FollowUp | None:
        if row is None:
            return None
        if not personal or row["safe_window"] is None:
            return _follow_up(row)
        key = self._keys.of_row(row["case_id"], row["data_key"])
        window = opened_json(key, FOLLOW_UP_WINDOW, row["safe_window"])
        return _follow_up(row, SafeWindow.from_json(window))

    async def get(self, case_id: UUID, *, personal: bool = False) -> FollowUp | None:
        row = await self._conn.fetchrow(f"{_WITH_KEY} WHERE f.case_id = $1", case_id)
        return self._opened(row, personal)

    async def by_id(self, follow_up_id: UUID) -> FollowUp | None:
        row = await self._conn.fetchrow(f"{_WITH_KEY} WHERE f.id = $1", follow_up_id)
        return self._opened(row, personal=True)

    async def by_token(self, token: str, *, for_update: bool = False) -> FollowUp | None:
        lock = " FOR UPDATE OF f" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM follow_up f WHERE f.token_hash = $1{lock}", token_hash(token)
        )
        return None if row is None else _follow_up(row)

    async def link_token(self, follow_up_id: UUID) -> str | None:
        row = await self._conn.fetchrow(
            """SELECT f.case_id, f.token, c.data_key FROM follow_up f
               JOIN referral_case c ON c.id = f.case_id WHERE f.id = $1""",
            follow_up_id,
        )
        if row is None or row["token"] is None:
            return None
        key = self._keys.of_row(row["case_id"], row["data_key"])
        return opened_text(key, FOLLOW_UP_LINK, row["token"])

    async def claim_due(self, now: datetime, limit: int) -> list[FollowUp]:
        rows = await self._conn.fetch(
            f"""SELECT {_COLUMNS} FROM follow_up f
                WHERE f.status = 'scheduled' AND f.channel IN ('email', 'text')
                  AND f.due_at <= $1
                ORDER BY f.due_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
        return [_follow_up(r) for r in rows]

    async def sent(
        self, follow_up_id: UUID, token: str, at: datetime, expires_at: datetime
    ) -> None:
        case_id = await self._conn.fetchval(
            "SELECT case_id FROM follow_up WHERE id = $1", follow_up_id
        )
        sealed = (await self._keys.of_case(case_id)).seal_text(FOLLOW_UP_LINK, token)
        await self._conn.execute(
            """UPDATE follow_up SET status = 'sent', token_hash = $2, token = $3, sent_at = $4,
                   expires_at = $5
               WHERE id = $1""",
            follow_up_id,
            token_hash(token),
            sealed,
            at,
            expires_at,
        )

    async def set_status(self, follow_up_id: UUID, status: FollowUpStatus) -> None:
        await self._conn.execute(
            """UPDATE follow_up SET status = $2,
                   token = CASE WHEN $2 IN ('answered', 'cancelled') THEN NULL ELSE token END
               WHERE id = $1""",
            follow_up_id,
            status.value,
        )


class SqlFamilyFeedbacks(Repository):
    def __init__(self, conn: asyncpg.Connection, keys: CaseKeys) -> None:
        super().__init__(conn)
        self._keys = keys

    async def add(self, feedback: FamilyFeedback) -> bool:
        sealed = None
        if feedback.comment is not None:
            key = await self._keys.of_case(feedback.case_id)
            sealed = key.seal_text(FEEDBACK_COMMENT, feedback.comment)
        added = await self._conn.fetchval(
            """INSERT INTO family_feedback (case_id, answer, at, via, recorded_by, comment)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (case_id) DO NOTHING RETURNING true""",
            feedback.case_id,
            feedback.answer.value,
            feedback.at,
            feedback.via.value,
            feedback.recorded_by,
            sealed,
        )
        return bool(added)

    async def of_case(self, case_id: UUID, *, comment: bool = False) -> FamilyFeedback | None:
        row = await self._conn.fetchrow(
            """SELECT b.*, c.data_key FROM family_feedback b
               JOIN referral_case c ON c.id = b.case_id WHERE b.case_id = $1""",
            case_id,
        )
        if row is None:
            return None
        words = None
        if comment and row["comment"] is not None:
            key = self._keys.of_row(case_id, row["data_key"])
            words = opened_text(key, FEEDBACK_COMMENT, row["comment"])
        return FamilyFeedback(
            case_id=case_id,
            answer=FamilyAnswer(row["answer"]),
            at=row["at"],
            via=AnswerChannel(row["via"]),
            recorded_by=row["recorded_by"],
            comment=words,
        )
