"""The pure rules under an agency's edit: RFC 7386 merge patches, the paths a change touches,
which of them agency staff may change; and closures in the opening hours search reads."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridges_directory import edits, hsds, indexing

# RFC 7386, appendix A
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_merge_patch_follows_rfc_7386(target, patch, result):
    assert edits.merge_patch(target, patch) == result


# documents as the directory keeps them: no nulls (an absent field and a null one are alike)
json_values = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.mark.slow
@given(json_values, json_values)
def test_nothing_changed_means_no_changed_path(before, after):
    paths = list(edits.changed_paths(before, after))
    assert (paths == []) is (before == after)


def test_changed_paths_name_the_field_or_the_list_that_grew():
    before = {"phones": [{"number": "1"}], "name": "a", "x": {"y": 1}}
    after = {"phones": [{"number": "2"}], "name": "a", "x": {"y": 1, "z": 2}}
    assert list(edits.changed_paths(before, after)) == [("phones", 0, "number"), ("x", "z")]
    grown = {**before, "phones": [{"number": "1"}, {"number": "3"}]}
    assert list(edits.changed_paths(before, grown)) == [("phones",)]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (("schedules",), True),
        (("schedules", 2, "opens_at"), True),
        (("service_at_locations", 0, "schedules", 1, "byday"), True),
        (("service_at_locations", 0, "location", "addresses", 0, "address_1"), True),
        (("service_at_locations", 0, "location", "addresses", 0, "city"), False),
        (("service_at_locations", 0, "location", "latitude"), False),
        (("service_at_locations",), False),
        (("x_bridges", "capacity_note"), True),
        (("x_bridges", "agency_id"), False),
        (("x_bridges", "last_verified"), False),
        (("status",), False),
        (("attributes", 0, "taxonomy_term_id"), False),
        (("organization", "name"), False),
        (("id",), False),
        (("phones_extra",), False),  # a prefix of an allowed name is not the name
    ],
)
def test_what_agency_staff_may_change(path, allowed):
    assert edits.agency_may_change(path) is allowed


def test_a_refusal_says_why():
    assert "admins" in edits.Refused(("status",)).reason
    assert "taxonomy" in edits.Refused(("attributes", 0, "id")).reason
    assert edits.dotted(("phones", 0, "number")) == "phones[0].number"


def _with_closure(first: str, last: str) -> hsds.Service:
    return hsds.Service.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": "Pantry",
            "status": "active",
            "organization": {"id": str(uuid.uuid4()), "name": "Org"},
            "schedules": [
                {
                    "id": str(uuid.uuid4()),
                    "freq": "WEEKLY",
                    "byday": "MO,TU,WE,TH,FR",
                    "opens_at": "09:00",
                    "closes_at": "17:00",
                    "timezone": 0,
                },
                {
                    "id": str(uuid.uuid4()),
                    "valid_from": first,
                    "valid_to": last,
                    "description": "Closed for the holidays",
                    "x_bridges": {"closed": True},
                },
            ],
        }
    )


def test_a_closure_closes_the_program_on_its_days_only():
    slots = indexing.opening_slots(_with_closure("2026-12-24", "2026-12-26"))
    assert not indexing.is_open(slots, datetime(2026, 12, 24, 10, 0, tzinfo=UTC))  # Thursday
    assert not indexing.is_open(slots, datetime(2026, 12, 25, 10, 0, tzinfo=UTC))
    assert indexing.is_open(slots, datetime(2026, 12, 23, 10, 0, tzinfo=UTC))
    assert indexing.is_open(slots, datetime(2026, 12, 28, 10, 0, tzinfo=UTC))
    hours = indexing.weekly_hours(slots)
    assert {(h.valid_from, h.valid_to) for h in hours} == {
        (None, date(2026, 12, 23)),
        (date(2026, 12, 27), None),
    }


def test_a_closure_is_dates_without_hours():
    with pytest.raises(ValueError, match="no opening times"):
        hsds.Schedule.model_validate(
            {
                "id": str(uuid.uuid4()),
                "valid_from": "2026-12-24",
                "valid_to": "2026-12-24",
                "opens_at": "09:00",
                "x_bridges": {"closed": True},
            }
        )
    with pytest.raises(ValueError, match="valid_from and valid_to"):
        hsds.Schedule.model_validate({"id": str(uuid.uuid4()), "x_bridges": {"closed": True}})
