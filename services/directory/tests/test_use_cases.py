"""The directory's use cases against an in-memory unit of work: versions, events, references,
all-or-nothing imports (agencies' own listings: test_listing.py). (Over real HTTP and PostgreSQL:
test_services_api.py, test_import_export.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from directory_fakes import FakeUnitOfWork

from bridges_directory import catalog, dataset, hsds
from bridges_directory.domain import (
    ServiceNotFound,
    Terms,
)
from bridges_schema import (
    ServiceDeleted,
    ServiceUpserted,
)

AGENCY = uuid.uuid4()
FOOD = {"id": str(uuid.uuid4()), "code": "food", "name": "Food"}
PANTRY = {
    "id": str(uuid.uuid4()),
    "code": "food.pantry",
    "name": "Food pantry",
    "parent_id": FOOD["id"],
}


def service(**fields: Any) -> hsds.Service:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "Riverton Pantry",
        "status": "active",
        "organization": {"id": str(uuid.uuid4()), "name": "Riverton Org"},
        "x_bridges": {"agency_id": str(AGENCY)},
        **fields,
    }
    return hsds.Service.model_validate(body)


def attribute(term: dict[str, Any], embed: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"id": str(uuid.uuid4()), "taxonomy_term_id": term["id"]}
    if embed:
        found["taxonomy_term"] = term
    return found


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def test_a_new_program_gets_version_1_and_one_event(uow):
    created = await catalog.upsert_service(uow, service())
    [event] = uow.events_of(ServiceUpserted)
    assert created.created and created.changed and created.service.version == 1
    assert event.version == 1 and event.agency_id == AGENCY and event.accepting_referrals


async def test_an_identical_resubmission_changes_nothing_and_emits_nothing(uow):
    program = service()
    await catalog.upsert_service(uow, program)
    again = await catalog.upsert_service(uow, program)
    changed = await catalog.upsert_service(uow, program.model_copy(update={"name": "New name"}))
    assert (again.created, again.changed, again.service.version) == (False, False, 1)
    assert changed.service.version == 2
    assert [e.version for e in uow.events_of(ServiceUpserted)] == [1, 2]


async def test_embedded_terms_come_along_and_events_carry_their_codes(uow):
    program = service(attributes=[attribute(FOOD, embed=True), attribute(PANTRY, embed=True)])
    await catalog.upsert_service(uow, program)
    [event] = uow.events_of(ServiceUpserted)
    assert event.taxonomy_term_codes == ("food", "food.pantry")
    assert uow.services.indexed[program.id].fields.term_ids  # indexed for the taxonomy filter


async def test_events_carry_the_codes_of_the_terms_above_a_programs_own(uow):
    # the needs other services know a program by ("food" above "food.pantry"), whatever the
    # codes look like
    top = {**FOOD, "id": str(uuid.uuid4()), "code": "BD"}
    below = {**PANTRY, "id": str(uuid.uuid4()), "code": "BD-1800", "parent_id": top["id"]}
    await catalog.upsert_service(uow, service(attributes=[attribute(top, embed=True)]))
    await catalog.upsert_service(uow, service(attributes=[attribute(below, embed=True)]))
    assert uow.events_of(ServiceUpserted)[-1].taxonomy_term_codes == ("BD", "BD-1800")


async def test_a_program_naming_an_unknown_term_is_refused_and_nothing_is_written(uow):
    with pytest.raises(dataset.InvalidDataset) as refused:
        await catalog.upsert_service(uow, service(attributes=[attribute(PANTRY)]))
    assert refused.value.errors[0].path == "$.attributes[0].taxonomy_term_id"
    assert uow.services.rows == {} and uow.published == []


async def test_a_term_whose_parent_is_unknown_is_kept_as_given_with_a_warning(uow):
    orphan = {**PANTRY, "parent_id": str(uuid.uuid4())}
    result = await catalog.upsert_service(uow, service(attributes=[attribute(orphan, embed=True)]))
    assert result.created and [w.path for w in result.warnings] == [
        "$.attributes[0].taxonomy_term.parent_id"
    ]


def test_a_terms_lineage_names_its_ancestors_and_survives_a_cycle():
    a, b = uuid.uuid4(), uuid.uuid4()
    terms = Terms.build([(a, ["Food", "Comida"], b, "food"), (b, ["Pantry"], a, "pantry")])
    assert terms.lineage[a][:4] == ["Food", "Comida", "Pantry", "Food"]
    assert len(terms.lineage[a]) == Terms.MAX_DEPTH * 3 // 2


async def test_an_import_is_all_or_nothing(uow):
    good = service().model_dump(mode="json")
    bad = {**service().model_dump(mode="json"), "status": "sometimes"}
    with pytest.raises(dataset.InvalidDataset) as refused:
        await catalog.import_dataset(uow, [good, bad])
    assert refused.value.errors[0].path == "$.services[1].status"
    assert uow.services.rows == {} and uow.published == []


async def test_an_import_counts_what_it_created_changed_and_left_alone(uow):
    first, kept, new = service(), service(), service()
    initial = await catalog.import_dataset(
        uow,
        {
            "taxonomy_terms": [FOOD],
            "services": [first.model_dump(mode="json"), kept.model_dump(mode="json")],
        },
    )
    renamed = first.model_copy(update={"name": "Renamed"})
    report = await catalog.import_dataset(
        uow, [s.model_dump(mode="json") for s in (renamed, kept, new)]
    )
    assert initial.as_dict() == {
        "services": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "retired_count": 0,
        "taxonomy_terms": 1,
        "added": [{"id": str(p.id), "name": p.name, "status": "active"} for p in (first, kept)],
        "changed": [],
        "retired": [],
        "warnings": [],
        "warning_count": 0,
    }
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert [p.name for p in report.changed] == ["Renamed"] and report.retired == []
    assert [e.service_id for e in uow.events_of(ServiceUpserted)][2:] == [first.id, new.id]


async def test_an_import_names_the_programs_it_would_retire_and_a_dry_run_keeps_nothing(uow):
    staying, leaving, closed = service(), service(), service(status="inactive")
    await catalog.import_dataset(
        uow, [p.model_dump(mode="json") for p in (staying, leaving, closed)]
    )
    defunct = leaving.model_copy(update={"status": "defunct"})
    reopened = closed.model_copy(update={"status": "active"})
    events_before = len(uow.published)
    dry = await catalog.import_dataset(
        uow, [p.model_dump(mode="json") for p in (staying, defunct, reopened)], dry_run=True
    )
    assert [(p.id, p.status) for p in dry.retired] == [(leaving.id, "defunct")]
    assert {p.id for p in dry.changed} == {leaving.id, closed.id}  # reopening is no retirement
    assert uow.services.rows[leaving.id].document["status"] == "active"
    assert len(uow.published) == events_before  # a dry run announces nothing


async def test_an_import_refuses_duplicate_ids_with_their_paths(uow):
    program = service().model_dump(mode="json")
    with pytest.raises(dataset.InvalidDataset) as refused:
        await catalog.import_dataset(uow, [program, program])
    assert "$.services[1].id" in {e.path for e in refused.value.errors}


async def test_a_large_import_refreshes_the_planner_statistics(uow, monkeypatch):
    monkeypatch.setattr(catalog, "ANALYZE_AFTER", 2)
    await catalog.import_dataset(uow, [service().model_dump(mode="json")])
    assert uow.services.analyzed == 0
    await catalog.import_dataset(uow, [service().model_dump(mode="json") for _ in range(2)])
    assert uow.services.analyzed == 1


async def test_removing_a_program_announces_a_newer_version(uow):
    program = service()
    await catalog.upsert_service(uow, program)
    await catalog.delete_service(uow, program.id)
    [event] = uow.events_of(ServiceDeleted)
    assert event.version == 2 and program.id not in uow.services.rows
    with pytest.raises(ServiceNotFound):
        await catalog.delete_service(uow, program.id)
