"""Agencies keep their own listing true, against an in-memory unit of work: what staff may and
may not change of their own programs, versions, intakes closed "until" a day (and reopened on
it), "still correct", the audit log, and the monthly review with its one-use link. (Over real
HTTP and PostgreSQL: test_agency_listing_api.py.)"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from directory_fakes import FakeUnitOfWork
from listing_samples import agency_program

from bridges_directory import catalog, hsds, listing, reviews
from bridges_directory.domain import (
    ChangesNotAllowed,
    InvalidCapacity,
    InvalidService,
    NotYourService,
    ReviewLinkInvalid,
    ReviewLinkSpent,
    StaleService,
)
from bridges_directory.freshness import ReviewPolicy
from bridges_kit.principal import Principal
from bridges_kit.signed_links import LinkSigner
from bridges_kit.versions import VersionCondition
from bridges_schema import (
    ListingReviewRequested,
    Role,
    ServiceCapacityChanged,
    ServiceUpserted,
)

AGENCY = uuid.uuid4()
NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)  # 10:00 in Riverton (America/Los_Angeles)
TODAY = date(2026, 12, 7)
ANY = VersionCondition.parse("*")
STAFF = Principal("staff-lee", Role.AGENCY_STAFF, agency_id=AGENCY, name="Lee Chen")
ADMIN = Principal("admin-1", Role.ADMIN, name="Alex Admin")
KEY = "k" * 40


def program(**fields: Any) -> hsds.Service:
    return hsds.Service.model_validate(agency_program(AGENCY, **fields))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def _stored(uow: FakeUnitOfWork, **fields: Any) -> hsds.Service:
    service = program(**fields)
    await catalog.upsert_service(uow, service, ADMIN)
    uow.published.clear()
    return service


async def test_staff_change_their_programs_hours_phone_and_eligibility(uow):
    service = await _stored(uow)
    hours = [
        {
            "id": str(uuid.uuid4()),
            "freq": "WEEKLY",
            "byday": "MO,WE",
            "opens_at": "09:00",
            "closes_at": "13:00",
        }
    ]
    changed = await listing.edit_service(
        uow,
        STAFF,
        service.id,
        {
            "schedules": hours,
            "phones": [{"id": str(uuid.uuid4()), "number": "503-555-0199"}],
            "minimum_age": 18,
            "eligibility_description": "Adults in Alder County",
            "required_documents": [{"id": str(uuid.uuid4()), "document": "Photo ID"}],
        },
        VersionCondition.parse('"1"'),
        now=NOW,
    )
    assert changed.version == 2
    assert changed.document["schedules"][0]["byday"] == "MO,WE"
    assert changed.document["x_bridges"]["last_verified"] == "2026-12-07"  # saving is checking
    [event] = uow.events_of(ServiceUpserted)
    assert event.version == 2 and event.last_verified == TODAY
    [entry] = [e for e in uow.audit.entries if e.action == "edited"]
    assert (entry.actor_sub, entry.actor_name, entry.agency_id) == ("staff-lee", "Lee Chen", AGENCY)
    assert entry.changes["minimum_age"] == [None, 18.0]
    assert "phones[0].number" in entry.changes


async def test_another_agencys_staff_cannot_touch_the_program(uow):
    service = await _stored(uow)
    stranger = Principal("staff-x", Role.AGENCY_STAFF, agency_id=uuid.uuid4())
    with pytest.raises(NotYourService):
        await listing.edit_service(uow, stranger, service.id, {"description": "x"}, ANY)
    with pytest.raises(NotYourService):
        await listing.update_capacity(uow, stranger, service.id, {"accepting_referrals": False})
    with pytest.raises(NotYourService):
        await listing.confirm_listing(uow, stranger, service.id)
    assert uow.published == [] and (await uow.services.get(service.id)).version == 1


async def test_a_stale_version_changes_nothing(uow):
    service = await _stored(uow)
    with pytest.raises(StaleService):
        await listing.edit_service(
            uow, STAFF, service.id, {"description": "new"}, VersionCondition.parse('"7"')
        )
    assert uow.published == []


async def test_what_only_admins_may_change_is_refused_and_named(uow):
    service = await _stored(uow)
    stored = await uow.services.get(service.id)
    document = copy.deepcopy(dict(stored.document))
    document["status"] = "inactive"
    document["organization"]["name"] = "Another Org"
    document["x_bridges"]["agency_id"] = str(uuid.uuid4())
    document["service_at_locations"][0]["location"]["latitude"] = 46.0
    document["attributes"] = [{"id": str(uuid.uuid4()), "taxonomy_term_id": str(uuid.uuid4())}]
    document["description"] = "fine to change"
    with pytest.raises(ChangesNotAllowed) as refused:
        await listing.edit_service(uow, STAFF, service.id, document, ANY)
    paths = {".".join(map(str, e["location"][1:])) for e in refused.value.errors}
    assert paths == {
        "status",
        "organization.name",
        "x_bridges.agency_id",
        "service_at_locations.0.location.latitude",
        "attributes",
    }
    assert uow.published == [] and (await uow.services.get(service.id)).version == 1


async def test_the_whole_document_sent_back_with_one_change_is_fine(uow):
    service = await _stored(uow)
    document = dict((await uow.services.get(service.id)).served())
    document["service_at_locations"][0]["location"]["addresses"][0]["address_1"] = "9 Oak Ave"
    changed = await listing.edit_service(uow, STAFF, service.id, document, ANY, now=NOW)
    address = changed.document["service_at_locations"][0]["location"]["addresses"][0]
    assert address["address_1"] == "9 Oak Ave"


async def test_admins_may_change_more_but_never_the_id(uow):
    service = await _stored(uow)
    changed = await listing.edit_service(uow, ADMIN, service.id, {"status": "inactive"}, ANY)
    assert changed.document["status"] == "inactive"
    assert changed.document["x_bridges"]["last_verified"] == "2026-01-05"  # not the agency's check
    with pytest.raises(ChangesNotAllowed):
        await listing.edit_service(uow, ADMIN, service.id, {"id": str(uuid.uuid4())}, ANY)


async def test_an_invalid_listing_is_refused_at_its_field(uow):
    service = await _stored(uow)
    with pytest.raises(InvalidService) as invalid:
        await listing.edit_service(
            uow, STAFF, service.id, {"minimum_age": 30, "maximum_age": 12}, ANY
        )
    assert invalid.value.errors[0]["location"][0] == "body"
    with pytest.raises(InvalidService) as invalid:
        await listing.edit_service(uow, STAFF, service.id, {"phones": [{"number": "1"}]}, ANY)
    assert invalid.value.errors[0]["location"] == ["body", "phones", 0, "id"]


async def test_closed_until_a_day_with_a_note_then_reopened_that_day(uow):
    service = await _stored(uow)
    closed = await listing.update_capacity(
        uow,
        STAFF,
        service.id,
        {
            "accepting_referrals": False,
            "capacity_status": "full",
            "capacity_until": "2027-01-05",
            "capacity_note": "Kitchen renovation",
        },
        now=NOW,
    )
    extension = closed.document["x_bridges"]
    assert (extension["capacity_until"], extension["capacity_note"]) == (
        "2027-01-05",
        "Kitchen renovation",
    )
    [event] = uow.events_of(ServiceCapacityChanged)
    assert (event.accepting_referrals, event.capacity_until, event.capacity_note) == (
        False,
        date(2027, 1, 5),
        "Kitchen renovation",
    )
    # the evening before, in Riverton, nothing reopens; on the day, it does
    assert await listing.reopen_due(uow, datetime(2027, 1, 5, 7, 0, tzinfo=UTC)) == 0
    assert await listing.reopen_due(uow, datetime(2027, 1, 5, 9, 0, tzinfo=UTC)) == 1
    extension = (await uow.services.get(service.id)).document["x_bridges"]
    assert extension["accepting_referrals"] is True and "capacity_until" not in extension
    assert (
        uow.audit.entries[-1].action == "reopened" and uow.audit.entries[-1].actor_sub == "bridges"
    )


async def test_opening_again_forgets_the_closings_until_and_note(uow):
    service = await _stored(uow)
    change = {"capacity_status": "waitlist", "capacity_until": "2027-02-01", "capacity_note": "x"}
    await listing.update_capacity(uow, STAFF, service.id, change, now=NOW)
    opened = await listing.update_capacity(
        uow, STAFF, service.id, {"capacity_status": "available"}, now=NOW
    )
    assert set(opened.document["x_bridges"]) & {"capacity_until", "capacity_note"} == set()


async def test_an_until_day_must_be_to_come_and_only_on_a_closed_intake(uow):
    service = await _stored(uow)
    with pytest.raises(InvalidCapacity) as past:
        await listing.update_capacity(
            uow,
            STAFF,
            service.id,
            {"accepting_referrals": False, "capacity_until": "2026-12-07"},
            now=NOW,
        )
    assert past.value.errors[0]["location"] == ["body", "x_bridges", "capacity_until"]
    with pytest.raises(InvalidCapacity):
        await listing.update_capacity(
            uow, STAFF, service.id, {"capacity_until": "2027-03-01"}, now=NOW
        )
    assert uow.published == []


async def test_still_correct_is_todays_check(uow):
    service = await _stored(uow)
    confirmed = await listing.confirm_listing(uow, STAFF, service.id, now=NOW)
    assert confirmed.document["x_bridges"]["last_verified"] == "2026-12-07"
    assert uow.audit.entries[-1].action == "confirmed"
    again = await listing.confirm_listing(uow, STAFF, service.id, now=NOW)
    assert again.version == confirmed.version  # already checked today: nothing to write


async def test_agencies_are_asked_monthly_and_the_link_confirms_once(uow):
    service = await _stored(uow)
    fresh_agency = uuid.uuid4()
    await catalog.upsert_service(
        uow,
        program(x_bridges={"agency_id": str(fresh_agency), "last_verified": "2026-12-01"}),
    )
    policy = ReviewPolicy()
    assert await reviews.request_due(uow, policy, NOW) == 1  # the fresh agency is not asked
    assert await reviews.request_due(uow, policy, NOW + timedelta(days=1)) == 0
    [event] = uow.events_of(ListingReviewRequested)
    assert (event.agency_id, event.programs, event.stale_programs) == (AGENCY, 1, 1)
    signer = LinkSigner(KEY, reviews.PURPOSE)
    token = signer.sign(event.review_id)
    with pytest.raises(ReviewLinkInvalid):
        await reviews.confirm_by_link(uow, signer, token[:-2] + "xx", NOW)
    with pytest.raises(ReviewLinkInvalid):  # signed for another purpose
        await reviews.confirm_by_link(uow, signer, LinkSigner(KEY, "other").sign(event.review_id))
    review, programs = await reviews.confirm_by_link(uow, signer, token, NOW)
    assert [p.id for p in programs] == [service.id] and review.confirmed_at == NOW
    assert programs[0].document["x_bridges"]["last_verified"] == "2026-12-07"
    with pytest.raises(ReviewLinkSpent, match="used"):
        await reviews.confirm_by_link(uow, signer, token, NOW)


async def test_an_expired_link_confirms_nothing(uow):
    await _stored(uow)
    await reviews.request_due(uow, ReviewPolicy(), NOW)
    [event] = uow.events_of(ListingReviewRequested)
    token = LinkSigner(KEY, reviews.PURPOSE).sign(event.review_id)
    with pytest.raises(ReviewLinkSpent, match="expired"):
        await reviews.confirm_by_link(
            uow, LinkSigner(KEY, reviews.PURPOSE), token, NOW + timedelta(days=46)
        )
    with pytest.raises(ReviewLinkInvalid):  # no key configured: no link is Bridges'
        await reviews.confirm_by_link(uow, None, token, NOW)
