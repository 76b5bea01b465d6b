"""Each case's data key as the repositories of one unit of work use it: made at intake, unwrapped
at most once per unit of work, replaced or destroyed when the family's data is erased; and the
names its fields are sealed under (the associated data, with the case's id).

The family's personal data is sealed under its case's key: the client (names, birth date,
contact, household), the situation, the guardian's name, the withdrawal note, every note in
the referrals' history, and of its follow-up the safe hours, the link's token and the family's
comment. Ids, codes, statuses and times stay plain: lists, filters and
statistics need them and never the family's data.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.sealing import DataKey, KeyRing

CLIENT = "client"
SITUATION = "situation"
GIVEN_BY_NAME = "consent.given_by_name"
WITHDRAWAL_NOTE = "consent.withdrawal_note"
FOLLOW_UP_WINDOW = "follow_up.safe_window"
FOLLOW_UP_LINK = "follow_up.link"
FEEDBACK_COMMENT = "family_feedback.comment"


def history_note(referral_id: UUID, version: int) -> str:
    """A note is bound to its entry: it does not open as another referral's or version's."""
    return f"history.note/{referral_id}/{version}"


class CaseKeyMissing(RuntimeError):
    """A sealed value of a case whose key was destroyed, or a note for such a case (neither
    happens: erasure clears the values, and erased cases' referrals are all closed)."""


class CaseKeys:
    """The data keys of the cases one unit of work touches."""

    def __init__(self, conn: asyncpg.Connection, ring: KeyRing) -> None:
        self._conn, self._ring = conn, ring
        self._known: dict[UUID, DataKey | None] = {}

    @property
    def active_id(self) -> str:
        """The key-encryption key new data keys are wrapped under."""
        return self._ring.active

    def new(self, case_id: UUID) -> tuple[DataKey, bytes]:
        """A fresh key for the case (replacing any it had) and the same wrapped, to store."""
        key, wrapped = self._ring.new_data_key(str(case_id))
        self._known[case_id] = key
        return key, wrapped

    def destroyed(self, case_id: UUID) -> None:
        self._known[case_id] = None

    def of_row(self, case_id: UUID, wrapped: bytes | None) -> DataKey | None:
        """The case's key from its stored (wrapped) form; None once destroyed."""
        if case_id not in self._known:
            self._known[case_id] = (
                None if wrapped is None else self._ring.unwrap(str(case_id), wrapped)
            )
        return self._known[case_id]

    async def of_case(self, case_id: UUID) -> DataKey:
        """The case's key, to seal something of its family (CaseKeyMissing once erased)."""
        if case_id not in self._known:
            wrapped = await self._conn.fetchval(
                "SELECT data_key FROM referral_case WHERE id = $1", case_id
            )
            self.of_row(case_id, wrapped)
        return _usable(self._known[case_id], f"case {case_id}'s data")

    async def of_referral(self, referral_id: UUID) -> DataKey:
        """The key of the referral's case, to seal a note."""
        row = await self._conn.fetchrow(
            """SELECT c.id, c.data_key FROM referral r JOIN referral_case c ON c.id = r.case_id
               WHERE r.id = $1""",
            referral_id,
        )
        key = None if row is None else self.of_row(row["id"], row["data_key"])
        if key is None:
            raise CaseKeyMissing(f"the family's data of referral {referral_id} was erased")
        return key


def _usable(key: DataKey | None, name: str) -> DataKey:
    if key is None:
        raise CaseKeyMissing(f"{name} is sealed under a key that was destroyed")
    return key


def opened_text(key: DataKey | None, name: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else _usable(key, name).open_text(name, sealed)


def opened_json(key: DataKey | None, name: str, sealed: bytes | None) -> Any:
    return None if sealed is None else _usable(key, name).open_json(name, sealed)
