"""The family's follow-up: its rules (which channel, when, what safety asks) exhaustively, and its
use cases on the in-memory unit of work — the message sent once, the link answered once, the
officer told, consent withdrawn, the message's fate. (Over real HTTP, PostgreSQL, NATS, SMTP and
a browser: tests/browser/test_family_follow_up.py.)"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from referrals_fakes import Clock, FakeUnitOfWork, officer, program, staff

from bridges_devstack import samples
from bridges_referrals import casework, family, intake
from bridges_referrals.follow_up import (
    Contactable,
    FeedbackAlreadyGiven,
    FeedbackNotAccepted,
    FollowUpChannel,
    FollowUpGone,
    FollowUpLinkNotValid,
    FollowUpNotReconfirmed,
    FollowUpPolicy,
    FollowUpRequest,
    FollowUpStatus,
    FollowUpUnreachable,
    NotInSafeHours,
    SafeHours,
    next_safe_moment,
    plan,
)
from bridges_referrals.models import FamilyFeedbackIn, FileReferral
from bridges_referrals.sla import ResponseTargets
from bridges_schema import (
    FamilyAnswer,
    FamilyFeedbackReceived,
    FollowUpDue,
    MessageChannel,
    ReferralStatus,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
ANY_TIME = SafeHours(time(0), time(0))
POLICY = FollowUpPolicy(delay=timedelta(days=7), hours=ANY_TIME)


def contact(channel: str = "email", *, message: bool | None = True, **has: bool) -> Contactable:
    return Contactable(
        preferred_channel=channel,
        has_email=has.get("email", True),
        has_phone=has.get("phone", True),
        message_may_be_left=message,
    )


def planned(
    request: FollowUpRequest | None = None,
    who: Contactable | None = None,
    needs: tuple[str, ...] = ("food.pantry",),
    safety: bool = False,
    policy: FollowUpPolicy = POLICY,
) -> Any:
    return plan(request, who or contact(), needs, safety, policy, uuid.uuid4(), NOW)


# -- which channel --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (contact("email"), FollowUpChannel.EMAIL),
        (contact("sms"), FollowUpChannel.TEXT),
        (contact("phone"), FollowUpChannel.TEXT),
        (contact("email", message=False), FollowUpChannel.OFFICER),
        (contact("phone", phone=False), FollowUpChannel.OFFICER),
        (contact("officer", message=None), FollowUpChannel.NONE),
        (contact("in-person", message=None), FollowUpChannel.NONE),
    ],
)
def test_without_a_choice_the_follow_up_follows_the_contact(who, expected):
    assert planned(who=who).channel is expected


def test_safety_concerns_or_a_family_violence_need_default_to_no_follow_up():
    assert planned(safety=True).channel is FollowUpChannel.NONE
    assert planned(needs=("food", "family-violence.shelter")).channel is FollowUpChannel.NONE
    assert planned(needs=("family-violence",)).status is FollowUpStatus.OFF
    assert planned(needs=("family-violence-prevention-ish",)).channel is FollowUpChannel.EMAIL


def test_a_channel_needs_its_contact_detail():
    with pytest.raises(FollowUpUnreachable, match="email"):
        planned(FollowUpRequest(FollowUpChannel.EMAIL), contact("phone", email=False))
    with pytest.raises(FollowUpUnreachable, match="phone"):
        planned(FollowUpRequest(FollowUpChannel.TEXT), contact("email", phone=False))


@pytest.mark.parametrize(
    "sensitive",
    [
        {"safety": True},
        {"needs": ("family-violence.advocacy",)},
        {"who": contact("phone", message=False)},
    ],
)
def test_a_message_on_a_sensitive_referral_needs_the_familys_hours_reconfirmed(sensitive):
    hours = SafeHours(time(17), time(20))
    with pytest.raises(FollowUpNotReconfirmed, match="reconfirmed: true and safe_hours"):
        planned(FollowUpRequest(FollowUpChannel.TEXT), **sensitive)
    with pytest.raises(FollowUpNotReconfirmed, match="safe_hours"):
        planned(FollowUpRequest(FollowUpChannel.TEXT, reconfirmed=True), **sensitive)
    with pytest.raises(FollowUpNotReconfirmed, match="reconfirmed"):
        planned(FollowUpRequest(FollowUpChannel.TEXT, hours=hours), **sensitive)
    chosen = planned(FollowUpRequest(FollowUpChannel.TEXT, hours, reconfirmed=True), **sensitive)
    assert chosen.channel is FollowUpChannel.TEXT and chosen.reconfirmed and chosen.chosen
    assert chosen.window.hours == hours
    # through the officer, or none, asks nothing more
    assert planned(FollowUpRequest(FollowUpChannel.OFFICER), **sensitive).due_at is not None
    assert planned(FollowUpRequest(FollowUpChannel.NONE), **sensitive).due_at is None


# -- when ------------------------------------------------------------------------------------


def test_due_after_the_delay_at_the_families_safe_hours_in_its_time_zone():
    request = FollowUpRequest(
        FollowUpChannel.EMAIL, SafeHours(time(17), time(20)), "America/Los_Angeles"
    )
    # 7 days on is Monday 01:00 in Los Angeles: the hours open at 17:00 that day
    assert planned(request).due_at == datetime(2026, 11, 10, 1, 0, tzinfo=UTC)


def test_the_longest_delay_of_the_needs_applies():
    policy = FollowUpPolicy(
        delay=timedelta(days=7),
        delay_by_need={"food": timedelta(days=2), "housing.shelter": timedelta(days=14)},
        hours=ANY_TIME,
    )
    assert policy.delay_for(["food.pantry"]) == timedelta(days=2)
    assert policy.delay_for(["food.pantry", "youth"]) == timedelta(days=7)
    assert policy.delay_for(["food", "housing.shelter.family"]) == timedelta(days=14)
    assert policy.delay_for(["housing.rent"]) == timedelta(days=7)
    assert planned(needs=("food.meals",), policy=policy).due_at == NOW + timedelta(days=2)


ZONES = ["UTC", "America/Los_Angeles", "Europe/Madrid", "Australia/Lord_Howe", "America/Havana"]


@given(
    earliest=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    start=st.times(),
    end=st.times(),
    zone=st.sampled_from(ZONES),
)
def test_the_next_safe_moment_is_the_first_within_the_hours(earliest, start, end, zone):
    hours = SafeHours(start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0))
    found = next_safe_moment(earliest, hours, ZoneInfo(zone))
    assert found >= earliest and found - earliest <= timedelta(days=2)
    assert hours.contains(found.astimezone(ZoneInfo(zone)).time())
    if found > earliest:  # a minute before, it was not yet within the hours
        before = found - timedelta(minutes=1)
        assert before < earliest or not hours.contains(before.astimezone(ZoneInfo(zone)).time())


def test_hours_may_wrap_midnight_and_equal_ends_mean_any_time():
    night = SafeHours(time(22), time(6))
    assert night.contains(time(23)) and night.contains(time(5, 59)) and not night.contains(time(6))
    assert ANY_TIME.contains(time(3)) and str(night) == "22:00-06:00"
    assert SafeHours.parse("22:00-06:00") == night


# -- the use cases ---------------------------------------------------------------------------


def body(program_id: uuid.UUID, **overrides: Any) -> FileReferral:
    family = {
        "family_name": "Quintanilla-Okafor",
        "date_of_birth": None,
        "household": [],
        "contact": {
            "email": "amara@example.org",
            "preferred_channel": "email",
            "preferred_language": "es-MX",
            "safe_to_leave_message": True,
        },
    }
    fields = {
        "situation": None,
        "consent": samples.consent(
            "contact", "needs", "situation", given_at="2026-11-02T08:55:00+00:00"
        ),
        **overrides,
    }
    given = fields.pop("client", None)  # a client given whole replaces the sample family
    body = samples.intake_body([program_id], client=family, **fields)
    return FileReferral.model_validate({**body, "client": given or body["client"]})


class Family:
    """A fake unit of work, an officer, a program and a clock moved by hand."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = Clock(NOW)
        self.agency = uuid.uuid4()
        self.program = program(self.agency)
        self.uow.programs.rows[self.program.service_id] = self.program
        self.officer = officer()
        self.links = family.FollowUpLinks("https://bridges.test/family")
        self.keys = (f"key-{n:04d}" for n in itertools.count())

    async def file(self, **overrides: Any) -> Any:
        result, _ = await intake.file_referrals(
            self.uow,
            ResponseTargets(),
            self.officer,
            body(self.program.service_id, **overrides),
            next(self.keys),
            self.clock,
            follow_ups=POLICY,
        )
        return result

    async def send_due(self) -> int:
        return await family.send_due(self.uow, timedelta(days=30), clock=self.clock)

    def sent_token(self) -> str:
        [token] = self.uow.follow_ups.tokens.values()
        return token


@pytest.fixture
def fam() -> Family:
    return Family()


async def test_a_due_follow_up_is_sent_once_with_a_link_naming_no_referral(fam: Family):
    filed = await fam.file()
    assert await fam.send_due() == 0  # not yet
    fam.clock.advance(days=7)
    assert await fam.send_due() == 1
    assert await fam.send_due() == 0  # once
    [due] = fam.uow.events_of(FollowUpDue)
    assert due.channel is MessageChannel.EMAIL and due.case_id == filed.case_id
    message = await family.family_message(fam.uow, fam.links, due.follow_up_id, fam.clock)
    assert message.to == "amara@example.org" and message.language == "es"
    assert message.subject == "Sobre la ayuda que pidió"
    token = fam.sent_token()
    assert f"https://bridges.test/family/{token}" in message.text
    assert len(token) >= 22 and str(filed.referrals[0].id) not in message.text
    for word in ("Amara", "Quintanilla", "Riverton", "food", "pantry", "alimentos"):
        assert word.lower() not in (message.text + message.subject + message.html).lower()


async def test_a_text_message_is_short_and_goes_to_the_phone(fam: Family):
    await fam.file(follow_up={"channel": "text"})
    fam.clock.advance(days=7)
    await fam.send_due()
    [due] = fam.uow.events_of(FollowUpDue)
    message = await family.family_message(fam.uow, fam.links, due.follow_up_id, fam.clock)
    assert due.channel is MessageChannel.SMS and message.to == "+1 503 555 0142"
    assert message.html is None and len(message.text) < 160


async def test_the_message_waits_for_the_familys_safe_hours(fam: Family):
    await fam.file(
        follow_up={
            "channel": "email",
            "safe_hours": {"from": "17:00", "to": "20:00"},
            "time_zone": "America/Los_Angeles",
        }
    )
    fam.clock.advance(days=8)  # Tuesday 09:00 UTC: Tuesday 01:00 in Los Angeles: due
    await fam.send_due()
    [due] = fam.uow.events_of(FollowUpDue)
    with pytest.raises(NotInSafeHours) as early:  # a retry after the hours: not now
        await family.family_message(fam.uow, fam.links, due.follow_up_id, fam.clock)
    assert early.value.until == datetime(2026, 11, 11, 1, 0, tzinfo=UTC)


async def test_the_link_answers_once_and_the_second_answer_is_refused(fam: Family):
    filed = await fam.file()
    fam.clock.advance(days=7)
    await fam.send_due()
    token = fam.sent_token()
    state = await family.open_link(fam.uow, token, fam.clock)
    assert state.open and state.language == "es"
    await family.answer_by_link(fam.uow, token, FamilyAnswer.GOT_HELP, "Gracias", fam.clock)
    with pytest.raises(FeedbackAlreadyGiven):
        await family.answer_by_link(fam.uow, token, FamilyAnswer.NOT_YET, None, fam.clock)
    assert (await family.open_link(fam.uow, token, fam.clock)).answered
    [told] = fam.uow.events_of(FamilyFeedbackReceived)
    assert told.answer is FamilyAnswer.GOT_HELP and told.via == "link"
    assert told.open_referral_ids == (filed.referrals[0].id,)
    view = await casework.open_referral(fam.uow, fam.officer, filed.referrals[0].id, fam.clock)
    assert view.family_feedback.answer is FamilyAnswer.GOT_HELP
    assert view.family_feedback.comment == "Gracias" and view.follow_up.status == "answered"


async def test_a_link_stops_working_after_thirty_days_and_a_made_up_one_never_works(fam: Family):
    await fam.file()
    fam.clock.advance(days=7)
    await fam.send_due()
    token = fam.sent_token()
    fam.clock.advance(days=30)
    assert not (await family.open_link(fam.uow, token, fam.clock)).open
    with pytest.raises(FollowUpLinkNotValid):
        await family.answer_by_link(fam.uow, token, FamilyAnswer.GOT_HELP, None, fam.clock)
    with pytest.raises(FollowUpLinkNotValid):
        await family.answer_by_link(fam.uow, "x" * 24, FamilyAnswer.GOT_HELP, None, fam.clock)


async def test_withdrawing_consent_cancels_the_follow_up_and_kills_its_link(fam: Family):
    filed = await fam.file(follow_up={"channel": "text"})
    second = await fam.file()
    fam.clock.advance(days=7)
    await fam.send_due()
    due = {e.case_id: e.follow_up_id for e in fam.uow.events_of(FollowUpDue)}
    token = fam.uow.follow_ups.tokens[due[filed.case_id]]
    await casework.withdraw_consent(fam.uow, fam.officer, filed.case_id, None, fam.clock)
    await casework.withdraw_consent(fam.uow, fam.officer, second.case_id, None, fam.clock)
    assert not (await family.open_link(fam.uow, token, fam.clock)).open
    with pytest.raises(FollowUpGone):  # notifications asking for the message now: gone
        await family.family_message(fam.uow, fam.links, due[filed.case_id], fam.clock)
    statuses = {f.status for f in fam.uow.follow_ups.rows.values()}
    assert statuses == {FollowUpStatus.CANCELLED}


async def test_a_follow_up_not_yet_due_is_never_sent_after_a_withdrawal(fam: Family):
    filed = await fam.file()
    await casework.withdraw_consent(fam.uow, fam.officer, filed.case_id, None, fam.clock)
    fam.clock.advance(days=8)
    assert await fam.send_due() == 0
    assert fam.uow.events_of(FollowUpDue) == []


async def test_referrals_all_cancelled_cancel_the_follow_up_when_it_falls_due(fam: Family):
    filed = await fam.file()
    await casework.transition(
        fam.uow,
        fam.officer,
        filed.referrals[0].id,
        casework.VersionCondition.parse('"1"'),
        casework.Transition(to=ReferralStatus.CANCELLED, reason="filed-in-error"),
        fam.clock,
    )
    fam.clock.advance(days=7)
    await fam.send_due()
    assert fam.uow.events_of(FollowUpDue) == []
    [cancelled] = fam.uow.follow_ups.rows.values()
    assert cancelled.status is FollowUpStatus.CANCELLED


async def test_through_the_officer_the_list_says_ask_the_family_when_due(fam: Family):
    filed = await fam.file(follow_up={"channel": "officer"})
    referral_id = filed.referrals[0].id
    view = await casework.open_referral(fam.uow, fam.officer, referral_id, fam.clock)
    assert not view.ask_family and view.follow_up.channel == "officer"
    fam.clock.advance(days=7)
    view = await casework.open_referral(fam.uow, fam.officer, referral_id, fam.clock)
    assert view.ask_family
    told = FamilyFeedbackIn(answer=FamilyAnswer.NOT_YET, comment="No answer at the pantry")
    await family.record_by_officer(fam.uow, fam.officer, referral_id, told, fam.clock)
    view = await casework.open_referral(fam.uow, fam.officer, referral_id, fam.clock)
    assert not view.ask_family and view.family_feedback.via == "officer"
    with pytest.raises(FeedbackAlreadyGiven):
        await family.record_by_officer(fam.uow, fam.officer, referral_id, told, fam.clock)
    [event] = fam.uow.events_of(FamilyFeedbackReceived)
    assert event.answer is FamilyAnswer.NOT_YET and event.open_referral_ids == (referral_id,)


async def test_the_agency_sees_the_answer_only_with_the_situation_scope_and_never_the_comment(
    fam: Family,
):
    shared = await fam.file(follow_up={"channel": "officer"})
    private = await fam.file(
        follow_up={"channel": "officer"},
        consent={
            "given_by": "client",
            "method": "verbal",
            "given_at": "2026-11-02T08:55:00+00:00",
            "scopes": ["contact", "needs"],
        },
    )
    told = FamilyFeedbackIn(answer=FamilyAnswer.GOT_HELP, comment="The staff were kind")
    for filed in (shared, private):
        await family.record_by_officer(fam.uow, fam.officer, filed.referrals[0].id, told)
    agency = staff(fam.agency)
    seen = await casework.open_referral(fam.uow, agency, shared.referrals[0].id, fam.clock)
    assert seen.family_feedback.answer is FamilyAnswer.GOT_HELP
    assert seen.family_feedback.comment is None and seen.follow_up is None
    assert seen.safety_concerns is None and not seen.ask_family
    hidden = await casework.open_referral(fam.uow, agency, private.referrals[0].id, fam.clock)
    assert hidden.family_feedback is None


async def test_only_the_filing_officer_records_and_not_after_a_withdrawal(fam: Family):
    filed = await fam.file(follow_up={"channel": "officer"})
    told = FamilyFeedbackIn(answer=FamilyAnswer.GOT_HELP)
    with pytest.raises(casework.ReferralNotFound):
        await family.record_by_officer(fam.uow, officer("badge-2"), filed.referrals[0].id, told)
    await casework.withdraw_consent(fam.uow, fam.officer, filed.case_id, None, fam.clock)
    with pytest.raises(FeedbackNotAccepted):
        await family.record_by_officer(fam.uow, fam.officer, filed.referrals[0].id, told)


async def test_an_undeliverable_message_asks_the_officer_instead(fam: Family):
    from bridges_schema import (
        FAMILY_MESSAGE_UNDELIVERABLE,
        FamilyMessageUndeliverable,
        new_event,
    )

    filed = await fam.file(follow_up={"channel": "text"})
    fam.clock.advance(days=7)
    await fam.send_due()
    [due] = fam.uow.events_of(FollowUpDue)
    dead = FamilyMessageUndeliverable(
        delivery_id=uuid.uuid4(),
        follow_up_id=due.follow_up_id,
        channel=MessageChannel.SMS,
        attempts=8,
        dead_lettered_at=fam.clock(),
    )
    event = new_event(FAMILY_MESSAGE_UNDELIVERABLE, dead, source="/bridges/notifications")
    async with fam.uow:
        await family.on_family_message_undeliverable(event, fam.uow)
        await fam.uow.commit()
    view = await casework.open_referral(fam.uow, fam.officer, filed.referrals[0].id, fam.clock)
    assert view.ask_family and view.follow_up.status == "undeliverable"
    # it may have arrived all the same: its link still works, and answering ends the asking
    await family.answer_by_link(fam.uow, fam.sent_token(), FamilyAnswer.GOT_HELP, None, fam.clock)
    view = await casework.open_referral(fam.uow, fam.officer, filed.referrals[0].id, fam.clock)
    assert not view.ask_family and view.family_feedback.answer is FamilyAnswer.GOT_HELP


async def test_the_intake_refuses_an_unsafe_follow_up_and_writes_nothing(fam: Family):
    with pytest.raises(FollowUpNotReconfirmed):
        await fam.file(safety_concerns=True, follow_up={"channel": "email"})
    with pytest.raises(FollowUpUnreachable):
        await fam.file(
            client={
                "given_name": "Amara",
                "family_name": "Q",
                "contact": {"phone": "+1 503 555 0142", "safe_to_leave_message": True},
            },
            follow_up={"channel": "email"},
        )
    assert fam.uow.cases.rows == {} and fam.uow.follow_ups.rows == {}
