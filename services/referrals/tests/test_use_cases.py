"""The referral use cases against an in-memory unit of work: the business rules, fast and many.
(The same use cases over real HTTP, PostgreSQL and NATS: test_casework.py and the end-to-end
tests.)"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from referrals_fakes import Clock, FakeUnitOfWork, admin, officer, program, staff

from bridges_devstack import samples
from bridges_devstack.samples import service_upserted
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_referrals import audit, casework, intake, privacy, programs, upkeep
from bridges_referrals.domain import (
    CaseNotFound,
    ConsentMissing,
    IdempotencyKeyReused,
    OfficerUnreachable,
    ProgramNotAccepting,
    ReferralNotFound,
    StaleVersion,
)
from bridges_referrals.lifecycle import IllegalTransition, ReasonRequired
from bridges_referrals.models import FileReferral, Transition
from bridges_referrals.sla import ResponseTargets
from bridges_schema import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_SUCCEEDED,
    SERVICE_CAPACITY_CHANGED,
    SERVICE_DELETED,
    CapacityStatus,
    DeliveryChannel,
    DeliveryDeadLettered,
    DeliverySucceeded,
    ReasonCode,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    ServiceCapacityChanged,
    ServiceDeleted,
    new_event,
)

S = ReferralStatus
TARGETS = ResponseTargets()
ALL_SCOPES = ("contact", "household", "needs", "situation")


def intake_body(program_ids: list[uuid.UUID], **overrides: Any) -> FileReferral:
    fields = {
        "needs": ["housing.rent", "food.pantry"],
        "consent": samples.consent(*ALL_SCOPES, given_at="2026-11-02T08:55:00+00:00"),
        **overrides,
    }
    given = fields.pop("client", None)  # a client given whole replaces the sample family
    body = samples.intake_body(program_ids, client={"family_name": "Quintanilla-Okafor"}, **fields)
    return FileReferral.model_validate({**body, "client": given or body["client"]})


class Desk:
    """One fake unit of work with two agencies' programs, an officer and a hand-moved clock."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = Clock()
        self.agency_a, self.agency_b = uuid.uuid4(), uuid.uuid4()
        self.program_a = program(self.agency_a)
        self.program_b = program(
            self.agency_b, name="Riverton Housing Help", taxonomy_codes=("housing.rent",)
        )
        for p in (self.program_a, self.program_b):
            self.uow.programs.rows[p.service_id] = p
        self.officer = officer()
        self.keys = (f"key-{n:04d}" for n in itertools.count())

    async def file(self, programs_: list[uuid.UUID] | None = None, **overrides: Any) -> Any:
        body = intake_body(programs_ or [self.program_a.service_id], **overrides)
        result, replayed = await intake.file_referrals(
            self.uow, TARGETS, self.officer, body, next(self.keys), self.clock
        )
        assert not replayed
        return result

    async def filed_referral(self, **overrides: Any) -> uuid.UUID:
        return (await self.file(**overrides)).referrals[0].id

    def staff_a(self) -> Principal:
        return staff(self.agency_a)

    async def move(
        self, who: Principal, referral_id: uuid.UUID, to: S, version: int, **move: Any
    ) -> Any:
        return await casework.transition(
            self.uow,
            who,
            referral_id,
            VersionCondition.parse(f'"{version}"'),
            Transition(to=to, **move),
            self.clock,
        )


@pytest.fixture
def desk() -> Desk:
    return Desk()


# -- intake --------------------------------------------------------------------------------


async def test_an_intake_files_one_referral_per_program_under_one_case(desk):
    result = await desk.file([desk.program_a.service_id, desk.program_b.service_id])
    assert len(result.referrals) == 2 and len({r.case_id for r in result.referrals}) == 1
    assert {r.agency_id for r in result.referrals} == {desk.agency_a, desk.agency_b}
    requested = desk.uow.events_of(ReferralRequested)
    assert {e.referral_id for e in requested} == {r.id for r in result.referrals}
    assert all(e.respond_by == desk.clock.now + TARGETS.high for e in requested)
    assert [e.to_status for e in desk.uow.history.entries] == [S.REQUESTED, S.REQUESTED]
    assert desk.uow.commits == 1


async def test_an_intake_without_consent_is_refused_and_writes_nothing(desk):
    with pytest.raises(ConsentMissing):
        await desk.file(consent=None)
    assert desk.uow.cases.rows == {} and desk.uow.intake_keys.rows == {}
    assert desk.uow.published == []


@pytest.mark.parametrize(
    "change",
    [
        {"accepting_referrals": False},
        {"status": "inactive"},
        {"deleted": True},
    ],
)
async def test_a_program_that_cannot_take_a_referral_refuses_the_whole_intake(desk, change):
    closed = program(desk.agency_b, **change)
    desk.uow.programs.rows[closed.service_id] = closed
    with pytest.raises(ValueError, match="not"):
        await desk.file([desk.program_a.service_id, closed.service_id])
    assert desk.uow.referrals.rows == {} and desk.uow.published == []


async def test_a_refusal_says_until_when_and_why_in_the_agencys_words(desk):
    closed = program(
        desk.agency_b,
        accepting_referrals=False,
        capacity_until=date(2027, 1, 5),
        capacity_note="Kitchen renovation",
    )
    desk.uow.programs.rows[closed.service_id] = closed
    with pytest.raises(ProgramNotAccepting) as refused:
        await desk.file([closed.service_id])
    assert str(refused.value) == (
        "Riverton Pantry is not accepting referrals until 2027-01-05: Kitchen renovation"
    )


async def test_a_program_without_a_receiving_agency_takes_no_referral(desk):
    orphan = program(desk.agency_a)
    desk.uow.programs.rows[orphan.service_id] = orphan.__class__(
        **{**orphan.__dict__, "agency_id": None}
    )
    with pytest.raises(ProgramNotAccepting):
        await desk.file([orphan.service_id])


async def test_a_retried_intake_returns_the_first_answer_and_does_nothing_more(desk):
    body = intake_body([desk.program_a.service_id])
    first, replayed_first = await intake.file_referrals(
        desk.uow, TARGETS, desk.officer, body, "tablet-0001", desk.clock
    )
    again, replayed = await intake.file_referrals(
        desk.uow, TARGETS, desk.officer, body, "tablet-0001", desk.clock
    )
    assert (replayed_first, replayed) == (False, True)
    assert again == first
    assert len(desk.uow.referrals.rows) == 1 and len(desk.uow.published) == 1


async def test_the_same_key_with_different_content_is_refused(desk):
    await intake.file_referrals(
        desk.uow, TARGETS, desk.officer, intake_body([desk.program_a.service_id]), "k-1", desk.clock
    )
    changed = intake_body([desk.program_a.service_id], urgency="emergency")
    with pytest.raises(IdempotencyKeyReused):
        await intake.file_referrals(desk.uow, TARGETS, desk.officer, changed, "k-1", desk.clock)
    assert len(desk.uow.referrals.rows) == 1


def _through_officer(**contact: Any) -> dict[str, Any]:
    return {
        "given_name": "Amara",
        "family_name": "Diallo",
        "contact": {"preferred_channel": "officer", "safe_to_leave_message": False, **contact},
    }


async def test_a_family_without_phone_or_email_is_reached_through_the_officer(desk):
    referral_id = await desk.filed_referral(
        client=_through_officer(), officer_contact={"phone": "+1 503 555 0100"}
    )
    view = await casework.open_referral(desk.uow, desk.staff_a(), referral_id, desk.clock)
    assert view.officer_contact == {
        "email": "badge-1@example.org",
        "phone": "+1 503 555 0100",
    }
    assert view.client is not None and "phone" not in view.client["contact"]


async def test_through_the_officer_needs_a_way_to_reach_the_officer(desk):
    desk.officer = Principal(sub="badge-2", role=Role.OFFICER)  # a token without email
    with pytest.raises(OfficerUnreachable):
        await desk.file(client=_through_officer())
    assert desk.uow.cases.rows == {}


def test_a_phone_channel_without_a_phone_is_refused_at_the_edge():
    with pytest.raises(ValueError, match="reached through the officer"):
        intake_body(
            [uuid.uuid4()],
            client={
                "given_name": "A",
                "family_name": "B",
                "contact": {"preferred_channel": "sms", "safe_to_leave_message": True},
            },
        )


# -- who may see what: consent scopes, exactly ----------------------------------------------

SCOPE_SETS = [
    ("contact", *extra)
    for n in range(4)
    for extra in itertools.combinations(("household", "needs", "situation"), n)
]


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids=lambda s: "+".join(s))
async def test_the_agency_sees_exactly_what_the_family_agreed_to_share(desk, scopes):
    consent = {
        "given_by": "client",
        "method": "verbal",
        "given_at": "2026-11-02T08:55:00Z",
        "scopes": list(scopes),
    }
    referral_id = await desk.filed_referral(consent=consent)
    desk.clock.advance(minutes=5)
    await desk.move(
        desk.officer, referral_id, S.CANCELLED, 1, reason="filed-in-error", note="wrong family"
    )
    view = await casework.open_referral(desk.uow, desk.staff_a(), referral_id, desk.clock)
    event = desk.uow.events_of(ReferralRequested)[0]

    assert view.client is not None
    assert view.client["family_name"] == "Quintanilla-Okafor"  # contact: always consented
    assert ("household" in view.client) is ("household" in scopes)
    shares_needs = "needs" in scopes
    assert view.needs == (["food.pantry", "housing.rent"] if shares_needs else [])
    assert list(event.need_codes) == view.needs  # the webhook carries the event
    assert (view.situation is not None) is ("situation" in scopes)
    notes = [h.note for h in view.history or []]
    assert ("wrong family" in notes) is ("situation" in scopes)
    assert view.consent is not None and view.consent.scopes == sorted(scopes)


async def test_the_filing_officer_sees_everything_and_another_officer_nothing(desk):
    referral_id = await desk.filed_referral(
        consent={
            "given_by": "guardian",
            "given_by_name": "Rosa Diallo",
            "method": "written",
            "given_at": "2026-11-02T08:55:00Z",
            "scopes": ["contact"],
        }
    )
    view = await casework.open_referral(desk.uow, desk.officer, referral_id, desk.clock)
    assert view.client is not None and view.client["household"][0]["given_name"] == "Tomas"
    assert view.situation and view.needs and view.consent
    assert view.consent.given_by_name == "Rosa Diallo"
    staff_view = await casework.open_referral(desk.uow, desk.staff_a(), referral_id, desk.clock)
    assert staff_view.consent is not None and staff_view.consent.given_by_name is None
    for stranger in (officer("badge-9"), staff(desk.agency_b), Principal("ops", Role.OPS)):
        with pytest.raises(ReferralNotFound):
            await casework.open_referral(desk.uow, stranger, referral_id, desk.clock)


async def test_agency_notes_stay_visible_to_the_agency_without_the_situation_scope(desk):
    consent = {"given_by": "client", "method": "verbal", "given_at": "2026-11-02T08:55:00Z"}
    referral_id = await desk.filed_referral(consent={**consent, "scopes": ["contact"]})
    await desk.move(desk.staff_a(), referral_id, S.ACCEPTED, 1, note="intake call booked")
    history = await casework.referral_history(desk.uow, desk.staff_a(), referral_id)
    assert history[-1].note == "intake call booked"


# -- reads are safe; personal data reads are audited ----------------------------------------


async def test_opening_a_referral_changes_nothing_but_the_audit_log(desk):
    referral_id = await desk.filed_referral()
    events_before = len(desk.uow.published)
    view = await casework.open_referral(desk.uow, desk.staff_a(), referral_id, desk.clock)
    assert view.status is S.REQUESTED and view.version == 1
    assert len(desk.uow.published) == events_before
    assert desk.uow.audit.actions() == [audit.Action.PII_READ]
    assert desk.uow.audit.entries[0].detail["fields"] == [
        "contact",
        "date_of_birth",
        "family_name",
        "given_name",
        "household",
    ]


async def test_reading_the_history_is_not_audited(desk):
    referral_id = await desk.filed_referral()
    history = await casework.referral_history(desk.uow, desk.staff_a(), referral_id)
    assert [h.to_status for h in history] == [S.REQUESTED]
    assert desk.uow.audit.entries == []


async def test_a_view_without_personal_data_is_not_audited(desk):
    referral_id = await desk.filed_referral()
    await casework.withdraw_consent(
        desk.uow, desk.officer, (await _case_of(desk, referral_id)), None
    )
    desk.uow.audit.entries.clear()
    view = await casework.open_referral(desk.uow, desk.staff_a(), referral_id, desk.clock)
    assert view.client is None and view.situation is None
    assert desk.uow.audit.entries == []


async def _case_of(desk: Desk, referral_id: uuid.UUID) -> uuid.UUID:
    return desk.uow.referrals.rows[referral_id].case_id


# -- marking received is a command -----------------------------------------------------------


async def test_marking_received_moves_a_new_referral_once(desk):
    referral_id = await desk.filed_referral()
    first = await casework.mark_received(desk.uow, desk.staff_a(), referral_id, desk.clock)
    second = await casework.mark_received(desk.uow, desk.staff_a(), referral_id, desk.clock)
    assert (first.status, first.version) == (S.RECEIVED, 2)
    assert (second.status, second.version) == (S.RECEIVED, 2)
    received = desk.uow.events_of(ReferralStatusChanged)
    assert [(e.previous_status, e.status) for e in received] == [(S.REQUESTED, S.RECEIVED)]


async def test_only_the_receiving_agency_marks_received(desk):
    referral_id = await desk.filed_referral()
    with pytest.raises(ReferralNotFound):
        await casework.mark_received(desk.uow, staff(desk.agency_b), referral_id, desk.clock)
    # the route is agency staff's alone (the access table); the filing officer opening it
    # through the use case still receives nothing
    seen = await casework.mark_received(desk.uow, desk.officer, referral_id, desk.clock)
    assert seen.status is S.REQUESTED
    assert desk.uow.referrals.rows[referral_id].status is S.REQUESTED


# -- moves -----------------------------------------------------------------------------------


async def test_an_answer_records_the_first_response_and_an_outcome_closes(desk):
    referral_id = await desk.filed_referral()
    desk.clock.advance(hours=2)
    await desk.move(desk.staff_a(), referral_id, S.ACCEPTED, 1)
    answered = desk.clock.now
    desk.clock.advance(days=3)
    view = await desk.move(desk.staff_a(), referral_id, S.COMPLETED, 2)
    stored = desk.uow.referrals.rows[referral_id]
    assert stored.first_response_at == answered and stored.closed_at == desk.clock.now
    assert view.version == 3 and [h.to_status for h in view.history] == [
        S.REQUESTED,
        S.ACCEPTED,
        S.COMPLETED,
    ]
    changes = [a for a in desk.uow.audit.actions() if a is audit.Action.STATUS_CHANGED]
    assert len(changes) == 2


async def test_a_stale_version_is_refused_and_changes_nothing(desk):
    referral_id = await desk.filed_referral()
    with pytest.raises(StaleVersion):
        await desk.move(desk.staff_a(), referral_id, S.ACCEPTED, 7)
    assert desk.uow.referrals.rows[referral_id].version == 1
    assert desk.uow.events_of(ReferralStatusChanged) == []


@pytest.mark.parametrize(
    ("header", "version", "matches"),
    [
        ('"3"', 3, True),
        ('W/"3"', 3, False),  # RFC 9110: If-Match compares strongly, a weak tag never matches
        ('"2", "3"', 3, True),
        ('W/"3", "3"', 3, True),
        ("*", 9, True),
        ('"abc"', 3, False),
        ('"3"', 4, False),
        ("3", 3, False),  # not an entity-tag
        ('"', 3, False),
        ('"3" "4"', 3, False),  # not a list
    ],
)
def test_if_match_either_matches_the_version_or_not(header, version, matches):
    assert VersionCondition.parse(header).matches(version) is matches


async def test_an_illegal_move_or_a_missing_reason_is_refused(desk):
    referral_id = await desk.filed_referral()
    with pytest.raises(IllegalTransition):
        await desk.move(desk.staff_a(), referral_id, S.COMPLETED, 1)
    with pytest.raises(ReasonRequired):
        await desk.move(desk.staff_a(), referral_id, S.REJECTED, 1)
    await desk.move(desk.staff_a(), referral_id, S.REJECTED, 1, reason="at-capacity")
    with pytest.raises(IllegalTransition):
        await desk.move(admin(), referral_id, S.ACCEPTED, 2)


# -- consent withdrawal ----------------------------------------------------------------------


async def test_withdrawal_cancels_open_referrals_and_hides_the_family_from_agencies(desk):
    result = await desk.file([desk.program_a.service_id, desk.program_b.service_id])
    done, still_open = (r.id for r in result.referrals)
    await desk.move(desk.staff_a(), done, S.ACCEPTED, 1)
    await desk.move(desk.staff_a(), done, S.COMPLETED, 2)
    with pytest.raises(CaseNotFound):
        await casework.withdraw_consent(desk.uow, officer("badge-9"), result.case_id, None)
    cancelled = await casework.withdraw_consent(
        desk.uow, desk.officer, result.case_id, "mother called: she moved to Salem", desk.clock
    )
    again = await casework.withdraw_consent(desk.uow, desk.officer, result.case_id, None)
    assert (cancelled, again) == ([still_open], [])
    seen_by_b = await casework.open_referral(desk.uow, staff(desk.agency_b), still_open)
    seen_by_a = await casework.open_referral(desk.uow, desk.staff_a(), done)
    for view in (seen_by_a, seen_by_b):
        assert view.client is None and view.needs == [] and view.situation is None
        assert view.consent_withdrawn and view.consent and view.consent.withdrawal_note is None
        assert all(h.note is None for h in view.history or [])
    assert seen_by_b.status is S.CANCELLED
    assert seen_by_b.history[-1].reason_code is ReasonCode.CONSENT_WITHDRAWN
    mine = await casework.open_referral(desk.uow, desk.officer, still_open)
    assert mine.consent and mine.consent.withdrawal_note == "mother called: she moved to Salem"
    assert mine.client is None and mine.situation is None  # erased for the officer too
    assert audit.Action.CONSENT_WITHDRAWN in desk.uow.audit.actions()


# -- upkeep ----------------------------------------------------------------------------------


async def test_a_referral_past_its_target_is_flagged_overdue_once(desk):
    waiting = await desk.filed_referral(urgency="emergency")
    answered = await desk.filed_referral(urgency="emergency")
    await desk.move(desk.staff_a(), answered, S.ACCEPTED, 1)
    desk.clock.advance(minutes=59)
    assert await upkeep.flag_overdue(desk.uow, 10, desk.clock) == 0
    desk.clock.advance(minutes=2)
    assert await upkeep.flag_overdue(desk.uow, 10, desk.clock) == 1
    assert await upkeep.flag_overdue(desk.uow, 10, desk.clock) == 0
    assert [e.referral_id for e in desk.uow.events_of(ReferralOverdue)] == [waiting]


async def test_purge_erases_personal_data_of_cases_closed_beyond_retention_only(desk):
    closed = await desk.filed_referral()
    still_open = await desk.filed_referral()
    await desk.move(desk.staff_a(), closed, S.ACCEPTED, 1, note="called Amara back")
    await desk.move(desk.staff_a(), closed, S.COMPLETED, 2)
    desk.clock.advance(days=364)
    assert await privacy.purge_closed_cases(desk.uow, timedelta(days=365), clock=desk.clock) == 0
    desk.clock.advance(days=2)
    assert await privacy.purge_closed_cases(desk.uow, timedelta(days=365), clock=desk.clock) == 1
    purged = desk.uow.cases.rows[desk.uow.referrals.rows[closed].case_id]
    kept = desk.uow.cases.rows[desk.uow.referrals.rows[still_open].case_id]
    assert purged.client is None and purged.situation is None and purged.purged_at
    assert purged.need_codes  # statistics keep the needs
    assert kept.client is not None
    assert all(e.note is None for e in await desk.uow.history.of(closed))
    assert desk.uow.audit.actions()[-1] is audit.Action.PII_PURGED


async def test_an_unreachable_agency_is_flagged_until_a_delivery_succeeds(desk):
    referral_id = await desk.filed_referral()
    common: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "channel": DeliveryChannel.WEBHOOK,
        "agency_id": desk.agency_a,
        "endpoint_id": uuid.uuid4(),
        "source_event_id": "e-1",
        "source_event_type": "org.bridges.referral.requested.v1",
        "referral_id": referral_id,
        "attempts": 3,
    }
    now = datetime.now(UTC)
    dead = new_event(
        DELIVERY_DEAD_LETTERED,
        DeliveryDeadLettered(**common, last_error="HTTP 500", dead_lettered_at=now),
        source="/t",
    )
    ok = new_event(DELIVERY_SUCCEEDED, DeliverySucceeded(**common, delivered_at=now), source="/t")
    async with desk.uow:
        await upkeep.on_delivery_dead_lettered(dead, desk.uow)
        await desk.uow.commit()
    assert desk.uow.referrals.rows[referral_id].agency_not_reached
    async with desk.uow:
        await upkeep.on_delivery_succeeded(ok, desk.uow)
        await desk.uow.commit()
    assert not desk.uow.referrals.rows[referral_id].agency_not_reached


async def test_a_delivery_of_a_referral_never_filed_is_refused(desk):
    never_filed = uuid.uuid4()
    report = DeliverySucceeded(
        delivery_id=uuid.uuid4(),
        channel=DeliveryChannel.WEBHOOK,
        agency_id=desk.agency_a,
        endpoint_id=uuid.uuid4(),
        source_event_id="e-1",
        source_event_type="org.bridges.referral.requested.v1",
        referral_id=never_filed,
        attempts=1,
        delivered_at=datetime.now(UTC),
    )
    with pytest.raises(ReferralNotFound, match=str(never_filed)):
        async with desk.uow:
            await upkeep.on_delivery_succeeded(
                new_event(DELIVERY_SUCCEEDED, report, source="/t"), desk.uow
            )


# -- the program read-model ------------------------------------------------------------------


def _upserted(service_id: uuid.UUID, version: int) -> Any:
    return service_upserted(service_id=service_id, version=version, name=f"Pantry v{version}")


async def _apply(uow: FakeUnitOfWork, handler: Any, event: Any) -> None:
    async with uow:
        await handler(event, uow)
        await uow.commit()


async def test_program_events_apply_in_version_order_and_stale_ones_are_ignored():
    uow, service_id = FakeUnitOfWork(), uuid.uuid4()
    await _apply(uow, programs.on_service_upserted, _upserted(service_id, 2))
    await _apply(uow, programs.on_service_upserted, _upserted(service_id, 1))
    assert uow.programs.rows[service_id].name == "Pantry v2"
    now = datetime.now(UTC)
    closed = ServiceCapacityChanged(
        service_id=service_id,
        version=3,
        agency_id=None,
        accepting_referrals=False,
        capacity_status=CapacityStatus.FULL,
        changed_at=now,
    )
    await _apply(
        uow,
        programs.on_service_capacity_changed,
        new_event(SERVICE_CAPACITY_CHANGED, closed, source="/d"),
    )
    assert not uow.programs.rows[service_id].accepting_referrals
    deleted = ServiceDeleted(service_id=service_id, version=4, agency_id=None, deleted_at=now)
    await _apply(uow, programs.on_service_deleted, new_event(SERVICE_DELETED, deleted, source="/d"))
    assert uow.programs.rows[service_id].deleted


async def test_a_refused_command_rolls_the_fake_back_like_the_database(desk):
    referral_id = await desk.filed_referral()
    async with desk.uow:
        referral = desk.uow.referrals.rows[referral_id]
        await desk.uow.referrals.save(referral.__class__(**{**referral.__dict__, "version": 9}))
    assert desk.uow.referrals.rows[referral_id].version == 1
