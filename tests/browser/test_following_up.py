"""Following a referral up: the referral page has the program's contact, the clock, what was
shared and who consented; a decline arriving is marked (on "My referrals" and on the referral)
without a reload; the family is referred elsewhere with its details filled in and programs for
the same need; referrals are grouped by family and a whole card opens its referral."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

OFFICER = "Sam Okafor"
STAFF_ID = "staff-riverton-food-bank"


def _decline(stack: AppStack, referral_id: str) -> None:
    """The food bank declines it, on its own device."""
    token = tablet.token_for(stack, STAFF_ID)
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{stack.urls['referrals']}/referrals/{referral_id}"
    received = httpx.post(f"{base}/received", headers=headers, timeout=10)
    assert received.status_code == 200, received.text
    declined = httpx.post(
        f"{base}/transitions",
        json={"to": "rejected", "reason": "not-eligible", "note": "Outside our area this month."},
        headers={**headers, "If-Match": received.headers["ETag"]},
        timeout=10,
    )
    assert declined.status_code == 200, declined.text


def test_the_referral_page_shows_the_programs_contact_the_clock_and_the_consent(
    app_stack: AppStack, page: Page
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.file_referral(page, family)
    row = tablet.server_row(page, family)
    expect(row).to_be_visible(timeout=20_000)
    row.click(position={"x": 12, "y": 60})  # anywhere on the card, not only its title
    expect(page.get_by_role("heading", name=re.compile(family), level=1)).to_be_visible()
    contact = page.locator("dl.program-contact")
    expect(contact.locator("a.tel").first).to_have_attribute("href", re.compile(r"^tel:\d+"))
    expect(contact).to_contain_text("214 Mill Street, Riverton")
    expect(page.locator(".referral-head .clock")).to_have_text(re.compile(r" left$"))
    expect(page.locator(".referral-head .reference")).to_have_text(
        re.compile(r"Reference BR-[2-9A-Z]{5}")
    )
    consent = page.locator("dl.consent-record")
    expect(consent).to_contain_text("What was shared")
    expect(consent).to_contain_text("Contact details, Needs")
    expect(consent).to_contain_text("The person themselves · Said yes (verbal)")
    expect(consent).to_contain_text("bridges-consent-2026-11/en")
    screenshot(page, "officer-referral", full_page=True)


def test_a_decline_is_marked_and_the_family_is_referred_elsewhere(
    app_stack: AppStack, page: Page
) -> None:
    family = tablet.family_name()
    page.clock.install()  # the list polls every 15 s: time is moved on, not waited for
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.file_referral(page, family)
    row = tablet.server_row(page, family)
    expect(row).to_be_visible(timeout=20_000)
    referral_id = row.get_attribute("data-referral-id")
    assert referral_id
    page.get_by_role("link", name="Find a program").click()

    _decline(app_stack, referral_id)
    # no reload: the change arrives by itself and is marked where the officer will look
    mine = page.get_by_role("link", name=re.compile("My referrals"))
    tablet.move_clock_until(
        page,
        lambda: expect(mine).to_have_accessible_name(
            re.compile(r"1 changed since you last looked"), timeout=1_000
        ),
    )
    mine.click()
    expect(row).to_have_class(re.compile(r"\bchanged\b"))
    expect(row).to_contain_text("Now Declined")
    expect(row.locator(".badge").first).to_have_text("Declined")
    screenshot(page, "officer-declined")
    row.get_by_role("link").click()
    answer = page.locator(".notice", has_text="Declined by the agency")
    expect(answer).to_contain_text("Not eligible")
    expect(answer).to_contain_text("Outside our area this month.")
    # looked at: no longer marked
    expect(page.get_by_role("link", name="My referrals", exact=True)).to_be_visible()

    answer.get_by_role("button", name="Refer elsewhere").click()
    expect(page.get_by_text(re.compile(rf"Referring Maria {family} elsewhere"))).to_be_visible()
    food = page.get_by_role("group", name="Needs").get_by_role("button", name="Food", exact=True)
    expect(food).to_have_attribute("aria-pressed", "true")  # the same need
    expect(page.locator("li.card").first).to_be_visible()
    expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_have_count(0)  # not the one that declined
    page.locator("li.card").first.get_by_role("button", name="Add to referral").click()
    page.get_by_role("link", name="Start the referral").click()
    expect(page.get_by_label("Last name").first).to_have_value(family)
    expect(page.get_by_label("Phone", exact=True)).to_have_value("503-555-0101")
    expect(page.get_by_label("I read this text to the family")).not_to_be_checked()  # asked again


def test_referrals_are_grouped_by_family(app_stack: AppStack, page: Page) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    tablet.choose_program(page, "mobile pantry", "Mobile Pantry")
    tablet.fill_family(page, "Maria", family)
    tablet.give_consent(page)
    tablet.send(page)
    group = page.locator("li.family", has=page.get_by_role("heading", name=re.compile(family)))
    expect(group.locator("li.referral-row")).to_have_count(2, timeout=20_000)
    expect(group).to_contain_text(RIVERTON_FOOD_BANK)
    expect(group).to_contain_text("Mobile Pantry")
