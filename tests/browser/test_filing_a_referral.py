"""Filing a referral as an officer in a doorway does: a half-filled form survives a reload and a
lock (sealed on the tablet, offered back after unlocking); "only through me" asks nothing that
does not apply; needs come from the programs chosen, the guardian from the household, the
officer's own phone from the last time; the consent is read in the family's language whatever
the app's; and after Send the officer sees it move to the server."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

MENTORING = "Youth Mentoring Match"


def _choose_two_programs(page: Page) -> None:
    needs = page.get_by_role("group", name="Needs")
    needs.get_by_role("button", name="Food", exact=True).click()
    tablet.card(page, RIVERTON_FOOD_BANK).get_by_role("button", name="Add to referral").click()
    needs.get_by_role("button", name="Youth", exact=True).click()
    tablet.card(page, MENTORING).get_by_role("button", name="Add to referral").click()
    page.get_by_role("link", name="Start the referral").click()
    expect(page.locator("form.refer")).to_be_visible()


def _household_member(page: Page, name: str, relationship: str) -> None:
    member = page.get_by_role("group", name="Household member 1")  # the blank row: type to add
    member.get_by_label("First name").fill(name)
    member.get_by_role("radio", name=relationship).check()


def test_a_half_filled_referral_survives_a_reload_and_a_lock(
    app_stack: AppStack, page: Page
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, "Dana Reyes")
    _choose_two_programs(page)
    page.get_by_label("First name").first.fill("Leo")
    page.get_by_label("Last name").first.fill(family)
    _household_member(page, "Ana", "Mother")
    page.get_by_role("textbox", name="Situation").fill("Their fridge broke last week.")
    page.wait_for_timeout(600)  # the form is sealed a moment after the last keystroke

    page.reload()  # a crash, a flat battery, a swipe that closed the tab: the key is gone
    tablet.enter_pin(page)
    expect(
        page.locator(".notice", has_text="The referral you were writing is back")
    ).to_be_visible()
    assert family not in tablet.storage_dump(page)  # on the tablet only as ciphertext
    expect(page.get_by_label("Last name").first).to_have_value(family)
    expect(
        page.get_by_role("group", name="Household member 1").get_by_label("First name")
    ).to_have_value("Ana")
    expect(page.get_by_role("textbox", name="Situation")).to_have_value(
        "Their fridge broke last week."
    )
    expect(page.locator(".chosen-programs")).to_contain_text(RIVERTON_FOOD_BANK)
    expect(page.locator(".chosen-programs")).to_contain_text(MENTORING)

    page.get_by_label("First name").first.fill("Leonardo")
    page.get_by_role("link", name="Find a program").click()
    page.get_by_role("button", name="Lock").click()  # handed to someone else for a moment
    expect(page.locator("#pin")).to_be_visible()
    assert "Leonardo" not in page.locator("body").inner_text()
    tablet.enter_pin(page)
    banner = page.locator(".notice", has_text="A referral in progress")
    expect(banner).to_contain_text(f"Leonardo {family}, 2 program(s)")
    banner.get_by_role("button", name="Resume").click()
    expect(page.get_by_label("First name").first).to_have_value("Leonardo")


def test_a_family_reached_only_through_the_officer_is_asked_nothing_else(
    app_stack: AppStack, page: Page
) -> None:
    first, second = tablet.family_name(), tablet.family_name()
    tablet.sign_in(page, app_stack, "Dana Reyes")
    for family in (first, second):
        tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
        page.get_by_role("link", name="New referral").click()
        page.get_by_label("First name").first.fill("Amira")
        page.get_by_label("Last name").first.fill(family)
        expect(page.get_by_label("Phone", exact=True)).to_be_visible()
        page.get_by_role("radio", name="Only through me").check()
        for gone in ("Phone", "Email (optional)", "Best time to call"):
            expect(page.get_by_label(gone, exact=True)).to_have_count(0)
        expect(page.locator("fieldset", has_text="Safe to leave a message?")).to_have_count(0)
        officer_phone = page.get_by_label("Your phone for the agency")
        if family == first:
            expect(officer_phone).to_have_value("")
            officer_phone.fill("503-555-0199")
        else:
            expect(officer_phone).to_have_value("503-555-0199")  # remembered from the last one
        page.locator("fieldset", has_text="Urgency").get_by_label("Routine").check()
        tablet.give_consent(page)
        tablet.send(page)  # one Send: nothing is missing that the form did not ask for
        expect(tablet.server_row(page, family)).to_be_visible(timeout=20_000)


def test_needs_and_the_guardian_come_filled_in_and_the_consent_is_in_the_familys_language(
    app_stack: AppStack, page: Page
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, "Dana Reyes")  # the app in English
    _choose_two_programs(page)
    needs = page.locator("fieldset.needs")
    expect(needs.get_by_label("Food")).to_be_checked()  # from the food bank's taxonomy
    expect(needs.get_by_label("Youth")).to_be_checked()  # from the mentoring program's
    page.get_by_label("First name").first.fill("Leo")
    page.get_by_label("Last name").first.fill(family)
    _household_member(page, "Ana", "Mother")
    page.get_by_role("radio", name="Only through me").check()
    page.get_by_role("radio", name="Spanish", exact=True).check()
    consent = page.locator("blockquote.consent-text")
    expect(consent).to_have_attribute("lang", "es")
    expect(consent).to_contain_text("Bridges enviará los datos")
    expect(page.get_by_text("Consent text version bridges-consent-2026-11/es")).to_be_visible()
    page.locator("fieldset", has_text="Urgency").get_by_label("High").check()
    page.get_by_role("radio", name=f"Ana {family} (Mother), as parent or guardian").check()
    page.get_by_label("I read this text to the family").check()
    screenshot(page, "officer-referral-form", full_page=True)
    page.get_by_role("button", name="Send referral (2)").click()

    filed = page.locator(".filed")
    expect(filed).to_contain_text("Sent to 2 program(s)", timeout=20_000)
    expect(filed.locator(".reference")).to_have_text([re.compile(r"^BR-[2-9A-Z]{5}$")] * 2)
    expect(filed.locator(".steps li[aria-current=step]")).to_have_text("Confirmed by the server")
    screenshot(page, "officer-sent")
    rows = tablet.server_row(page, family)
    expect(rows).to_have_count(2)
    referral_id = rows.first.get_attribute("data-referral-id")
    token = tablet.token_for(app_stack, "badge-1234")
    held = httpx.get(
        f"{app_stack.urls['referrals']}/referrals/{referral_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert held["consent"]["given_by"] == "guardian"
    assert held["consent"]["given_by_name"] == f"Ana {family}"
    assert held["consent"]["text_version"] == "bridges-consent-2026-11/es"
    assert sorted(held["needs"]) == ["food", "youth"]
    contact = held["client"]["contact"]
    assert contact["preferred_language"] == "es" and contact["preferred_channel"] == "officer"
    assert "safe_to_leave_message" not in contact or contact["safe_to_leave_message"] is None


def test_the_consent_language_can_be_changed_whatever_the_app_speaks(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    page.get_by_role("link", name="New referral").click()
    page.locator(".language select").select_option("es")  # the officer prefers Spanish
    expect(page.locator("blockquote.consent-text")).to_have_attribute(
        "lang", "en"
    )  # family: English
    page.get_by_label("Leer en").select_option("es")
    expect(page.locator("blockquote.consent-text")).to_have_attribute("lang", "es")
    expect(page.get_by_text(re.compile(r"bridges-consent-2026-11/es"))).to_be_visible()
