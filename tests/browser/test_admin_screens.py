"""An admin at a desk, in Chromium against the real `bridges up`: an HSDS dataset checked by a dry
run — its errors listed with their paths, then a clean file's report of what would be added,
changed and retired — changes nothing until the import is committed, its upload shown by a
progress bar; a program created with the API's refusals at their fields, then retired, both in
its history (as an organization's new name is); an agency's endpoint added (its secret shown
once), sent a test event whose delivery arrives, and rotated. Every admin screen in English and
Spanish, at a desk and on a tablet (a phone fits too), axe-clean."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser import tablet
from tests.browser.operators import (
    DESK,
    LANDSCAPE,
    PHONE,
    Api,
    every_size_and_language,
    looked_at,
    operator_page,
    receiving,
    sign_in,
    until,
)
from tests.browser.support import AppStack


def _dataset(kept: dict[str, Any], retired: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {
        "services": [
            {**kept, "description": "Now also open on Saturday mornings."},
            {**retired, "status": "defunct"},
            new,
        ]
    }


def _new_program(agency_id: str, name: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "status": "active",
        "organization": {"id": str(uuid.uuid4()), "name": f"{name} Org"},
        "x_bridges": {"agency_id": agency_id},
    }


def _import_file(tmp_path: Path, name: str, dataset: dict[str, Any], pad_kb: int = 0) -> Path:
    """The dataset as a file; `pad_kb` of an HSDS field Bridges keeps without reading it
    (`accreditations`) makes the upload long enough to watch."""
    if pad_kb:
        dataset["services"][-1]["accreditations"] = "Accredited. " * (pad_kb * 1024 // 12)
    path = tmp_path / name
    path.write_text(json.dumps(dataset))
    return path


def test_an_admin_dry_run_import_shows_the_report_and_changes_nothing_until_commit(
    app_stack: AppStack, browser: Browser, tmp_path: Path
) -> None:
    with operator_page(browser) as page:
        _dry_run_then_commit(app_stack, page, tmp_path)


def _dry_run_then_commit(app_stack: AppStack, page: Page, tmp_path: Path) -> None:
    api = Api(app_stack)
    agency = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:6]
    kept = api.program(agency, f"Zephyrine Kept {tag}")
    retired = api.program(agency, f"Zephyrine Retired {tag}")
    new = _new_program(agency, f"Zephyrine New {tag}")
    broken = _dataset(kept, retired, {**new, "status": "sometimes"})
    good = _dataset(kept, retired, new)
    page.set_viewport_size(DESK)
    sign_in(page, app_stack, "Alex Admin")
    page.get_by_role("link", name="Import and export").click()

    # a dataset with an error: listed with its path, nothing imported
    page.get_by_label("Dataset to import").set_input_files(
        _import_file(tmp_path, "broken.json", broken)
    )
    page.get_by_role("button", name="Check it (dry run)").click()
    expect(page.get_by_text("1 error(s): nothing can be imported")).to_be_visible()
    expect(page.locator("table.findings")).to_contain_text("$.services[2].status")
    expect(page.get_by_role("button", name="Import now")).to_be_disabled()

    # a clean dataset: the report of what would change, shown while nothing has changed
    page.get_by_label("Dataset to import").set_input_files(
        _import_file(tmp_path, "good.json", good, pad_kb=150)
    )
    cdp = page.context.new_cdp_session(page)  # a slow line: the upload's progress shows
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 50_000},
    )
    page.get_by_role("button", name="Check it (dry run)").click()
    expect(page.get_by_text(re.compile(r"Sending the file: \d+ %"))).to_be_visible()
    expect(page.get_by_role("heading", name="What this import would do")).to_be_visible(
        timeout=30_000
    )
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    counts = page.locator("dl.import-counts")
    expect(counts.locator("div", has_text="Would be added")).to_contain_text("1")
    expect(counts.locator("div", has_text="Would be changed")).to_contain_text("2")
    expect(counts.locator("div", has_text="Would be retired")).to_contain_text("1")
    page.locator("#import-retired summary").click()
    expect(page.locator("#import-retired")).to_contain_text(retired["name"])
    page.locator("#import-added summary").click()
    expect(page.locator("#import-added")).to_contain_text(new["name"])
    assert api.call("directory", "GET", f"/services/{new['id']}").status_code == 404
    assert api.call("directory", "GET", f"/services/{retired['id']}").json()["status"] == "active"
    looked_at(page, "admin-import-dry-run", DESK, "en", full_page=True)

    page.get_by_role("button", name="Import now").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible(timeout=30_000)
    assert api.call("directory", "GET", f"/services/{new['id']}").status_code == 200
    assert api.call("directory", "GET", f"/services/{retired['id']}").json()["status"] == "defunct"
    changed = api.call("directory", "GET", f"/services/{kept['id']}").json()
    assert changed["description"] == "Now also open on Saturday mornings."

    page.set_viewport_size(LANDSCAPE)
    tablet_language = page.locator(".language select")
    tablet_language.select_option("es")
    expect(page.get_by_role("heading", name="Importado", exact=True)).to_be_visible()
    looked_at(page, "admin-import-done", LANDSCAPE, "es")
    tablet_language.select_option("en")


def test_an_admin_keeps_programs_and_an_agencys_endpoint(
    app_stack: AppStack, browser: Browser
) -> None:
    with operator_page(browser) as page:
        _programs_and_an_endpoint(app_stack, page)


def _programs_and_an_endpoint(app_stack: AppStack, page: Page) -> None:
    api = Api(app_stack)
    agency = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:6]
    existing = api.program(agency, f"Quillmoor Agency {tag}")
    page.set_viewport_size(DESK)
    sign_in(page, app_stack, "Alex Admin")
    looked_at(page, "admin-programs", DESK, "en")

    # a new program: the API's refusal at its field, then created and retired
    page.get_by_role("link", name="New program").click()
    page.get_by_role("button", name="Create").click()
    expect(
        page.locator(".field.has-error", has=page.get_by_label("Name", exact=True))
    ).to_contain_text("at least 1 character")
    name = f"Quillmoor Suppers {tag}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Find another organization").fill(existing["organization"]["name"])
    page.get_by_role("button", name="Find", exact=True).first.click()
    page.get_by_role("button", name=existing["organization"]["name"]).click()
    page.get_by_role("checkbox", name="Hot Meals").check()
    page.get_by_label("Agency that receives its referrals").select_option(
        label=f"{existing['organization']['name']}"
    )
    page.get_by_label("Youngest age").fill("30")
    page.get_by_label("Oldest age").fill("20")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("minimum_age is above maximum_age")
    # the refusal takes the focus (read out, seen at the bottom of a long form) before anyone
    # corrects a field, never in the middle of it
    expect(page.get_by_role("alert")).to_be_focused()
    page.get_by_label("Youngest age").fill("")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    program_id = page.url.rsplit("/", 1)[-1]
    looked_at(page, "admin-program-created", DESK, "en")
    page.get_by_role("button", name="Retire the program").click()
    page.get_by_role("button", name="Retire the program").last.click()
    expect(page.locator(".notice", has_text="Retired: it is inactive")).to_be_visible()
    assert api.call("directory", "GET", f"/services/{program_id}").json()["status"] == "inactive"
    # its history: who did what (the directory's audit log), newest first
    rows = page.get_by_role("table", name="History").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Edited by an administrator")
    expect(rows.first).to_contain_text("status")
    expect(rows.last).to_contain_text("Created")
    expect(rows.first).to_contain_text("Alex Admin (Administrator)")

    # the agency's endpoint: added (secret once), tested (the event arrives), rotated
    with receiving() as receiver:
        page.goto(f"{app_stack.app_url}#/agencies/{agency}")
        expect(
            page.get_by_role("heading", name=existing["organization"]["name"], level=1)
        ).to_be_visible()
        page.get_by_label("URL", exact=True).fill("http://10.0.0.1/hooks")  # private: refused
        page.get_by_role("button", name="Add the endpoint").click()
        expect(
            page.locator(".field.has-error", has=page.get_by_label("URL", exact=True))
        ).to_be_visible()
        page.get_by_label("URL", exact=True).fill(receiver.url)
        page.get_by_role("button", name="Add the endpoint").click()
        secret = page.locator(".secret-value").first
        expect(secret).to_have_text(re.compile(r"^whsec_"))
        page.get_by_role("button", name="I have stored it").click()
        expect(page.locator(".secret-value")).to_have_count(0)
        card = page.locator("li.endpoint")
        card.get_by_role("button", name="Send a test event").click()
        expect(card.locator(".test-delivery")).to_contain_text("Delivered", timeout=20_000)
        until(lambda: receiver.requests)
        assert (
            json.loads(receiver.requests[0].body)["type"]
            == "org.bridges.delivery.webhook_tested.v1"
        )
        card.get_by_role("button", name="Rotate the secret").click()
        card.get_by_role("button", name="Rotate the secret").last.click()
        expect(card.locator(".secret-value")).to_have_text(re.compile(r"^whsec_"))
        expect(card).to_contain_text("the old secret still signs until")
        looked_at(page, "admin-agency-endpoint", DESK, "en")
    page.locator(".language select").select_option("es")
    expect(page.get_by_role("heading", name="Destinos webhook", exact=True)).to_be_visible()
    looked_at(page, "admin-agency-endpoint", DESK, "es")
    page.set_viewport_size(LANDSCAPE)
    page.goto(f"{app_stack.app_url}#/services/{program_id}")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    looked_at(page, "admin-program", LANDSCAPE, "es")
    page.set_viewport_size(PHONE)
    page.goto(f"{app_stack.app_url}#/services")
    expect(page.get_by_role("heading", name="Programas", level=1)).to_be_visible()
    looked_at(page, "admin-programs", PHONE, "es")
    page.locator(".menu-toggle").click()
    page.locator(".language select").select_option("en")


def test_an_admin_renames_an_organization_and_cannot_remove_a_location_in_use(
    app_stack: AppStack, browser: Browser
) -> None:
    api = Api(app_stack)
    program = api.program(str(uuid.uuid4()), f"Tamsin Rename {uuid.uuid4().hex[:6]}", placed=True)
    with operator_page(browser, LANDSCAPE) as page:
        sign_in(page, app_stack, "Alex Admin")
        page.get_by_role("link", name="Organizations").click()
        page.get_by_label("Search organizations by name").fill(program["organization"]["name"])
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_role("link", name=program["organization"]["name"]).click()
        renamed = f"{program['organization']['name']} Renamed"
        page.get_by_label("Name", exact=True).fill(renamed)
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".notice", has_text="1 program(s) now show the change")).to_be_visible()
        expect(page.locator(".used-by")).to_contain_text(program["name"])
        looked_at(page, "admin-organization-saved", LANDSCAPE, "en")
        served = api.call("directory", "GET", f"/services/{program['id']}").json()
        assert served["organization"]["name"] == renamed
        page.get_by_role("link", name=program["name"]).click()
        history = page.get_by_role("table", name="History").locator("tbody tr")
        expect(history.first).to_contain_text("Its organization changed")
        expect(history.first).to_contain_text("organization.name")
        page.get_by_role("heading", name="History").scroll_into_view_if_needed()
        looked_at(page, "admin-program-history", LANDSCAPE, "en")
        location = program["service_at_locations"][0]["location"]
        page.goto(f"{app_stack.app_url}#/locations/{location['id']}")
        page.get_by_role("button", name="Remove").click()
        page.get_by_role("button", name="Remove").last.click()
        expect(page.get_by_role("alert")).to_contain_text(
            "1 program(s) are delivered at this location"
        )
        assert api.call("directory", "GET", f"/locations/{location['id']}").status_code == 200
        looked_at(page, "admin-location-in-use", LANDSCAPE, "en")


def test_the_admin_screens_read_in_spanish(app_stack: AppStack, browser: Browser) -> None:
    with operator_page(browser) as page:
        _in_spanish(app_stack, page)


def _in_spanish(app_stack: AppStack, page: Page) -> None:
    page.set_viewport_size(DESK)
    sign_in(page, app_stack, "Alex Admin")
    page.locator(".language select").select_option("es")
    for link, heading, name in [
        ("Taxonomía", "Taxonomía", "admin-taxonomy"),
        ("Importar y exportar", "Importar y exportar", "admin-import"),
        ("Agencias", "Agencias", "admin-agencies"),
    ]:
        page.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        looked_at(page, name, DESK, "es")
    assert tablet.serious_violations(page) == []


def test_every_admin_screen_at_every_size_in_both_languages(
    app_stack: AppStack, browser: Browser
) -> None:
    api = Api(app_stack)
    agency = str(uuid.uuid4())
    program = api.program(agency, f"Wrenfield Pantry {uuid.uuid4().hex[:6]}", placed=True)
    location = program["service_at_locations"][0]["location"]
    terms = api.call("directory", "GET", "/taxonomy_terms", params={"search": "food"}).json()
    with operator_page(browser) as page:
        sign_in(page, app_stack, "Alex Admin")
        every_size_and_language(
            page,
            app_stack,
            [
                ("admin-programs", "services"),
                ("admin-program", f"services/{program['id']}"),
                ("admin-organizations", "organizations"),
                ("admin-organization", f"organizations/{program['organization']['id']}"),
                ("admin-locations", "locations"),
                ("admin-location", f"locations/{location['id']}"),
                ("admin-taxonomy", "taxonomy"),
                ("admin-term", f"taxonomy/{terms['contents'][0]['id']}"),
                ("admin-import", "import"),
                ("admin-agencies", "agencies"),
                ("admin-agency", f"agencies/{agency}"),
            ],
        )
