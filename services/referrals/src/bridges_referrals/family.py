"""The family's follow-up, as use cases (the rules are `follow_up`'s):
- `send_due`: a due follow-up gets its link's token and its `follow_up_due` event, once;
- `family_message`: the message the notifications service sends, built when it sends it (so
  the address and the link never travel on the bus nor rest in its database);
- `open_link` / `answer_by_link`: the family's page; `record_by_officer`: the officer's;
- `on_family_message_delivered` / `_undeliverable`: what became of the message.
Each runs in one unit of work: an answer, its follow-up's status, its event and its audit
entry are written together, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from bridges_kit.principal import Principal
from bridges_referrals import audit, events, family_text
from bridges_referrals.domain import Case, Clock, ReferralNotFound, utc_now
from bridges_referrals.follow_up import (
    SENT_STATUSES,
    AnswerChannel,
    FamilyFeedback,
    FeedbackAlreadyGiven,
    FeedbackNotAccepted,
    FollowUp,
    FollowUpGone,
    FollowUpLinkNotValid,
    FollowUpStatus,
    check_in_safe_hours,
    family_language,
    new_token,
)
from bridges_referrals.models import FamilyFeedbackIn, FamilyMessage
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import (
    CloudEvent,
    FamilyAnswer,
    FamilyMessageDelivered,
    FamilyMessageUndeliverable,
    ReferralStatus,
)

NOTIFICATIONS = audit.Actor("bridges-notifications", "service")


@dataclass(frozen=True)
class FollowUpLinks:
    """Where a family's link leads (`<base>/<token>`) and how long it works."""

    base: str
    lifetime: timedelta = timedelta(days=30)

    def of(self, token: str) -> str:
        return f"{self.base.rstrip('/')}/{token}"


async def send_due(
    uow: ReferralsUnitOfWork, lifetime: timedelta, batch: int = 100, clock: Clock = utc_now
) -> int:
    """Send one batch of due follow-up messages (email, text); returns how many were due. A
    follow-up whose family withdrew consent, or whose referrals were all cancelled, is
    cancelled instead."""
    async with uow:
        now = clock()
        due = await uow.follow_ups.claim_due(now, batch)
        for follow_up in due:
            case = await uow.cases.get(follow_up.case_id, personal=False)
            referrals = await uow.referrals.of_case(follow_up.case_id)
            withdrawn = case is None or not case.consent.active or case.purged_at is not None
            if withdrawn or all(r.status is ReferralStatus.CANCELLED for r in referrals):
                await uow.follow_ups.set_status(follow_up.id, FollowUpStatus.CANCELLED)
                continue
            await uow.follow_ups.sent(follow_up.id, new_token(), now, now + lifetime)
            uow.emit(events.follow_up_due(follow_up, now))
        await uow.commit()
    return len(due)


async def family_message(
    uow: ReferralsUnitOfWork, links: FollowUpLinks, follow_up_id: UUID, clock: Clock = utc_now
) -> FamilyMessage:
    """The message of a sent follow-up, to send now: FollowUpGone if it is no longer to be sent,
    NotInSafeHours outside the family's hours. Reading the address is audited."""
    async with uow:
        follow_up = await uow.follow_ups.by_id(follow_up_id)
        if follow_up is None:
            raise FollowUpGone(f"no follow-up {follow_up_id}")
        channel = follow_up.message_channel
        now = clock()
        token = await uow.follow_ups.link_token(follow_up_id)
        if channel is None or token is None or not follow_up.link_works(now):
            raise FollowUpGone(f"the follow-up {follow_up_id} is not to be sent (any more)")
        assert follow_up.window is not None  # a sent follow-up keeps its hours until erased
        check_in_safe_hours(follow_up.window, now)
        case = await uow.cases.get(follow_up.case_id)
        contact = dict((case.client or {}).get("contact") or {}) if case else {}
        address = contact.get("email" if channel.value == "email" else "phone")
        if case is None or not address:
            raise FollowUpGone(f"the follow-up {follow_up_id} has no address any more")
        language = family_language(str(contact.get("preferred_language", "en")))
        words = family_text.message(language, channel, links.of(token), days=links.lifetime.days)
        await uow.audit.record(
            NOTIFICATIONS,
            audit.Action.PII_READ,
            case_id=case.id,
            detail={"fields": [f"contact.{'email' if channel.value == 'email' else 'phone'}"]},
        )
        await uow.commit()
    return FamilyMessage(
        follow_up_id=follow_up_id,
        channel=channel.value,
        to=str(address),
        language=language,
        subject=words.subject,
        text=words.text,
        html=words.html,
    )


@dataclass(frozen=True)
class LinkState:
    """What the family's page shows for a link: the question, that it was answered, or that the
    link does not work; in the family's language."""

    language: str
    open: bool = False
    answered: bool = False


async def open_link(uow: ReferralsUnitOfWork, token: str, clock: Clock = utc_now) -> LinkState:
    """What a link opens to (a pure read)."""
    async with uow:
        follow_up = await uow.follow_ups.by_token(token)
        if follow_up is None:
            return LinkState(language="")
        language = await _language(uow, follow_up.case_id)
        if follow_up.status is FollowUpStatus.ANSWERED:
            return LinkState(language, answered=True)
        return LinkState(language, open=follow_up.link_works(clock()))


async def answer_by_link(
    uow: ReferralsUnitOfWork,
    token: str,
    answer: FamilyAnswer,
    comment: str | None,
    clock: Clock = utc_now,
) -> LinkState:
    """Record the family's answer through its link, once: FollowUpLinkNotValid for a link that
    does not work, FeedbackAlreadyGiven for a second answer."""
    async with uow:
        follow_up = await uow.follow_ups.by_token(token, for_update=True)
        if follow_up is None:
            raise FollowUpLinkNotValid("this link does not work")
        now = clock()
        if follow_up.status is FollowUpStatus.ANSWERED:
            raise FeedbackAlreadyGiven("this question was already answered")
        if not follow_up.link_works(now):
            raise FollowUpLinkNotValid("this link does not work any more")
        case = await uow.cases.get(follow_up.case_id, personal=False)
        assert case is not None
        feedback = FamilyFeedback(case.id, answer, now, AnswerChannel.LINK, comment=comment)
        await _record(uow, case, follow_up, feedback, audit.Actor("family", "family"))
        language = await _language(uow, case.id)
        await uow.commit()
    return LinkState(language, answered=True)


async def record_by_officer(
    uow: ReferralsUnitOfWork,
    officer: Principal,
    referral_id: UUID,
    told: FamilyFeedbackIn,
    clock: Clock = utc_now,
) -> None:
    """The officer records what the family told them (the filing officer only; the case's
    every referral shows it)."""
    async with uow:
        referral = await uow.referrals.get(referral_id)
        if referral is None or referral.officer_id != officer.sub:
            raise ReferralNotFound(f"no referral {referral_id}")
        case = await uow.cases.get(referral.case_id, for_update=True, personal=False)
        assert case is not None
        if not case.consent.active or case.purged_at is not None:
            raise FeedbackNotAccepted(
                "the family withdrew its consent (or its data was erased): nothing more is "
                "recorded about it"
            )
        follow_up = await uow.follow_ups.get(case.id)
        feedback = FamilyFeedback(
            case.id,
            told.answer,
            clock(),
            AnswerChannel.OFFICER,
            recorded_by=officer.sub,
            comment=told.comment,
        )
        await _record(uow, case, follow_up, feedback, audit.Actor.of(officer))
        await uow.commit()


async def _record(
    uow: ReferralsUnitOfWork,
    case: Case,
    follow_up: FollowUp | None,
    feedback: FamilyFeedback,
    who: audit.Actor,
) -> None:
    if not await uow.feedback.add(feedback):
        given = await uow.feedback.of_case(case.id)
        raise FeedbackAlreadyGiven(
            f"the family's answer is already recorded ({given.answer if given else 'given'}): "
            "it is given once"
        )
    if follow_up is not None:
        await uow.follow_ups.set_status(follow_up.id, FollowUpStatus.ANSWERED)
    referrals = await uow.referrals.of_case(case.id)
    uow.emit(events.feedback_received(feedback, case.officer_id, referrals))
    await uow.audit.record(
        who,
        audit.Action.FAMILY_FEEDBACK,
        case_id=case.id,
        detail={"answer": feedback.answer.value, "via": feedback.via.value},
    )


async def _language(uow: ReferralsUnitOfWork, case_id: UUID) -> str:
    """The family's language for its page (English once its data is erased)."""
    case = await uow.cases.get(case_id)
    contact: dict[str, Any] = dict((case.client or {}).get("contact") or {}) if case else {}
    return family_language(str(contact.get("preferred_language", "en")))


async def on_family_message_delivered(
    event: CloudEvent[FamilyMessageDelivered], uow: ReferralsUnitOfWork
) -> None:
    await _message_ended(uow, event.data.follow_up_id, FollowUpStatus.DELIVERED)


async def on_family_message_undeliverable(
    event: CloudEvent[FamilyMessageUndeliverable], uow: ReferralsUnitOfWork
) -> None:
    await _message_ended(uow, event.data.follow_up_id, FollowUpStatus.UNDELIVERABLE)


async def _message_ended(
    uow: ReferralsUnitOfWork, follow_up_id: UUID, status: FollowUpStatus
) -> None:
    follow_up = await uow.follow_ups.by_id(follow_up_id)
    if follow_up is None:  # a message of a follow-up never made: its sender's error, parked
        raise FollowUpGone(f"no follow-up {follow_up_id}")
    # answered or cancelled meanwhile: that stands (an undeliverable message asks the officer;
    # sent again by ops and delivered, it no longer does)
    if follow_up.status in SENT_STATUSES:
        await uow.follow_ups.set_status(follow_up_id, status)
