"""Listing referrals as the reader may see them (use case): an agency's inbox and an officer's
own list. Each row shows what `sharing` allows at a glance (the family's label, language and
interpreter under `contact`; needs under `needs`); a page that shows any family's data is
written to the audit log once, with the referrals it showed, unless the reader already holds
that very page (a poll answered 304 records nothing)."""

from __future__ import annotations

from collections.abc import Callable

from bridges_kit.principal import Principal
from bridges_referrals import audit, sharing, views
from bridges_referrals.domain import Clock, utc_now
from bridges_referrals.listings import ListingRequest, Owner
from bridges_referrals.models import ReferralPage
from bridges_referrals.uow import ReferralsUnitOfWork

Held = Callable[[ReferralPage], bool]


def _never_held(page: ReferralPage) -> bool:
    return False


async def listed(
    uow: ReferralsUnitOfWork,
    reader: Principal,
    request: ListingRequest,
    held: Held = _never_held,
    clock: Clock = utc_now,
) -> ReferralPage:
    """One page of `request.owner`'s referrals (which the caller checked is the reader's own:
    their agency's, or their own). `held` says whether the reader already holds this page."""
    async with uow:
        found = await uow.listings.page(
            request, lambda referral, case: sharing.shows_client(reader, referral, case)
        )
        now = clock()
        items, shown = [], []
        for row in found.rows:
            shared = sharing.shared_with(reader, row.referral, row.case)
            items.append(
                views.listed(
                    row.referral,
                    row.case,
                    shared,
                    now,
                    row.last_change,
                    row.feedback,
                    row.ask_family,
                )
            )
            if shared.client:
                shown.append(str(row.referral.id))
        page = ReferralPage(items=items, next_cursor=found.next_cursor)
        if shown and not held(page):
            await uow.audit.record(
                audit.Actor.of(reader),
                audit.Action.PII_LISTED,
                detail={"referrals": shown, "fields": list(views.LISTED_FAMILY_FIELDS)},
            )
            await uow.commit()
    return page


def inbox_of(staff: Principal) -> Owner:
    return Owner(agency_id=staff.agency_id)


def filed_by(officer: Principal) -> Owner:
    return Owner(officer_id=officer.sub)
