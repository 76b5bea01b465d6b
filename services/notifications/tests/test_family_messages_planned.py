"""Families' follow-up messages and their officer's alert, on the in-memory unit of work: who is
told what, and what their outcome tells the referrals service (the delivery over real HTTP, SMTP
and an SMS provider: tests/test_family_messages.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from notifications_fakes import FakeUnitOfWork, claimed

from bridges_notifications import attempts, fanout, messages
from bridges_notifications.domain import (
    AttemptResult,
    AudienceKind,
    BreakerPolicy,
    Channel,
    OfficerPreference,
)
from bridges_schema import (
    FAMILY_FEEDBACK_RECEIVED,
    FOLLOW_UP_DUE,
    FamilyAnswer,
    FamilyFeedbackReceived,
    FamilyMessageDelivered,
    FamilyMessageUndeliverable,
    FollowUpDue,
    MessageChannel,
    new_event,
)

OFFICER = "badge-77"
PREFERENCE = OfficerPreference(OFFICER, "officer77@police.example.org", True, "es")
POLICY = attempts.AttemptPolicy(schedule_s=(1.0,), breaker=BreakerPolicy(failures=2))
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def due(channel: MessageChannel = MessageChannel.SMS) -> Any:
    data = FollowUpDue(follow_up_id=uuid.uuid4(), case_id=uuid.uuid4(), channel=channel, due_at=NOW)
    return new_event(FOLLOW_UP_DUE, data, source="/bridges/referrals")


def answered(answer: FamilyAnswer, *, open_referrals: int = 1, officer: str = OFFICER) -> Any:
    referrals = tuple(uuid.uuid4() for _ in range(2))
    data = FamilyFeedbackReceived(
        case_id=uuid.uuid4(),
        officer_id=officer,
        answer=answer,
        via="link",
        referral_ids=referrals,
        open_referral_ids=referrals[:open_referrals],
        answered_at=NOW,
    )
    return new_event(FAMILY_FEEDBACK_RECEIVED, data, source="/bridges/referrals")


async def _handled(uow: FakeUnitOfWork, handler: Any, event: Any) -> list[Any]:
    async with uow:
        await handler(event, uow)
        await uow.commit()
    return [row.planned for row in uow.deliveries.rows.values()]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [(MessageChannel.SMS, Channel.SMS), (MessageChannel.EMAIL, Channel.EMAIL)],
)
async def test_a_due_follow_up_becomes_one_message_to_the_follow_up_not_an_address(
    channel, expected
):
    uow, event = FakeUnitOfWork(), due(channel)
    [planned] = await _handled(uow, fanout.on_follow_up_due, event)
    assert planned.channel is expected and planned.audience is AudienceKind.FAMILY
    assert planned.target == str(event.data.follow_up_id) and planned.agency_id is None
    await _handled(uow, fanout.on_follow_up_due, event)  # the same event again: nothing more
    assert len(uow.deliveries.rows) == 1


@pytest.mark.parametrize(
    ("event", "alerted"),
    [
        (answered(FamilyAnswer.NOT_YET), True),
        (answered(FamilyAnswer.COULD_NOT_REACH), True),
        (answered(FamilyAnswer.GOT_HELP), False),
        (answered(FamilyAnswer.NO_LONGER_NEEDED), False),
        (answered(FamilyAnswer.NOT_YET, open_referrals=0), False),  # every referral closed
        (answered(FamilyAnswer.NOT_YET, officer="badge-other"), False),  # no notices asked
    ],
)
async def test_the_officer_hears_when_the_family_has_not_got_help_while_a_referral_is_open(
    event, alerted
):
    uow = FakeUnitOfWork()
    await uow.preferences.put(PREFERENCE)
    planned = await _handled(uow, fanout.on_family_feedback_received, event)
    assert bool(planned) is alerted
    if alerted:
        [alert] = planned
        assert alert.target == PREFERENCE.email and alert.audience is AudienceKind.OFFICER
        assert alert.referral_id == event.data.open_referral_ids[0]


def test_the_alert_names_the_referral_and_the_answer_in_the_officers_language():
    event = answered(FamilyAnswer.COULD_NOT_REACH)
    referral_id = event.data.open_referral_ids[0]
    notice = messages.compose(event, "es", "https://bridges.test/app/", audience="officer")
    assert notice.subject == (
        f"Derivación {messages.reference(referral_id, None)}: la familia no pudo comunicarse con el "
        "programa"
    )
    assert f"#/mine/{referral_id}" in notice.text
    english = messages.compose(
        answered(FamilyAnswer.NOT_YET), "en", "https://b.test/app/", "officer"
    )
    assert "has not got help yet" in english.subject and "still open" in english.text


async def test_a_family_messages_outcome_names_the_follow_up_and_never_an_agency():
    uow = FakeUnitOfWork()
    [planned] = await _handled(uow, fanout.on_follow_up_due, due())
    sent = AttemptResult(200, 5, None)
    await attempts.record_attempt(uow, claimed(planned, 1), sent, POLICY)
    [delivered] = uow.events_of(FamilyMessageDelivered)
    assert str(delivered.follow_up_id) == planned.target and delivered.channel is MessageChannel.SMS
    other = (await _handled(uow, fanout.on_follow_up_due, due()))[-1]
    refused = AttemptResult(400, 5, "SMS provider answered 400")
    await attempts.record_attempt(uow, claimed(other, 1), refused, POLICY)
    [dead] = uow.events_of(FamilyMessageUndeliverable)
    assert str(dead.follow_up_id) == other.target and dead.attempts == 1


async def test_the_sms_providers_failures_rest_it_but_not_a_message_that_could_not_be_fetched():
    uow = FakeUnitOfWork()
    [planned] = await _handled(uow, fanout.on_follow_up_due, due())
    not_fetched = AttemptResult(None, 5, "referrals service: ConnectError", receivers_fault=False)
    for n in (1, 2):
        await attempts.record_attempt(uow, claimed(planned, n), not_fetched, POLICY)
    assert uow.channels.failures == {}
    provider_down = AttemptResult(503, 5, "SMS provider answered 503")
    [one, two] = [(await _handled(uow, fanout.on_follow_up_due, due()))[-1] for _ in range(2)]
    for message in (one, two):
        await attempts.record_attempt(uow, claimed(message, 1), provider_down, POLICY)
    assert uow.channels.failures == {"sms": 2} and "sms" in uow.channels.resting_until
    await attempts.record_attempt(uow, claimed(one, 2), AttemptResult(200, 5, None), POLICY)
    assert uow.channels.failures == {} and uow.channels.resting_until == {}
