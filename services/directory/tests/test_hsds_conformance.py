"""Services valid against the HSDS 3.0 schema import, or are refused with a 422 whose errors
name JSON paths, for one of the reasons listed in DELIBERATE — never a 5xx.

The schema is `data/hsds_service_structure.json`: the HSDS 3.0 compiled service schema's
structure (every object, member, type, format, enum and required list; descriptions and
examples left out), restated by the project for its tests (see data/README.md). Documents come
from a small translation of the part of JSON Schema it uses ($ref, type, properties, required,
items, enum, format) into Hypothesis strategies. (hypothesis-jsonschema 0.23.1 calls a private Hypothesis API that the
Hypothesis this project locks no longer has, and takes half a minute to canonicalise this
schema.) The translation narrows what it draws, to keep examples small and collisions likely;
every document is checked against the schema (`test_the_generator_draws_valid_hsds_only`),
so each one is valid HSDS:
- from the third level of nesting on, objects carry only their required members and arrays
  are empty;
- strings are short (Bridges bounds lengths: 300 characters for names and other short fields,
  10 000 for descriptions, which this test does not reach);
- half of the ids come from a pool of eight, so that parents, duplicates and loops occur;
- extra members (HSDS allows any) are a few short names, none of Bridges' own (`x_bridges`, a
  service's `accessibility`), whose content Bridges validates.
Three documents in four are "tidy": drawn where DELIBERATE does not refuse them (an
organization, names, dates, times, ids that agree), so that most examples reach the database.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bridges_devstack.fuzz import FUZZ
from bridges_directory import dataset
from bridges_schema import Role

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "hsds_service_structure.json").read_text()
)
VALID = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)

# What Bridges refuses although the JSON Schema allows it: (path with indices dropped, message),
# both regular expressions, and why. Everything else valid HSDS imports.
DELIBERATE: list[tuple[str, str, str]] = [
    # Bridges stores each service with its organization (a referral names it; events carry it)
    (r"\$\.services\[\]\.organization", "Field required", "a service needs its organization"),
    (r"\$\.services\[\]", "organization_id differs", "contradicts the embedded organization"),
    (r".*\.service_at_locations\[\]", "location_id differs", "contradicts the embedded location"),
    # a program is listed, searched and referred to by name
    (r".*\.name", "at least 1 character", "a blank name (after trimming whitespace)"),
    (r"\$\.services\[\]", "minimum_age is above", "an age range that admits nobody"),
    # formats HSDS documents in its descriptions, which its JSON Schema does not express
    (r".*\.(valid_from|valid_to)", "valid date", "HSDS: a date as YYYY-MM-DD"),
    (r".*\.(opens_at|closes_at)", "should match pattern", "HSDS: HH:MM, optionally Z or offset"),
    (r".*\.byday", "unknown weekday", "HSDS: iCal weekdays (MO, or 2MO and -1FR when monthly)"),
    (r".*\.schedules\[\]\.timezone", "(greater|less) than", "HSDS: a UTC offset, -12 to 14"),
    (r".*\.schedules\[\]", "valid_from is after valid_to", "a schedule valid on no day"),
    (r".*\.(latitude|longitude)", "(greater|less) than", "WGS84 degrees"),
    # shown in the app and exported, where a number becomes a tel: link (web_values)
    (r".*\.phones\[\]\.number", "not a phone number", "digits and how numbers are written"),
    (r".*\.organization\.logo", "addresses are accepted|web address", "HSDS: a URL of an image"),
    # references (dataset.check_references); those kept as given are warnings instead
    (r".*\.taxonomy_term_id", "unknown taxonomy term", "a term nobody can read or search by"),
    (r".*\.taxonomy_term_id", "differs from taxonomy_term.id", "contradicts the embedded term"),
    (r".*\.attributes\[\]\.id", "duplicate id", "HSDS: each attribute has a unique id"),
    (r".*\.code", "already names term", "HSDS: a code and taxonomy_id define one term"),
    (r".*\.parent_id", "its own ancestor", "search by a term and its descendants needs a tree"),
    # PostgreSQL stores neither; refused rather than altered
    (r".*", "NUL characters|lone surrogate characters", "text PostgreSQL cannot store"),
    (r".*", "unable to parse raw data as a unicode string", "a lone surrogate, not Unicode"),
]

ANNOTATIONS = {
    "$comment",
    "x-hsds-kind",
    "name",
    "title",
    "description",
    "example",
    "constraints",
    "core",
    "order",
    "path",
    "datapackage_metadata",
    "datapackage_type",
    "tabular_required",
    "definitions",
}
KEYWORDS = {"$ref", "type", "properties", "required", "items", "enum", "format"}
MAX_DEPTH = 3
BRIDGES_OWN = {"x_bridges", "accessibility"}
ID_POOL = [str(uuid.UUID(int=n)) for n in range(1, 9)]

IDS = st.sampled_from(ID_POOL) | st.uuids().map(str)
TEXT = st.text(max_size=30)
STORABLE = st.characters(exclude_characters="\x00")
DATES = st.dates().map(str)
CLOCKS = st.from_regex(r"\A([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?(Z|[+-]0\d:[03]0)?\Z")
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=10)

# Tidy documents: by member name, values DELIBERATE does not refuse; fresh ids where the pool
# would make codes clash or terms loop, and an organization always.
TIDY: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(STORABLE, min_size=1, max_size=30).filter(str.strip),
    "byday": st.lists(
        st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1, unique=True
    ).map(",".join),
    "timezone": st.integers(-12, 14),
    "latitude": st.floats(-90, 90),
    "longitude": st.floats(-180, 180),
    "code": st.uuids().map(lambda u: u.hex[:8]),
    "logo": st.from_regex(r"\Ahttps://[a-z]{1,10}\.example/[a-z]{1,8}\.png\Z"),
    "number": st.from_regex(r"\A\+?[0-9]{3}[0-9 ().-]{0,12}\Z"),
    "parent_id": st.uuids().map(str),
}
TIDY_REQUIRED = {"organization"}


def _string(node: dict[str, Any], tidy: bool) -> st.SearchStrategy[str]:
    fmt, kind = node.get("format"), node.get("x-hsds-kind")
    if fmt == "uuid":
        return IDS
    if fmt == "uri":
        return st.from_regex(r"\Ahttps://[a-z]{1,10}\.example(/[a-z0-9]{0,8})?\Z")
    if fmt == "email":
        return st.emails()
    if fmt == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    if kind == "date":  # a format HSDS documents but the JSON Schema leaves open
        return DATES if tidy else DATES | TEXT
    if kind == "time":
        return CLOCKS if tidy else CLOCKS | TEXT
    return st.text(STORABLE, max_size=30) if tidy else TEXT


def from_schema(
    node: dict[str, Any], depth: int = 0, *, tidy: bool = False, key: str = ""
) -> st.SearchStrategy[Any]:
    """Valid instances of `node` (part of SCHEMA); fails on any keyword it does not handle."""
    if "$ref" in node:
        target = SCHEMA["definitions"][node["$ref"].removeprefix("#/definitions/")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    unhandled = set(node) - ANNOTATIONS - KEYWORDS
    assert not unhandled, f"the generator does not handle {unhandled}"
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type", "object")
    if tidy and key in TIDY and kind in ("string", "number"):
        return TIDY[key]
    if kind == "string":
        return _string(node, tidy)
    if kind == "number":
        return st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "array":
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(from_schema(node["items"], depth + 1, tidy=tidy), max_size=2)
    assert kind == "object", kind
    properties: dict[str, Any] = node["properties"]
    required = set(node.get("required", [])) | (TIDY_REQUIRED & set(properties) if tidy else set())
    members = {k: from_schema(v, depth + 1, tidy=tidy, key=k) for k, v in properties.items()}
    drawn = st.fixed_dictionaries(
        {k: s for k, s in members.items() if k in required},
        optional={}
        if depth >= MAX_DEPTH
        else {k: s for k, s in members.items() if k not in required},
    )
    extra_names = st.from_regex(r"\A[a-z][a-z_]{0,9}\Z").filter(
        lambda name: name not in properties and name not in BRIDGES_OWN
    )
    extras = st.dictionaries(extra_names, SCALARS, max_size=1)
    return st.builds(lambda extra, given: {**extra, **given}, extras, drawn)


def _tidy(value: Any) -> Any:
    """Make the ids and ranges of a document agree (in place), as DELIBERATE requires."""
    if isinstance(value, list):
        for item in value:
            _tidy(item)
    if not isinstance(value, dict):
        return value
    for item in value.values():
        _tidy(item)
    for embedded in ("organization", "location", "taxonomy_term"):
        if embedded in value:
            value[f"{embedded}_id"] = value[embedded]["id"]
    if "taxonomy_term" not in value:
        value.pop("taxonomy_term_id", None)
    for low, high in (("valid_from", "valid_to"), ("minimum_age", "maximum_age")):
        if low in value and high in value and value[low] > value[high]:
            value[low], value[high] = value[high], value[low]
    if isinstance(value.get("attributes"), list):
        unique = {a["id"]: a for a in reversed(value["attributes"])}
        value["attributes"] = list(reversed(unique.values()))
    return value


HSDS_SERVICES = from_schema(SCHEMA)
TIDY_SERVICES = from_schema(SCHEMA, tidy=True).map(_tidy)
SERVICES = st.integers(0, 3).flatmap(lambda n: HSDS_SERVICES if n == 0 else TIDY_SERVICES)

# What the directory may already hold, drawn from the same pool of ids (for the pure checks).
POOL_IDS = st.sampled_from(ID_POOL).map(uuid.UUID)
KNOWN = st.builds(
    dataset.Known,
    st.dictionaries(
        POOL_IDS,
        st.builds(dataset.KnownTerm, st.none() | POOL_IDS, st.none() | POOL_IDS, st.none() | TEXT),
    ),
    st.frozensets(POOL_IDS),
)


def _general(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


def _deliberate(error: dict[str, str]) -> bool:
    path = _general(error["path"])
    return any(
        re.fullmatch(where, path) and re.search(what, error["message"])
        for where, what, _ in DELIBERATE
    )


@pytest.mark.slow
def test_the_generator_draws_valid_hsds_only():
    @settings(max_examples=200, deadline=None, database=None)
    @given(SERVICES)
    def check(service: dict[str, Any]) -> None:
        VALID.validate(service)

    check()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.slow
@given(services=st.lists(SERVICES, min_size=1, max_size=3), listed=st.booleans(), known=KNOWN)
def test_parsing_and_checking_raise_nothing_but_invalid_dataset(
    services: list[dict[str, Any]], listed: bool, known: dataset.Known
):
    # embedded terms also listed on their own: references then resolve inside the dataset
    terms = [
        a["taxonomy_term"]
        for s in services
        for a in s.get("attributes", [])
        if "taxonomy_term" in a
    ]
    raw = {"taxonomy_terms": terms if listed else [], "services": services}
    try:
        parsed = dataset.parse(raw)
    except dataset.InvalidDataset as invalid:
        findings = invalid.errors
        assert findings
    else:
        found = dataset.check_references(parsed, known)
        findings = found.errors + found.warnings
        for service in parsed.services:
            alone = dataset.check_service(service, known)
            findings += alone.errors + alone.warnings
    assert all(e.path.startswith("$") for e in findings)


@FUZZ
@given(service=SERVICES)
async def test_a_valid_hsds_service_imports_or_is_refused_deliberately(directory, infra, service):
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post(
            "/import", content=json.dumps([service]), headers={"content-type": "application/json"}
        )
        assert response.status_code < 500, (service, response.text)
        event(f"status {response.status_code}")  # shown by --hypothesis-show-statistics
        if response.status_code == 200:
            report = response.json()
            assert all(w["path"].startswith("$.services[0]") for w in report["warnings"])
            stored = await c.get(f"/services/{service['id']}")
            assert stored.status_code == 200, stored.text
            return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors
    for error in errors:
        event(f"refused: {_general(error['path'])} {error['message'][:40]}")
    undocumented = [e for e in errors if not _deliberate(e)]
    assert not undocumented, (undocumented, service)


async def test_one_coordinate_without_the_other_is_kept_and_places_nothing(directory, infra):
    location = {"id": str(uuid.uuid4()), "location_type": "physical", "latitude": 45.0}
    service = {
        "id": str(uuid.uuid4()),
        "name": "Riverton Food Pantry",
        "status": "active",
        "organization": {"id": str(uuid.uuid4()), "name": "Riverton Aid", "description": ""},
        "service_at_locations": [{"id": str(uuid.uuid4()), "location": location}],
    }
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post("/import", json=[service])
        assert response.status_code == 200, response.text
        near = await c.get("/services", params={"lat": 45, "lon": -123, "radius_km": 500})
        stored = await c.get(f"/services/{service['id']}")
    assert near.json()["total_items"] == 0
    assert stored.json()["service_at_locations"][0]["location"]["latitude"] == 45.0


async def test_a_description_of_one_long_word_is_stored(directory, infra):
    word = "".join(random.Random(7).choices(string.ascii_lowercase, k=9000))  # incompressible
    service = {
        "id": str(uuid.uuid4()),
        "name": "Riverton Food Pantry",
        "status": "active",
        "description": word,
        "organization": {"id": str(uuid.uuid4()), "name": "Riverton Aid", "description": ""},
    }
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post("/import", json=[service])
    assert response.status_code == 200, response.text
