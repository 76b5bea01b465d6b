"""The officer's side of the family's follow-up: the form records how the family wants to be
asked whether it got help (the default follows the contact and safety; a message for a family
whose contact needs care asks for the safe hours and for the family to confirm again), and when
the officer is the one to ask, their list says so and the answer is recorded on the referral."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

OFFICER = "Sam Okafor"


def test_safety_concerns_mean_no_message_unless_the_family_confirms_one(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    tablet.fill_family(page, "Alma", tablet.family_name())  # a phone; no message may be left
    follow_up = page.locator("fieldset.follow-up")
    expect(follow_up.get_by_label(re.compile("Through me"))).to_be_checked()  # no message left
    page.get_by_label("Safety concerns").check()
    expect(follow_up.get_by_label(re.compile("Don't reach out"))).to_be_checked()
    follow_up.get_by_label("By text message").check()  # the family asks for a text all the same
    expect(follow_up.get_by_label(re.compile("Safe time to contact"))).to_be_visible()
    tablet.give_consent(page)
    page.get_by_role("button", name="Send referral").click()
    expect(follow_up.locator(".error").first).to_be_visible()  # hours and re-confirmation first
    expect(page.get_by_role("heading", name="New referral")).to_be_visible()
    follow_up.get_by_label(re.compile("Safe time to contact")).fill("17:00")
    follow_up.get_by_label("To", exact=True).fill("19:30")
    follow_up.get_by_label(re.compile("I asked again")).check()
    screenshot(page, "officer-follow-up-choice")
    tablet.send(page)


def test_the_officer_is_told_to_ask_the_family_and_records_the_answer(
    app_stack: AppStack, page: Page
) -> None:
    page.clock.install()  # the list polls every 15 s: time is moved on, not waited for
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    tablet.fill_family(page, "Rita", family)
    page.locator("fieldset.follow-up").get_by_label(re.compile("Through me")).check()
    tablet.give_consent(page)
    tablet.send(page)
    row = tablet.server_row(page, family)
    # the follow-up falls due (3 s in the browser tests' stack): the list says to ask
    tablet.move_clock_until(
        page, lambda: expect(row).to_contain_text("Ask the family", timeout=1_000)
    )
    expect(row).to_contain_text("Ask the family: did you get help?")
    row.get_by_role("link").click()
    ask = page.get_by_role("group", name="Ask the family: did you get help?")
    ask.get_by_label(re.compile("In their words")).fill("The pantry was closed when they went.")
    ask.get_by_role("button", name="Not yet").click()
    said = page.locator(".follow-up-record")
    expect(said).to_contain_text("The family says: Not yet")
    expect(said).to_contain_text("told the officer")
    expect(said).to_contain_text("The pantry was closed when they went.")
    screenshot(page, "officer-family-answer")
    page.get_by_role("link", name=re.compile("Back to my referrals")).click()
    expect(row).to_contain_text("The family says: Not yet")
