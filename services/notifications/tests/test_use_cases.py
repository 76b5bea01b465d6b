"""Who hears about what, what an attempt leads to, when an endpoint rests, and endpoints'
lifecycle — against an in-memory unit of work (no database, no network). The same over real
receivers, SMTP, PostgreSQL and NATS: test_delivery.py."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notifications_fakes import NOW, FakeUnitOfWork, claimed, webhook_endpoint

from bridges_kit.principal import Principal
from bridges_kit.wakeup import Wakeup
from bridges_notifications import attempts, delivery_log, endpoints, fanout, messages, retry
from bridges_notifications.domain import (
    AttemptResult,
    BreakerCount,
    BreakerPolicy,
    Channel,
    ClaimedDelivery,
    Endpoint,
    EndpointNotDelivering,
    EndpointNotFound,
    NoEmail,
    OfficerPreference,
    Recipient,
    RecipientNotFound,
    UnknownEventType,
    plan_deliveries,
)
from bridges_notifications.models import EndpointIn, PreferenceIn, RecipientIn, Rotation
from bridges_notifications.scheduling import DeliveryWorker, SchedulingPolicy
from bridges_schema import (
    REFERRAL_OVERDUE,
    REFERRAL_REQUESTED,
    WEBHOOK_TESTED,
    DeliveryDeadLettered,
    DeliverySucceeded,
    ReferralOverdue,
    ReferralRequested,
    ReferralStatus,
    ReferralStatusChanged,
    Role,
    Urgency,
    new_event,
    referral_status_event,
)

AGENCY, OTHER = uuid.uuid4(), uuid.uuid4()
OFFICER = "badge-77"
S = ReferralStatus


def _ids() -> dict[str, Any]:
    return {
        "referral_id": uuid.uuid4(),
        "reference": "BR-7K3F9",
        "case_id": uuid.uuid4(),
        "program_id": uuid.uuid4(),
        "agency_id": AGENCY,
        "officer_id": OFFICER,
    }


def requested() -> Any:
    data = ReferralRequested(
        **_ids(),
        urgency=Urgency.EMERGENCY,
        version=1,
        requested_at=NOW,
        respond_by=NOW + timedelta(hours=1),
    )
    return new_event(REFERRAL_REQUESTED, data, source="/r")


def status_changed(to: ReferralStatus) -> Any:
    data = ReferralStatusChanged(
        **_ids(),
        status=to,
        previous_status=S.REQUESTED,
        urgency=Urgency.HIGH,
        actor_role=Role.AGENCY_STAFF,
        version=2,
        changed_at=NOW,
    )
    return new_event(referral_status_event(to), data, source="/r")


def overdue() -> Any:
    data = ReferralOverdue(
        **_ids(),
        status=S.REQUESTED,
        urgency=Urgency.ROUTINE,
        respond_by=NOW,
        detected_at=NOW,
    )
    return new_event(REFERRAL_OVERDUE, data, source="/r")


def endpoint(agency: uuid.UUID = AGENCY, **fields: Any) -> Endpoint:
    return webhook_endpoint(agency, **fields)


RECIPIENT = Recipient(uuid.uuid4(), AGENCY, "intake@pantry.example.org", "es", True, NOW)
PREFERENCE = OfficerPreference(OFFICER, "officer77@police.example.org", True, "en")


# -- who hears about what ------------------------------------------------------------------


def _targets(planned: list[Any]) -> set[tuple[str, str]]:
    return {(d.channel.value, d.audience) for d in planned}


def test_a_new_referral_goes_to_the_agencys_endpoints_and_recipients_not_the_officer():
    wanted, filtered, off, elsewhere = (
        endpoint(),
        endpoint(event_types=("org.bridges.referral.accepted.v1",)),
        endpoint(enabled=False),
        endpoint(OTHER),
    )
    planned = plan_deliveries(
        requested(), [wanted, filtered, off, elsewhere], [RECIPIENT], PREFERENCE
    )
    assert [d.endpoint_id for d in planned if d.channel is Channel.WEBHOOK] == [wanted.id]
    assert _targets(planned) == {("webhook", "agency"), ("email", "agency")}
    assert [d.language for d in planned if d.channel is Channel.EMAIL] == ["es"]


@pytest.mark.parametrize("to", list(S))
def test_the_officer_hears_about_answers_and_outcomes_only_if_asked(to):
    if to is S.REQUESTED:
        return
    planned = plan_deliveries(status_changed(to), [endpoint()], [RECIPIENT], PREFERENCE)
    told = ("email", "officer") in _targets(planned)
    assert told is (to in {S.ACCEPTED, S.REJECTED, S.COMPLETED, S.FAILED, S.CANCELLED, S.ON_HOLD})
    assert ("email", "agency") not in _targets(planned)  # agencies get webhooks for changes
    silent = replace(PREFERENCE, enabled=False)
    assert ("email", "officer") not in _targets(plan_deliveries(status_changed(to), [], [], silent))


def test_an_overdue_referral_reminds_the_agency_by_webhook_and_email():
    planned = plan_deliveries(overdue(), [endpoint()], [RECIPIENT], PREFERENCE)
    assert _targets(planned) == {("webhook", "agency"), ("email", "agency")}


async def test_an_event_arriving_twice_queues_its_deliveries_once():
    uow, event = FakeUnitOfWork(), requested()
    await uow.endpoints.add(endpoint())
    await uow.recipients.put(RECIPIENT)
    for _ in range(2):
        async with uow:
            await fanout.on_referral_requested(event, uow)
            await uow.commit()
    assert len(uow.deliveries.rows) == 2


# -- email notices: typed, bilingual, no personal data -------------------------------------


@pytest.mark.parametrize(
    ("event", "language", "subject"),
    [
        (requested(), "en", "New referral BR-7K3F9"),
        (requested(), "es", "Nueva derivación BR-7K3F9"),
        (overdue(), "en", "Referral BR-7K3F9 is waiting for an answer"),
        (status_changed(S.REJECTED), "es", "está ahora rechazada"),
        (status_changed(S.ACCEPTED), "xx", "is now accepted"),  # unknown language: English
    ],
)
def test_each_event_has_its_notice_in_the_recipients_language(event, language, subject):
    notice = messages.compose(event, language, "https://bridges.test")
    assert subject in notice.subject
    assert f"https://bridges.test/#/inbox/{event.data.referral_id}" in notice.text


def test_a_notice_names_the_referral_by_the_reference_staff_and_officers_see():
    event = status_changed(S.ACCEPTED)
    notice = messages.compose(event, "en", "https://bridges.test")
    before = event.model_copy(update={"data": event.data.model_copy(update={"reference": None})})
    older = messages.compose(before, "en", "https://bridges.test")
    assert "BR-7K3F9" in notice.subject and "BR-7K3F9" in notice.text
    assert f"R-{event.data.referral_id.hex[:8].upper()}" in older.subject  # events from before


def test_a_notice_links_to_the_screen_its_reader_uses_in_the_app():
    event = status_changed(S.ACCEPTED)
    officer = messages.compose(event, "en", "https://bridges.test/app/", audience="officer")
    agency = messages.compose(event, "en", "https://bridges.test/app/", audience="agency")
    assert f"https://bridges.test/app/#/mine/{event.data.referral_id}" in officer.text
    assert f"https://bridges.test/app/#/inbox/{event.data.referral_id}" in agency.html


# -- what an attempt leads to --------------------------------------------------------------


async def _queued(uow: FakeUnitOfWork, hook: Endpoint) -> Any:
    await uow.endpoints.add(hook)
    async with uow:
        await fanout.on_referral_requested(requested(), uow)
        await uow.commit()
    return next(iter(uow.deliveries.rows.values())).planned


POLICY = attempts.AttemptPolicy(schedule_s=(1, 2), breaker=BreakerPolicy(failures=3))


async def test_failures_are_retried_on_schedule_then_dead_lettered_with_an_event():
    uow, hook = FakeUnitOfWork(), endpoint()
    planned = await _queued(uow, hook)
    failed = AttemptResult(503, 12, "HTTP 503")
    first = await attempts.record_attempt(uow, claimed(planned, 1), failed, POLICY)
    second = await attempts.record_attempt(uow, claimed(planned, 2), failed, POLICY)
    last = await attempts.record_attempt(uow, claimed(planned, 3), failed, POLICY)
    assert isinstance(first, retry.RetryIn) and isinstance(second, retry.RetryIn)
    assert isinstance(last, retry.GiveUp)
    assert uow.deliveries.rows[planned.id].status == "dead"
    [dead] = uow.events_of(DeliveryDeadLettered)
    assert dead.agency_id == AGENCY and dead.attempts == 3 and dead.referral_id
    assert len(uow.deliveries.attempt_log) == 3


async def test_a_4xx_is_not_retried_and_a_success_is_announced():
    uow, hook = FakeUnitOfWork(), endpoint()
    planned = await _queued(uow, hook)
    gone = await attempts.record_attempt(
        uow, claimed(planned, 1), AttemptResult(410, 5, "HTTP 410"), POLICY
    )
    assert isinstance(gone, retry.GiveUp)
    again = await _queued(uow, endpoint())
    ok = await attempts.record_attempt(uow, claimed(again, 1), AttemptResult(200, 5, None), POLICY)
    assert isinstance(ok, retry.Delivered)
    assert len(uow.events_of(DeliverySucceeded)) == 1


async def test_an_officers_notice_does_not_name_the_agency_in_its_outcome():
    uow = FakeUnitOfWork()
    await uow.preferences.put(PREFERENCE)
    async with uow:
        await fanout.on_referral_status_changed(status_changed(S.ACCEPTED), uow)
        await uow.commit()
    planned = next(iter(uow.deliveries.rows.values())).planned
    await attempts.record_attempt(uow, claimed(planned, 1), AttemptResult(250, 5, None), POLICY)
    [succeeded] = uow.events_of(DeliverySucceeded)
    assert succeeded.agency_id is None  # the referrals service must not flag the agency


def test_a_failing_endpoint_rests_longer_after_each_failed_probe_up_to_a_cap():
    breaker = BreakerPolicy(failures=3, first_rest_s=5, longest_rest_s=60)
    closed = [breaker.rest_after(BreakerCount(n), probe=False) for n in range(1, 4)]
    assert closed[:2] == [None, None] and closed[2] == timedelta(seconds=5)
    probes = [breaker.rest_after(BreakerCount(3 + n, n, True), probe=True) for n in range(1, 7)]
    assert [r.total_seconds() for r in probes if r] == [10, 20, 40, 60, 60, 60]


def test_failures_of_attempts_under_way_when_the_circuit_opened_do_not_lengthen_its_rest():
    breaker = BreakerPolicy(failures=5, first_rest_s=5, longest_rest_s=60)
    # four more failures right after the fifth opened the circuit: none is a probe
    assert [breaker.rest_after(BreakerCount(n, 0, True), probe=False) for n in range(6, 10)] == [
        None
    ] * 4


async def test_only_a_failed_probe_lengthens_a_rest():
    uow, hook = FakeUnitOfWork(), endpoint()
    planned = await _queued(uow, hook)
    policy = attempts.AttemptPolicy(schedule_s=(1,) * 10, breaker=BreakerPolicy(failures=2))
    failed = AttemptResult(None, 5, "timeout")
    for n in (1, 2, 3, 4):  # the third and fourth were under way when the circuit opened
        await attempts.record_attempt(uow, claimed(planned, n), failed, policy)
    first_rest = uow.endpoints.rows[hook.id].circuit_open_until
    assert first_rest is not None
    assert first_rest - datetime.now(UTC) <= timedelta(seconds=5)
    probe = replace(claimed(planned, 5), probe=True)
    await attempts.record_attempt(uow, probe, failed, policy)
    longer = uow.endpoints.rows[hook.id].circuit_open_until
    assert longer is not None and longer - datetime.now(UTC) >= timedelta(seconds=9)


async def test_the_breaker_rests_an_endpoint_after_failures_in_a_row_and_a_success_resets_it():
    uow, hook = FakeUnitOfWork(), endpoint()
    planned = await _queued(uow, hook)
    policy = attempts.AttemptPolicy(schedule_s=(1,) * 10, breaker=BreakerPolicy(failures=2))
    for n in (1, 2):
        await attempts.record_attempt(
            uow, claimed(planned, n), AttemptResult(None, 5, "timeout"), policy
        )
    rested = uow.endpoints.rows[hook.id]
    assert rested.consecutive_failures == 2 and rested.circuit_open_until is not None
    await attempts.record_attempt(uow, claimed(planned, 3), AttemptResult(200, 5, None), policy)
    healed = uow.endpoints.rows[hook.id]
    assert healed.consecutive_failures == 0 and healed.circuit_open_until is None


# -- endpoints, recipients, preferences ----------------------------------------------------


async def test_an_endpoint_is_registered_with_a_secret_shown_once_and_rotated_with_overlap():
    uow = FakeUnitOfWork()
    created = await endpoints.create(uow, AGENCY, EndpointIn(url="https://93.184.216.34/hooks"))
    assert created.secret.startswith("whsec_")
    listed = await endpoints.list_for_agency(uow, AGENCY, reader=None)
    assert "secret" not in listed[0].model_dump()
    rotated = await endpoints.rotate_secret(uow, AGENCY, created.id, Rotation(overlap_hours=2))
    assert rotated.secret != created.secret and rotated.previous_secret_until is not None
    with pytest.raises(EndpointNotFound):
        await endpoints.rotate_secret(uow, OTHER, created.id, Rotation())


async def test_unknown_event_filters_and_inward_urls_are_refused_before_anything_is_stored():
    uow = FakeUnitOfWork()
    with pytest.raises(UnknownEventType):
        await endpoints.create(
            uow, AGENCY, EndpointIn(url="https://93.184.216.34/", event_types=["nope"])
        )
    with pytest.raises(ValueError, match="credentials"):
        await endpoints.create(uow, AGENCY, EndpointIn(url="https://u:p@93.184.216.34/"))
    assert uow.endpoints.rows == {}


async def test_resuming_an_endpoint_forgets_its_failures_and_wakes_the_worker():
    uow = FakeUnitOfWork()
    hook = await uow.endpoints.add(
        endpoint(consecutive_failures=9, circuit_open_until=NOW, paused=True)
    )
    resumed = await endpoints.set_paused(uow, hook.id, False)
    assert (resumed.paused, resumed.consecutive_failures) == (False, 0)
    assert uow.deliveries.wakes == 1


ADMIN = Principal(sub="admin-ana", role=Role.ADMIN, name="Ana Admin")
OPS = Principal(sub="ops-olu", role=Role.OPS, name="Olu Ops")


async def test_a_test_event_is_queued_to_its_endpoint_only_about_no_referral_and_recorded():
    uow = FakeUnitOfWork()
    hook = await uow.endpoints.add(endpoint())
    other = await uow.endpoints.add(endpoint())
    delivery_id = await endpoints.send_test(uow, AGENCY, hook.id, ADMIN)
    [queued] = [d.planned for d in uow.deliveries.rows.values()]
    assert queued.id == delivery_id and queued.endpoint_id == hook.id != other.id
    assert queued.referral_id is None and queued.event_type == WEBHOOK_TESTED.type
    sent = json.loads(queued.payload)
    assert sent["data"] == {**sent["data"], "endpoint_id": str(hook.id), "agency_id": str(AGENCY)}
    [action] = uow.actions.recorded
    assert (action.actor, action.action, action.target) == (
        "admin-ana",
        "endpoint.test",
        str(hook.id),
    )
    with pytest.raises(EndpointNotFound):  # another agency's endpoint is not this one's
        await endpoints.send_test(uow, OTHER, hook.id, ADMIN)


async def test_a_paused_or_disabled_endpoint_is_not_sent_a_test_that_would_only_wait():
    uow = FakeUnitOfWork()
    for held in (endpoint(paused=True), endpoint(enabled=False)):
        await uow.endpoints.add(held)
        with pytest.raises(EndpointNotDelivering):
            await endpoints.send_test(uow, AGENCY, held.id, ADMIN)
    assert uow.deliveries.rows == {} and uow.actions.recorded == []


async def test_pausing_resuming_and_replaying_are_recorded_as_the_operators_actions():
    uow = FakeUnitOfWork()
    hook = await uow.endpoints.add(endpoint())
    await endpoints.set_paused(uow, hook.id, True, OPS)
    await endpoints.set_paused(uow, hook.id, False, OPS)
    assert await delivery_log.replay_dead(uow, None, OPS) == 0
    assert await delivery_log.replay_dead(uow, hook.id) == 0  # the console
    assert [(a.actor, a.action) for a in uow.actions.recorded] == [
        ("ops-olu", "endpoint.pause"),
        ("ops-olu", "endpoint.resume"),
        ("ops-olu", "deliveries.replay_dead"),
        ("console", "endpoint.replay_dead"),
    ]


async def test_a_recipient_is_removed_by_its_agency_and_id_and_the_record_names_no_address():
    uow = FakeUnitOfWork()
    added = await endpoints.add_recipient(
        uow, AGENCY, RecipientIn(address="desk@example.org"), ADMIN
    )
    with pytest.raises(RecipientNotFound):
        await endpoints.remove_recipient(uow, OTHER, added.id, ADMIN)
    await endpoints.remove_recipient(uow, AGENCY, added.id, ADMIN)
    assert await endpoints.recipients(uow, AGENCY, reader=None) == []
    assert [a.action for a in uow.actions.recorded] == ["recipient.put", "recipient.remove"]
    assert all("desk@" not in repr(a) for a in uow.actions.recorded)


async def test_an_officer_without_email_must_give_one():
    uow = FakeUnitOfWork()
    with pytest.raises(NoEmail):
        await endpoints.set_preference(uow, OFFICER, None, PreferenceIn())
    kept = await endpoints.set_preference(
        uow, OFFICER, "o@example.org", PreferenceIn(language="es")
    )
    assert (kept.email, kept.language) == ("o@example.org", "es")


class _Transport:
    def __init__(self) -> None:
        self.closed = False

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        return AttemptResult(200, 1, None)

    async def close(self) -> None:
        self.closed = True


async def test_a_crashed_worker_keeps_its_transports_for_the_run_after_it():
    async def refused() -> Any:
        raise ConnectionRefusedError(111, "no database")

    transport = _Transport()
    worker = DeliveryWorker(
        FakeUnitOfWork,  # its claim is not implemented: the worker's run raises
        {Channel.WEBHOOK: transport, Channel.EMAIL: _Transport()},
        Wakeup(refused, "test"),
        SchedulingPolicy(poll_s=0.01),
    )
    with pytest.raises(NotImplementedError):
        await worker.run()
    assert not transport.closed  # the runtime runs it again: it must still be able to send
    worker.stop()
    await worker.run()
    assert transport.closed
