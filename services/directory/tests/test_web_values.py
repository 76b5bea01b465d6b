"""Web addresses, emails and phone numbers in the directory's data: what would run in someone
else's page (`javascript:` links, markup) is refused on every write path — a service written,
a JSON import, a tabular package, an agency's own edit (`PATCH /services/{id}`), an admin's
write of an organization, a location or a taxonomy term — with the
value's place named, also in a dry run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from listing_samples import agency_program
from tabular_files import rewrite_csv

from bridges_directory import tabular, web_values
from bridges_directory.seed import demo_county
from bridges_schema import Role

ZIP = "application/zip"


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "ftp://files.example.org/x",
        "//evil.example.org",
        "https:///no-host",
        "https://a b.example.org",
    ],
)
def test_only_http_and_https_addresses_with_a_host_are_web_addresses(value):
    with pytest.raises(ValueError, match="address"):
        web_values.web_address(value)


@pytest.mark.parametrize(
    "value", ["https://pantry.example.org/apply?lang=es", "http://riverton.example.org"]
)
def test_a_web_address_is_kept_as_given(value):
    assert web_values.web_address(value) == value


@pytest.mark.parametrize(
    "value", ["<b>help@pantry.example.org</b>", "Pantry <help@pantry.example.org>", "help", "a@"]
)
def test_an_email_is_an_address_without_markup(value):
    with pytest.raises(ValueError, match="not an email address"):
        web_values.email_address(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("503-555-0100", True),
        ("+1 (503) 555-0100 ext. 2", True),
        ("1-800-FLOWERS", True),
        ("211", True),
        ('<a href="javascript:alert(1)">call</a>', False),
        ("503<img src=x onerror=alert(1)>", False),
        ("tel:5035550100", False),
        ("N/A", False),
    ],
)
def test_a_phone_number_is_digits_and_how_numbers_are_written(value, ok):
    if ok:
        assert web_values.phone_number(value) == value
    else:
        with pytest.raises(ValueError, match="not a phone number"):
            web_values.phone_number(value)


def _service(**changes: Any) -> dict[str, Any]:
    organization = {"id": str(uuid.uuid4()), "name": "Riverton Aid", "description": ""}
    organization.update(changes.pop("organization", {}))
    return {
        "id": str(uuid.uuid4()),
        "name": "Riverton Food Pantry",
        "status": "active",
        "organization": organization,
        "phones": [{"id": str(uuid.uuid4()), "number": "503-555-0100"}],
        **changes,
    }


HOSTILE = {
    "url": {"url": "javascript:alert(1)"},
    "website": {"organization": {"website": "javascript:alert(1)"}},
    "email": {"email": "<script>alert(1)</script>@x.org"},
    "phone": {"phones": [{"id": str(uuid.uuid4()), "number": "<script>alert(1)</script>"}]},
}
PLACE = {
    "url": "$.services[0].url",
    "website": "$.services[0].organization.website",
    "email": "$.services[0].email",
    "phone": "$.services[0].phones[0].number",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_a_hostile_value_is_refused_on_write_and_on_import_and_named_in_the_dry_run(
    directory, infra, kind
):
    service = _service(**HOSTILE[kind])
    async with directory.client(infra.token(Role.ADMIN)) as c:
        written = await c.post("/services", json=service)
        dry = await c.post("/import", json=[service], params={"dry_run": "true"})
        imported = await c.post("/import", json={"services": [service]})
    assert written.status_code == 422, written.text
    assert written.headers["content-type"] == "application/problem+json"
    for refused in (dry, imported):
        assert refused.status_code == 422, refused.text
        assert PLACE[kind] in {e["path"] for e in refused.json()["errors"]}
    pool = directory.runtime.pool
    assert await pool.fetchval("SELECT count(*) FROM service") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


AGENCY_EDITS = {
    "url": {"url": "javascript:alert(1)"},
    "email": {"email": "<b>x</b>@x.org"},
    "phone": {"phones": [{"id": str(uuid.uuid4()), "number": "<img src=x onerror=alert(1)>"}]},
    "schedule link": {"schedules": [{"id": str(uuid.uuid4()), "schedule_link": "data:,x"}]},
}
EDIT_PLACE = {
    "url": ["body", "url"],
    "email": ["body", "email"],
    "phone": ["body", "phones", 0, "number"],
    "schedule link": ["body", "schedules", 0, "schedule_link"],
}


@pytest.mark.parametrize("kind", sorted(AGENCY_EDITS))
async def test_an_agencys_own_edit_of_its_listing_refuses_a_hostile_value(directory, infra, kind):
    agency = uuid.uuid4()
    body = agency_program(agency)
    staff = infra.token(Role.AGENCY_STAFF, sub="staff-lee", agency_id=agency, name="Lee Chen")
    async with directory.client(infra.token(Role.ADMIN)) as c:
        assert (await c.post("/services", json=body)).status_code == 201
    async with directory.client(staff) as c:
        refused = await c.patch(
            f"/services/{body['id']}", json=AGENCY_EDITS[kind], headers={"If-Match": '"1"'}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert EDIT_PLACE[kind] in [e["location"] for e in refused.json()["errors"]]
        assert (await c.get(f"/services/{body['id']}")).headers["ETag"] == '"1"'


async def test_a_tabular_package_names_the_file_row_and_column_of_each_hostile_value(
    directory, infra
):
    files = tabular.write(demo_county.build())
    rewrite_csv(files, "services.csv", 3, "url", "javascript:alert(1)")
    rewrite_csv(files, "organizations.csv", 2, "email", "<b>x</b>")
    rewrite_csv(files, "phones.csv", 2, "number", "<script>alert(1)</script>")
    async with directory.client(infra.token(Role.ADMIN)) as c:
        response = await c.post(
            "/import",
            content=tabular.zipped(files),
            headers={"content-type": ZIP},
            params={"dry_run": "true"},
        )
    assert response.status_code == 422, response.text
    located = {(e.get("file"), e.get("row"), e.get("column")) for e in response.json()["errors"]}
    assert {
        ("services.csv", 3, "url"),
        ("organizations.csv", 2, "email"),
        ("phones.csv", 2, "number"),
    } <= located
    assert await directory.runtime.pool.fetchval("SELECT count(*) FROM service") == 0


ADMIN_WRITES = {
    "organization website": (
        "organizations",
        {"name": "Riverton Aid", "website": "javascript:alert(1)"},
        ["body", "website"],
    ),
    "organization email": (
        "organizations",
        {"name": "Riverton Aid", "email": "<b>x</b>@x.org"},
        ["body", "email"],
    ),
    "location url": ("locations", {"name": "Mill Hall", "url": "data:,x"}, ["body", "url"]),
    "term uri": (
        "taxonomy_terms",
        {"code": "meals", "name": "Hot meals", "term_uri": "vbscript:msgbox(1)"},
        ["body", "term_uri"],
    ),
}


@pytest.mark.parametrize("kind", sorted(ADMIN_WRITES))
async def test_an_admins_write_of_an_organization_location_or_term_refuses_a_hostile_value(
    directory, infra, kind
):
    collection, fields, place = ADMIN_WRITES[kind]
    object_id = str(uuid.uuid4())
    async with directory.client(infra.token(Role.ADMIN)) as c:
        refused = await c.put(f"/{collection}/{object_id}", json={"id": object_id, **fields})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert place in [e["location"] for e in refused.json()["errors"]]
        assert (await c.get(f"/{collection}/{object_id}")).status_code == 404
