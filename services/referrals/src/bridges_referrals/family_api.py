"""HTTP routes of the family's follow-up: the officer records what the family told them, and the
notifications service fetches a family's message when it sends it (an internal route, with the
services' shared key). The family's own page is `family_page`."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response

from bridges_kit.access import Caller
from bridges_kit.http import router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import Conflict, Problem, Unprocessable
from bridges_referrals import casework, family
from bridges_referrals.follow_up import NotInSafeHours
from bridges_referrals.models import FamilyFeedbackIn, FamilyMessage, ReferralView
from bridges_referrals.uow import ReferralsUnitOfWork

routes = router(tags=["family follow-up"])
UoW = Annotated[ReferralsUnitOfWork, Depends(unit_of_work)]


class Gone(Problem):
    status, title, slug = 410, "Gone", "gone"


class TooEarly(Problem):
    status, title, slug = 425, "Not in the family's safe hours", "not-in-safe-hours"


async def _links(request: Request) -> family.FollowUpLinks:
    links: family.FollowUpLinks = request.app.state.follow_up_links
    return links


Links = Annotated[family.FollowUpLinks, Depends(_links)]


@routes.post(
    "/referrals/{referral_id}/family-feedback",
    summary="Record what the family told the officer: did they get help?",
    description="For a referral whose follow-up goes through the officer (its `ask_family` says "
    "when to ask), or any other: the family's answer is recorded once for its case, and every "
    "referral of the case shows it as `family_feedback`.",
    responses=problem_responses(Conflict, Unprocessable),
)
async def record_family_feedback(
    response: Response, referral_id: UUID, told: FamilyFeedbackIn, officer: Caller, uow: UoW
) -> ReferralView:
    await family.record_by_officer(uow, officer, referral_id, told)
    view = await casework.open_referral(uow, officer, referral_id)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@routes.get(
    "/follow-ups/{follow_up_id}/message",
    summary="A family's follow-up message, to send now (the notifications service)",
    description="The address and the words in the family's language, with the one-tap link. "
    "410 when it is no longer to be sent (consent withdrawn, answered, erased); 425 with "
    "Retry-After outside the family's safe hours.",
    responses=problem_responses(Gone, TooEarly),
)
async def follow_up_message(follow_up_id: UUID, uow: UoW, links: Links) -> FamilyMessage:
    try:
        return await family.family_message(uow, links, follow_up_id)
    except NotInSafeHours as early:
        wait = max(1, math.ceil((early.until - datetime.now(UTC)).total_seconds()))
        raise TooEarly(str(early), retry_after_s=wait) from None
