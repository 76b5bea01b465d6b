"""Agencies keep their listing true, in Chromium against the real `bridges up`: staff close a
program to referrals "until" a day with a note, and within 5 s an officer's search says so and
the referral already in the officer's cart is refused with that reason; the edit screen shows
the server's refusals at their fields and saves hours and closures; another agency's program
opens nowhere (no screen, a 404 from the API); the monthly email's one-tap link confirms the
listing once. Every screen in English and Spanish passes axe; screenshots at 1440x900,
1024x768, 768x1024 and 390x844."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot

STAFF = "Lee Chen"  # Riverton Community Food Bank
STAFF_ID = "staff-riverton-food-bank"
OFFICER = "Dana Reyes"
DIAPERS = "Alder Diaper Bank"  # two of the food bank's three programs
PANTRY = "Mobile Pantry"
SIZES = {
    "1440x900": (1440, 900),
    "1024x768": (1024, 768),
    "768x1024": (768, 1024),
    "390x844": (390, 844),
}
PROGRAMS = {"en": "Our programs", "es": "Nuestros programas"}
SEARCH_DEADLINE_S = 5.0


def _reopen(stack: AppStack, name: str) -> None:
    tablet.set_intake(stack, name, {"accepting_referrals": True, "capacity_status": "available"})


def _staff_signs_in(page: Page, stack: AppStack, language: str = "en") -> None:
    page.goto(stack.app_url)
    page.locator(".language select").select_option(language)
    page.locator(".signin button.primary").click()
    tablet.choose_at_provider(page, stack, STAFF)
    page.get_by_role("link", name=PROGRAMS[language]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(PROGRAMS[language])


def _program_card(page: Page, name: str) -> Any:
    return page.locator("li.our-program", has=page.get_by_role("heading", name=name, exact=True))


def _speak(page: Page, language: str) -> None:
    """Switch the app's language (the switch folds away on a phone: on a tablet's width)."""
    page.set_viewport_size({"width": 1024, "height": 768})
    page.locator(".language select").select_option(language)


def _no_serious_violations(page: Page, where: str) -> None:
    found = tablet.serious_violations(page)
    assert found == [], f"{where}: {found}"


def test_staff_close_a_program_and_an_officer_sees_it_within_5_s_and_is_refused_the_reason(
    app_stack: AppStack, page: Page, browser: Browser
) -> None:
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "diaper bank", DIAPERS)  # in the cart while it still accepts
    desk = browser.new_context(viewport={"width": 1440, "height": 900})
    until = (datetime.now(UTC) + timedelta(days=30)).date()
    note = "Out of size 4 and 5 diapers until the next delivery"
    try:
        staff = desk.new_page()
        _staff_signs_in(staff, app_stack)
        card = _program_card(staff, DIAPERS)
        card.get_by_label("Not accepting").check()
        card.get_by_label("Until (optional)").fill(until.isoformat())
        card.get_by_label("Note for officers (optional)").fill(note)
        card.get_by_role("button", name="Save", exact=True).click()
        expect(card.locator(".badge").first).to_contain_text("Not accepting referrals until")
        saved = time.monotonic()

        # the officer's search says so, within 5 s of the save
        tablet.open_filters(page)
        page.get_by_label("Accepting referrals only").uncheck()
        while True:
            tablet.search(page, "diaper bank")
            shown = tablet.card(page, DIAPERS)
            if "Not accepting referrals until" in (shown.text_content() or ""):
                break
            assert time.monotonic() - saved < SEARCH_DEADLINE_S, "the search did not show it"
        assert time.monotonic() - saved < SEARCH_DEADLINE_S
        expect(shown).to_contain_text(note)
        expect(shown.locator(".badge-bad")).to_contain_text("✕")  # a mark, not colour alone
        screenshot(page, "officer-search-not-accepting-768x1024-en")

        # the referral filed to it anyway is refused, with the agency's reason
        tablet.eventually(lambda: not tablet.program_accepts(app_stack, DIAPERS))
        family = tablet.family_name()
        tablet.fill_family(page, "Ana", family)
        tablet.give_consent(page)
        tablet.send(page)
        row = tablet.tablet_row(page, family)
        expect(row.locator(".badge")).to_have_text("Refused", timeout=20_000)
        expect(row).to_contain_text(f"not accepting referrals until {until.isoformat()}: {note}")
        screenshot(page, "officer-refused-until-768x1024-en")

        # a listing its agency has not checked for 6 months is flagged, in words and a mark
        page.get_by_role("link", name="Find a program").click()
        tablet.search(page, "heating bills")
        stale = tablet.card(page, "Home Energy Assistance")
        expect(stale.locator(".checked.stale")).to_contain_text("May be out of date")
        stale.scroll_into_view_if_needed()
        screenshot(page, "officer-search-stale-768x1024-en")
    finally:
        desk.close()
        _reopen(app_stack, DIAPERS)


def _axe_ready(browser: Browser, width: int, height: int) -> Any:
    """A context whose pages let axe-core in (the app's CSP allows no inline script)."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    context.set_default_timeout(15_000)
    return context


def test_staff_edit_their_listing_in_both_languages_and_reach_no_other_agencys(
    app_stack: AppStack, browser: Browser
) -> None:
    context = _axe_ready(browser, 1024, 768)
    try:
        _edit_and_reach_no_other(app_stack, context.new_page())
    finally:
        context.close()


def _edit_and_reach_no_other(app_stack: AppStack, page: Page) -> None:
    _staff_signs_in(page, app_stack)
    try:
        _waitlisted(page)
        _edit(app_stack, page)
    finally:
        _reopen(app_stack, PANTRY)


def _waitlisted(page: Page) -> None:
    """A waiting list "until" a day, with a note: what officers then read."""
    card = _program_card(page, PANTRY)
    card.get_by_label("Waiting list").check()
    until = (datetime.now(UTC) + timedelta(days=21)).date()
    card.get_by_label("Until (optional)").fill(until.isoformat())
    card.get_by_label("Note for officers (optional)").fill("New families from the next route")
    card.get_by_role("button", name="Save", exact=True).click()
    expect(card.locator(".badge").first).to_contain_text("Waiting list until")


def _edit(app_stack: AppStack, page: Page) -> None:
    for language in ("en", "es"):
        _speak(page, language)
        expect(page.get_by_role("heading", level=1)).to_contain_text(PROGRAMS[language])
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate("window.scrollTo(0, 0)")
            _no_serious_violations(page, f"our programs {size} {language}")
            screenshot(page, f"agency-programs-{size}-{language}")
    _speak(page, "en")

    # the edit screen: a refusal of the server at its field, then saved
    _program_card(page, DIAPERS).get_by_role("link", name=re.compile("Edit listing")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DIAPERS)
    page.get_by_label("Youngest age").fill("10")
    page.get_by_label("Oldest age").fill("3")
    page.get_by_role("button", name="Save changes").click()
    age = page.locator(".field", has=page.get_by_label("Youngest age"))
    expect(age.locator(".error")).to_contain_text("minimum_age is above maximum_age")
    expect(page.get_by_label("Youngest age")).to_have_attribute("aria-invalid", "true")
    _no_serious_violations(page, "edit with an error")
    page.get_by_label("Youngest age").fill("0")
    page.get_by_role("button", name="Add a closure").click()
    first = (datetime.now(UTC) + timedelta(days=60)).date()
    page.get_by_label("First day closed").fill(first.isoformat())
    page.get_by_label("Last day closed").fill((first + timedelta(days=2)).isoformat())
    page.get_by_label("Reason (officers read it)").fill("Inventory")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".notice").first).to_contain_text("Saved")
    saved = tablet.service_named(app_stack, DIAPERS)
    closures = [s for s in saved["schedules"] if s.get("x_bridges", {}).get("closed")]
    assert [(c["valid_from"], c["description"]) for c in closures] == [
        (first.isoformat(), "Inventory")
    ]
    today = datetime.now(UTC).date()
    assert saved["x_bridges"]["last_verified"] in {str(today), str(today - timedelta(days=1))}
    for language in ("en", "es"):
        _speak(page, language)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.evaluate("window.scrollTo(0, 0)")
            _no_serious_violations(page, f"edit {size} {language}")
            screenshot(page, f"agency-program-edit-{size}-{language}")
        page.set_viewport_size({"width": 1024, "height": 768})
        page.locator("#edit-hours-title").scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -16)")
        screenshot(page, f"agency-program-hours-1024x768-{language}")
    _speak(page, "en")

    # another agency's program: no screen opens it, and the API answers as if it did not exist
    shelter = tablet.service_named(app_stack, "Harbor House Family Shelter")
    page.goto(f"{app_stack.app_url}#/programs/{shelter['id']}")
    expect(page.get_by_role("heading", name="Program not found")).to_be_visible()
    expect(page.locator("form.program-edit")).to_have_count(0)
    token = tablet.token_for(app_stack, STAFF_ID)
    refused = httpx.patch(
        f"{app_stack.urls['directory']}/services/{shelter['id']}",
        json={"description": "ours now"},
        headers={"Authorization": f"Bearer {token}", "If-Match": "*"},
        timeout=10,
    )
    assert refused.status_code == 404, refused.text


def _review_link(stack: AppStack, address: str, since: float) -> str:
    def arrived() -> str | None:
        for path in sorted((stack.run_dir / "mail").glob("*.eml")):
            if path.stat().st_mtime < since:
                continue
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            if mail["To"] == address:
                text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                found = re.search(r"(http\S+#/confirm/\S+)", text)
                return found[1] if found else None
        return None

    return str(tablet.eventually(arrived, timeout_s=30))


def test_the_monthly_emails_link_confirms_the_listing_once(
    app_stack: AppStack, browser: Browser
) -> None:
    context = _axe_ready(browser, 390, 844)
    try:
        _confirm_by_link(app_stack, context.new_page())
    finally:
        context.close()


def _confirm_by_link(app_stack: AppStack, page: Page) -> None:
    admin = {"Authorization": f"Bearer {app_stack.tokens['admin']}"}
    agency = app_stack.user(STAFF_ID)["agency_id"]
    address = "listing@riverton-food-bank.example.org"
    added = httpx.post(
        f"{app_stack.urls['notifications']}/agencies/{agency}/email-recipients",
        json={"address": address},
        headers=admin,
        timeout=10,
    )
    assert added.status_code == 201, added.text
    asked_at = time.time() - 1
    asked = httpx.post(
        f"{app_stack.urls['directory']}/listing-reviews",
        json={"agency_id": agency},
        headers=admin,
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    link = _review_link(app_stack, address, asked_at)
    assert link.startswith(app_stack.app_url)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(link)  # nobody signed in
    expect(page.get_by_role("heading", name="Is your listing still correct?")).to_be_visible()
    _no_serious_violations(page, "confirmation page")
    screenshot(page, "agency-listing-confirm-390x844-en")
    page.get_by_role("button", name="Yes, all still correct").click()
    expect(page.locator(".notice")).to_contain_text("3 program(s) checked today")
    expect(page.locator(".confirmed-programs")).to_contain_text(DIAPERS)
    _no_serious_violations(page, "confirmed")
    screenshot(page, "agency-listing-confirmed-390x844-en")

    page.reload()  # the same link again: it worked once
    _speak(page, "es")
    page.set_viewport_size({"width": 768, "height": 1024})
    expect(page.get_by_role("heading", name="¿Su ficha sigue siendo correcta?")).to_be_visible()
    page.get_by_role("button", name="Sí, todo sigue siendo correcto").click()
    expect(page.locator(".notice")).to_contain_text("ya se usó o venció")
    _no_serious_violations(page, "used link, Spanish")
    screenshot(page, "agency-listing-confirm-used-768x1024-es")
    today = datetime.now(UTC).date()
    for name in (DIAPERS, "Mobile Pantry", tablet.RIVERTON_FOOD_BANK):
        checked = tablet.service_named(app_stack, name)["x_bridges"]["last_verified"]
        assert checked in {str(today), str(today - timedelta(days=1))}, (name, checked)
