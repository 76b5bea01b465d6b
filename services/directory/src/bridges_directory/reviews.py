"""Asking agencies to check their listing, and their one-tap answer (use cases, and the worker
that asks monthly and reopens intakes whose "until" day has come).

A request is a row (`listing_review`) and a `listing.review_requested` event; the notifications
service emails it to the agency with a link signed for that request (`bridges_kit.signed_links`,
the key the two services share). The link confirms every program of the agency, once, until
the request expires; its token never travels on the bus.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID

import structlog

from bridges_directory import events, freshness, listing
from bridges_directory.domain import (
    AgencyNotFound,
    Change,
    ListingReview,
    ReviewLinkInvalid,
    ReviewLinkSpent,
    StoredService,
)
from bridges_directory.freshness import ReviewPolicy
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.principal import Principal
from bridges_kit.signed_links import LinkSigner
from bridges_kit.workers import Periodic

log = structlog.get_logger(__name__)

PURPOSE = "listing-review"  # what the link key signs, for `LinkSigner`
SCHEDULE = "schedule"


def _now() -> datetime:
    return datetime.now(UTC)


async def _request(
    uow: DirectoryUnitOfWork,
    agency_id: UUID,
    checked: Sequence[date | None],
    requested_by: str,
    policy: ReviewPolicy,
    now: datetime,
) -> ListingReview:
    listing_now = freshness.summarize(checked, now.date())
    review = ListingReview(
        id=uuid.uuid4(),
        agency_id=agency_id,
        requested_at=now,
        expires_at=now + policy.link_valid,
        requested_by=requested_by,
        programs=listing_now.programs,
    )
    await uow.reviews.add(review)
    uow.emit(events.review_requested(review, listing_now))
    return review


async def request_due(
    uow: DirectoryUnitOfWork, policy: ReviewPolicy, now: datetime | None = None, batch: int = 100
) -> int:
    """Ask the agencies due a request (none in `policy.every`, a program not checked within it);
    how many were asked. One replica at a time (the others wait for its transaction)."""
    at = now or _now()
    async with uow:
        await uow.reviews.lock()
        due = await uow.reviews.agencies_due(at - policy.every, at.date() - policy.every, batch)
        for agency_id, checked in due:
            await _request(uow, agency_id, checked, SCHEDULE, policy, at)
        await uow.commit()
    return len(due)


async def request_now(
    uow: DirectoryUnitOfWork,
    actor: Principal,
    agency_id: UUID,
    policy: ReviewPolicy,
    now: datetime | None = None,
) -> ListingReview:
    """An admin asks an agency now (whenever its last request was)."""
    at = now or _now()
    async with uow:
        programs = await uow.services.of_agency(agency_id)
        if not programs:
            raise AgencyNotFound(f"no program in the directory has agency {agency_id}")
        checked = [_checked(p) for p in programs]
        review = await _request(uow, agency_id, checked, actor.sub, policy, at)
        await uow.commit()
    return review


def _checked(program: StoredService) -> date | None:
    value = program.document.get("x_bridges", {}).get("last_verified")
    return None if value is None else date.fromisoformat(str(value))


async def confirm_by_link(
    uow: DirectoryUnitOfWork, signer: LinkSigner | None, token: str, now: datetime | None = None
) -> tuple[ListingReview, list[StoredService]]:
    """The agency's "still correct" from the emailed link: every program of the agency checked
    today, once; a link used or expired is refused (`ReviewLinkSpent`), one Bridges did not
    sign is as if it did not exist (`ReviewLinkInvalid`)."""
    at = now or _now()
    review_id = signer.verify(token) if signer is not None else None
    if review_id is None:
        raise ReviewLinkInvalid("no listing review has this link")
    async with uow:
        review = await uow.reviews.get(review_id, for_update=True)
        if review is None:
            raise ReviewLinkInvalid("no listing review has this link")
        if review.confirmed_at is not None:
            raise ReviewLinkSpent(
                f"this link was used on {review.confirmed_at:%Y-%m-%d}: the listing is confirmed"
            )
        if at >= review.expires_at:
            raise ReviewLinkSpent(
                f"this link expired on {review.expires_at:%Y-%m-%d}: sign in to confirm the listing"
            )
        await uow.reviews.confirmed(review.id, at)
        who = Change(
            "confirmed", f"review-link:{review.id}", "agency_link", agency_id=review.agency_id
        )
        programs = await listing.confirm_programs(uow, review.agency_id, who, at)
        await uow.commit()
    return replace(review, confirmed_at=at), programs


class ListingUpkeep(Periodic):
    """Every `interval_s`: ask the agencies due a review, and reopen the intakes whose "until"
    day has come."""

    def __init__(
        self,
        uow: Callable[[], DirectoryUnitOfWork],
        policy: ReviewPolicy,
        interval_s: float,
        reviews: bool = True,
    ) -> None:
        super().__init__(interval_s)
        self._uow, self._policy, self._reviews = uow, policy, reviews

    async def tick(self) -> int:
        asked = await request_due(self._uow(), self._policy) if self._reviews else 0
        reopened = await listing.reopen_due(self._uow())
        if asked or reopened:
            log.info("listing_upkeep", agencies_asked=asked, intakes_reopened=reopened)
        return asked + reopened
