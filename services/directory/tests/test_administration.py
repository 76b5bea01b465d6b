"""Admins keep organizations, locations and taxonomy terms: a change reaches every program that
embeds the object (a new version and event each), a stale If-Match changes nothing, an
organization retires by its programs' status, and what programs still point at is not removed —
against an in-memory unit of work. (Over real HTTP and PostgreSQL: test_admin_api.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from directory_fakes import FakeUnitOfWork

from bridges_directory import administration, catalog, dataset, hsds
from bridges_directory.domain import StaleVersion, StillInUse, document_etag
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
from bridges_schema import Role, ServiceUpserted

ADMIN = Principal("admin-1", Role.ADMIN, name="Alex Admin")
ORG = {"id": str(uuid.uuid4()), "name": "Riverton Org"}
PLACE = {"id": str(uuid.uuid4()), "name": "Main St", "latitude": 45.5, "longitude": -122.6}
FOOD = {"id": str(uuid.uuid4()), "code": "food", "name": "Food"}
TAXONOMY = {"id": str(uuid.uuid4()), "name": "Bridges needs"}
PANTRY = {
    "id": str(uuid.uuid4()),
    "code": "pantry",
    "name": "Pantry",
    "parent_id": FOOD["id"],
    "taxonomy_id": TAXONOMY["id"],
}


def program(status: str = "active", org: dict[str, Any] = ORG, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": f"Program {uuid.uuid4().hex[:6]}",
        "status": status,
        "organization": org,
        "service_at_locations": [{"id": str(uuid.uuid4()), "location": PLACE}],
        "attributes": [{"id": str(uuid.uuid4()), "taxonomy_term_id": PANTRY["id"]}],
        **fields,
    }


@pytest.fixture
async def uow() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    await catalog.import_dataset(
        uow,
        {
            "taxonomies": [TAXONOMY],
            "taxonomy_terms": [FOOD, PANTRY],
            "services": [
                program(),
                program(status="inactive"),
                program(org={**ORG, "id": str(uuid.uuid4())}),
            ],
        },
    )
    uow.published.clear()
    uow.audit.entries.clear()
    return uow


def _documents(uow: FakeUnitOfWork) -> list[dict[str, Any]]:
    return [dict(s.document) for s in uow.services.rows.values()]


async def test_renaming_an_organization_rewrites_each_of_its_programs_with_a_new_version(uow):
    read = await uow.organizations.get(uuid.UUID(ORG["id"]))
    renamed = hsds.Organization.model_validate({**ORG, "name": "Riverton Community Org"})
    kept = await administration.put_organization(
        uow, ADMIN, renamed, VersionCondition.parse(document_etag(read))
    )
    ours = [d for d in _documents(uow) if d["organization"]["id"] == ORG["id"]]
    assert kept.programs == 2 and not kept.created
    assert {d["organization"]["name"] for d in ours} == {"Riverton Community Org"}
    events = uow.events_of(ServiceUpserted)
    assert {e.organization_name for e in events} == {"Riverton Community Org"} and len(events) == 2
    assert all(e.version == 2 for e in events)
    # who did it and what changed, program by program, in the directory's audit log
    audited = {c.service_id: c for c in uow.audit.entries}
    assert {e.service_id for e in events} == set(audited)
    for change in audited.values():
        assert (change.action, change.actor_sub, change.version) == ("organization", "admin-1", 2)
        assert change.changes == {"organization.name": ["Riverton Org", "Riverton Community Org"]}


async def test_a_change_over_someone_elses_changes_nothing(uow):
    stale = document_etag({"id": ORG["id"], "name": "what the admin read an hour ago"})
    renamed = hsds.Organization.model_validate({**ORG, "name": "Mine"})
    before = _documents(uow)
    with pytest.raises(StaleVersion):
        await administration.put_organization(uow, ADMIN, renamed, VersionCondition.parse(stale))
    assert _documents(uow) == before and uow.published == [] and uow.audit.entries == []
    with pytest.raises(StaleVersion):  # If-Match on what does not exist names nothing
        await administration.put_organization(
            uow,
            ADMIN,
            hsds.Organization(id=uuid.uuid4(), name="New"),
            VersionCondition.parse('"x"'),
        )


async def test_retiring_an_organization_takes_its_active_programs_out_of_service(uow):
    retired = await administration.retire_organization(uow, ADMIN, uuid.UUID(ORG["id"]), "defunct")
    statuses = sorted(d["status"] for d in _documents(uow) if d["organization"]["id"] == ORG["id"])
    assert retired == 1 and statuses == ["defunct", "inactive"]
    [event] = uow.events_of(ServiceUpserted)
    assert event.status == "defunct"
    [change] = uow.audit.entries
    assert change.action == "retired" and change.changes == {"status": ["active", "defunct"]}


async def test_moving_a_location_moves_every_program_delivered_there(uow):
    moved = hsds.Location.model_validate({**PLACE, "latitude": 45.6, "name": "Main St (new door)"})
    kept = await administration.put_location(uow, ADMIN, moved, None)
    at = [link["location"] for d in _documents(uow) for link in d["service_at_locations"]]
    assert kept.programs == 3 and {(p["latitude"], p["name"]) for p in at} == {
        (45.6, "Main St (new door)")
    }


async def test_a_location_is_removed_only_once_no_program_is_delivered_there(uow):
    with pytest.raises(StillInUse, match="3 program"):
        await administration.remove_location(uow, uuid.UUID(PLACE["id"]), None)
    spare = hsds.Location(id=uuid.uuid4(), name="Spare room")
    await administration.put_location(uow, ADMIN, spare, None)
    await administration.remove_location(uow, spare.id, None)
    assert await uow.locations.get(spare.id) is None


async def test_renaming_a_term_reindexes_the_programs_it_classifies_under_its_new_names(uow):
    food = hsds.TaxonomyTerm.model_validate({**FOOD, "name": "Food and groceries"})
    kept = await administration.put_term(uow, ADMIN, food, None)
    # the programs name the narrower term by id only: their documents do not change, their
    # search fields (the term's lineage) do, and each gets a new version
    assert kept.programs == 3
    assert all(
        "grocer" in row.fields.weight_c + row.fields.weight_d + row.fields.weight_b
        for row in uow.services.indexed.values()
    )
    assert len(uow.events_of(ServiceUpserted)) == 3


async def test_a_term_saved_as_it_is_rewrites_no_program(uow):
    same = hsds.TaxonomyTerm.model_validate(FOOD)
    events = len(uow.events_of(ServiceUpserted))
    kept = await administration.put_term(uow, ADMIN, same, None)
    assert kept.programs == 0
    assert len(uow.events_of(ServiceUpserted)) == events  # no new version, nothing to tell


async def test_a_terms_code_clash_and_a_loop_are_refused_at_their_fields(uow):
    clash = hsds.TaxonomyTerm.model_validate({**PANTRY, "id": str(uuid.uuid4())})
    with pytest.raises(dataset.InvalidDataset) as refused:
        await administration.put_term(uow, ADMIN, clash, None)
    assert [e.path for e in refused.value.errors] == ["$.code"]
    loop = hsds.TaxonomyTerm.model_validate({**FOOD, "parent_id": PANTRY["id"]})
    with pytest.raises(dataset.InvalidDataset) as looped:
        await administration.put_term(uow, ADMIN, loop, None)
    assert [e.path for e in looped.value.errors] == ["$.parent_id"]
    assert uow.published == []


async def test_a_term_is_removed_only_when_it_classifies_nothing_and_has_no_narrower_term(uow):
    with pytest.raises(StillInUse, match="1 narrower"):
        await administration.remove_term(uow, uuid.UUID(FOOD["id"]), None)
    with pytest.raises(StillInUse, match="3 program"):
        await administration.remove_term(uow, uuid.UUID(PANTRY["id"]), None)
    spare = hsds.TaxonomyTerm(id=uuid.uuid4(), name="Spare")
    await administration.put_term(uow, ADMIN, spare, None)
    await administration.remove_term(uow, spare.id, None)
    assert await uow.taxonomy.term(spare.id) is None
