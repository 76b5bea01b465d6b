"""What a list of referrals asks for and what it gets (pure): whose referrals (an agency's
inbox, an officer's own), filters, a search, an order and a keyset cursor over that order's
keys; and each row as domain objects, the family's data opened only where the reader may see
it (`sharing.shows_client`). The SQL is `queries`; the use case `lists`."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from bridges_referrals import family_names, references
from bridges_referrals.domain import Case, HistoryEntry, Referral
from bridges_referrals.follow_up import FamilyFeedback
from bridges_schema import ReferralStatus, Urgency


class ListingOrder(StrEnum):
    NEWEST = "newest"  # filed most recently first
    OLDEST = "oldest"
    DUE = "due"  # least time left to respond first: the overdue on top
    URGENCY = "urgency"  # emergency, high, routine; then least time left
    UPDATED = "updated"  # changed most recently first (may shift while paging)


# Each order's keys (a referral's attribute name each, the id breaking ties last) and direction.
ORDER_KEYS: dict[ListingOrder, tuple[tuple[str, ...], str]] = {
    ListingOrder.NEWEST: (("created_at",), "DESC"),
    ListingOrder.OLDEST: (("created_at",), "ASC"),
    ListingOrder.DUE: (("respond_by",), "ASC"),
    ListingOrder.URGENCY: (("urgency_rank", "respond_by"), "ASC"),
    ListingOrder.UPDATED: (("updated_at",), "DESC"),
}
URGENCY_RANK = {Urgency.EMERGENCY: 0, Urgency.HIGH: 1, Urgency.ROUTINE: 2}


class BadCursor(ValueError):
    """The paging cursor was not one this service issued (or is for another order)."""


@dataclass(frozen=True)
class Filters:
    statuses: tuple[ReferralStatus, ...] = ()
    urgency: Urgency | None = None
    program_id: UUID | None = None
    overdue: bool | None = None
    ask_family: bool | None = None  # officers: the family is to be asked "did you get help?"


@dataclass(frozen=True)
class Search:
    """What was typed in a search box: a reference, or words of the family's name (a
    referral matches either way)."""

    reference: str | None
    name_words: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Search:
        return cls(references.canonical(text), tuple(family_names.query_words(text)))

    @property
    def empty(self) -> bool:
        return self.reference is None and not self.name_words


@dataclass(frozen=True)
class Owner:
    """Whose referrals: those sent to an agency, or those an officer filed."""

    agency_id: UUID | None = None
    officer_id: str | None = None


@dataclass(frozen=True)
class ListingRequest:
    owner: Owner
    filters: Filters = Filters()
    order: ListingOrder = ListingOrder.NEWEST
    cursor: str | None = None
    limit: int = 50
    search: Search | None = None


@dataclass(frozen=True)
class ListedRow:
    referral: Referral
    case: Case  # its client opened only where the reader may see it
    last_change: HistoryEntry | None = None
    feedback: FamilyFeedback | None = None  # officers' lists: the family's answer, no comment
    ask_family: bool = False


@dataclass(frozen=True)
class Listed:
    rows: Sequence[ListedRow]
    next_cursor: str | None


def order_values(order: ListingOrder, referral: Referral) -> list[Any]:
    """The values of `order`'s keys for `referral` (what a cursor after it holds)."""
    values: list[Any] = []
    for key in ORDER_KEYS[order][0]:
        if key == "urgency_rank":
            values.append(URGENCY_RANK[referral.urgency])
        else:
            values.append(getattr(referral, key))
    return values


def encode_cursor(order: ListingOrder, referral: Referral) -> str:
    keys = [v.isoformat() if isinstance(v, datetime) else v for v in order_values(order, referral)]
    raw = json.dumps([order.value, keys, str(referral.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(order: ListingOrder, cursor: str) -> tuple[list[Any], UUID]:
    """The order's key values and the id a page goes on after."""
    try:
        cursor_order, keys, referral_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        names = ORDER_KEYS[order][0]
        if cursor_order != order.value or not isinstance(keys, list) or len(keys) != len(names):
            raise ValueError("the order changed")
        values: list[Any] = []
        for name, value in zip(names, keys, strict=True):
            if name == "urgency_rank":
                if type(value) is not int or value not in URGENCY_RANK.values():
                    raise ValueError("not an urgency rank")
                values.append(value)
            else:
                values.append(datetime.fromisoformat(value))
        return values, UUID(referral_id)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not valid for this listing; start again without it") from exc
