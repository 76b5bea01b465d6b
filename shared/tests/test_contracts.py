"""The committed JSON Schema and AsyncAPI files match the models; incompatible changes are caught."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bridges_schema import (
    ALL_EVENTS,
    REFERRAL_REQUESTED,
    ReferralRequested,
    UnknownEventType,
    Urgency,
    new_event,
    parse_event,
)
from bridges_schema.docgen import check, event_schema, incompatibilities, render

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_committed_docs_match_the_models():
    assert check(DOCS) == [], "run `make docs` and commit the result"


def test_every_event_has_a_schema_and_an_asyncapi_channel():
    files = render()
    asyncapi = json.loads(files["asyncapi.json"])
    assert asyncapi["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in asyncapi["channels"].values()}
    for spec in ALL_EVENTS:
        assert f"events/{spec.type}.json" in files
        assert spec.subject() in addresses
    assert "bridges.referral.v1.in-progress" in addresses
    assert "bridges.directory.v1.service.upserted" in addresses


def _requested() -> ReferralRequested:
    now = datetime.now(UTC)
    return ReferralRequested(
        referral_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        program_id=uuid.uuid4(),
        agency_id=uuid.uuid4(),
        urgency=Urgency.HIGH,
        need_codes=("food-pantry",),
        officer_id="badge-1",
        version=1,
        requested_at=now,
        respond_by=now,
    )


def test_event_round_trips_through_json_and_validates_against_its_schema():
    jsonschema = pytest.importorskip("jsonschema")
    event = new_event(REFERRAL_REQUESTED, _requested(), source="/t", correlation_id="c-1")
    raw = event.model_dump_json()
    jsonschema.validate(json.loads(raw), event_schema(REFERRAL_REQUESTED))
    parsed = parse_event(raw)
    assert parsed == event
    assert parsed.type == "org.bridges.referral.requested.v1"


def test_unknown_types_and_bad_data_are_refused():
    event = json.loads(new_event(REFERRAL_REQUESTED, _requested(), source="/t").model_dump_json())
    with pytest.raises(UnknownEventType):
        parse_event(json.dumps({**event, "type": "org.bridges.referral.teleported.v1"}))
    with pytest.raises(ValidationError):
        parse_event(json.dumps({**event, "data": {**event["data"], "urgency": "whenever"}}))


def test_adding_an_optional_field_is_compatible_but_removing_or_requiring_is_not():
    old = event_schema(REFERRAL_REQUESTED)
    data_def = old["$defs"]["ReferralRequested"]

    added = copy.deepcopy(old)
    added["$defs"]["ReferralRequested"]["properties"]["note_code"] = {"type": "string"}
    assert incompatibilities(old, added) == []

    removed = copy.deepcopy(old)
    del removed["$defs"]["ReferralRequested"]["properties"]["urgency"]
    assert "field 'urgency' removed" in incompatibilities(old, removed)

    required = copy.deepcopy(added)
    required["$defs"]["ReferralRequested"]["required"] = [*data_def["required"], "note_code"]
    assert "field 'note_code' became required" in incompatibilities(old, required)

    retyped = copy.deepcopy(old)
    retyped["$defs"]["ReferralRequested"]["properties"]["version"] = {"type": "string"}
    assert "field 'version' changed its schema" in incompatibilities(old, retyped)


def test_check_reports_an_incompatible_change_to_committed_docs(tmp_path):
    from bridges_schema.docgen import write

    write(tmp_path)
    path = tmp_path / f"events/{REFERRAL_REQUESTED.type}.json"
    doc = json.loads(path.read_text())
    doc["$defs"]["ReferralRequested"]["properties"]["legacy_field"] = {"type": "string"}
    path.write_text(json.dumps(doc))
    problems = check(tmp_path)
    assert any("INCOMPATIBLE" in p and "legacy_field" in p for p in problems)
