"""An officer finds a program and files a referral with the family's consent; the agency sees it
in its inbox with its response clock and accepts; the officer's list follows, all without a
page reload, in Chromium at tablet size against the real `bridges up`."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK


def test_officer_refers_a_family_and_the_agency_accepts_without_a_reload(
    app_stack: AppStack, page: Page, browser: Browser
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, "Dana Reyes")

    # a typo still finds the food bank
    tablet.search(page, "food bnak")
    expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_be_visible()
    screenshot(page, "officer-search")

    # near a postcode typed in: results carry their distance, nearest first
    tablet.open_filters(page)
    page.get_by_label("Address, town or postcode").fill("97910")
    page.get_by_role("button", name="Find place").click()
    page.locator("ul.places button").first.click()
    expect(page.locator(".filter-summary")).to_contain_text("near Riverton, OR 97910 (10 km)")
    expect(tablet.card(page, RIVERTON_FOOD_BANK).locator(".distance")).to_have_text(
        re.compile(r"\d+\.\d km")
    )
    distances = [float(d.split()[0]) for d in page.locator("li.card .distance").all_inner_texts()]
    assert distances == sorted(distances), distances

    # open now: every program listed says it is open now
    tablet.open_filters(page)
    with page.expect_response(lambda r: "open_now=true" in r.url and r.ok):
        page.get_by_label("Open now").check()
    expect(page.locator(".result-count")).not_to_have_text("Loading…")
    badges = page.locator("li.card .hours .badge").all_inner_texts()
    assert all(badge == "Open now" for badge in badges), badges
    with page.expect_response(lambda r: "/services?" in r.url and "open_now" not in r.url):
        page.get_by_label("Any time").check()

    tablet.card(page, RIVERTON_FOOD_BANK).get_by_role("button", name="Add to referral").click()
    tablet.fill_family(page, "Maria", family)
    tablet.give_consent(page)
    screenshot(page, "officer-referral-form", full_page=True)
    tablet.send(page)

    row = tablet.server_row(page, family)
    expect(row).to_be_visible(timeout=20_000)  # sent, then confirmed by the server
    expect(row.locator(".badge").first).to_have_text("Requested")
    referral_id = row.get_attribute("data-referral-id")
    assert referral_id
    screenshot(page, "officer-my-referrals")

    # the agency, on its own device
    staff_context = browser.new_context(viewport={"width": 768, "height": 1024})
    staff = staff_context.new_page()
    try:
        tablet.sign_in(staff, app_stack, "Lee Chen")
        incoming = staff.locator(f"li[data-referral-id='{referral_id}']")
        expect(incoming).to_be_visible(timeout=20_000)
        expect(incoming.locator(".clock")).to_have_text(re.compile(r"\d+ (d|h) \d+ (h|min) left"))
        screenshot(staff, "agency-inbox")
        incoming.get_by_role("link").click()
        shared = staff.locator("section.shared")
        expect(shared).to_contain_text(family)  # the family agreed to share its contact details
        expect(shared).to_contain_text("Food")
        expect(staff.locator(".badge").first).to_have_text("Received")  # opening marked it received
        screenshot(staff, "agency-referral", full_page=True)
        staff.get_by_label("Accept").check()
        staff.get_by_role("button", name="Save").click()
        expect(staff.locator("main").get_by_text("The referral is now: Accepted")).to_be_visible()
    finally:
        staff_context.close()

    # the officer's list shows the answer by itself (polled), no reload
    expect(row.locator(".badge").first).to_have_text("Accepted", timeout=20_000)


def test_program_page_shows_the_full_record(app_stack: AppStack, page: Page) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "food bank")
    page.get_by_role("link", name=RIVERTON_FOOD_BANK, exact=True).click()
    expect(page.get_by_role("heading", name=RIVERTON_FOOD_BANK, level=1)).to_be_visible()
    facts = page.locator("dl.facts")
    for label in ("Hours", "Phone", "Languages", "Eligibility", "Where"):
        expect(facts.get_by_text(label, exact=True)).to_be_visible()
    expect(facts.locator("a.tel").first).to_have_attribute("href", re.compile(r"^tel:\+?\d+$"))
    screenshot(page, "officer-program", full_page=True)


def test_the_officer_cancels_with_a_reason_and_records_a_withdrawal(
    app_stack: AppStack, page: Page
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.file_referral(page, family)
    row = tablet.server_row(page, family)
    expect(row).to_be_visible(timeout=20_000)
    row.get_by_role("link").click()
    page.get_by_role("button", name="Cancel this referral").click()
    page.get_by_label("Reason").select_option("need-resolved")
    page.get_by_role("button", name="Cancel the referral").click()
    expect(page.locator("main").get_by_text("The referral is cancelled.")).to_be_visible()
    expect(page.locator("ol.history")).to_contain_text("Need resolved")

    page.get_by_role("button", name="Record consent withdrawal").click()
    page.get_by_role("button", name="Record the withdrawal").click()
    expect(page.locator("main").get_by_text(re.compile(r"Withdrawal recorded"))).to_be_visible()
    expect(page.get_by_text("Consent withdrawn").first).to_be_visible()
