"""Offline first: referrals filed with no network wait on the tablet (sealed), survive a reload,
and are sent exactly once when the network returns, even with two tabs open; a refused one
stays visible with the server's reason; after sign-out nothing readable of the family remains."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

MOBILE_PANTRY = "Mobile Pantry"
OFFICER = "Sam Okafor"
OFFICER_ID = "badge-5678"


def test_offline_referrals_are_sent_exactly_once_when_the_network_returns(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    token = tablet.token_for(app_stack, OFFICER_ID)
    started = tablet.now()
    first, second = tablet.family_name(), tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.wait_for_service_worker(page)
    tablet.search(page, "food")  # what the officer looked at is kept for offline search
    expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_be_visible()

    context.set_offline(True)
    for family in (first, second):
        tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
        expect(page.get_by_text("Offline: these are programs saved on this tablet")).to_be_visible()
        tablet.fill_family(page, "Ana", family)
        tablet.give_consent(page)
        tablet.send(page)
        expect(tablet.tablet_row(page, family)).to_contain_text("waiting to send")
    screenshot(page, "officer-offline-queue")

    # a reload with no network: the shell comes from the service worker, the queue from
    # IndexedDB; the key went with the page, so the officer unlocks again
    page.reload()
    expect(page.get_by_text("2 referral(s) wait on this tablet until you unlock.")).to_be_visible()
    tablet.enter_pin(page)
    page.get_by_role("link", name="My referrals").click()
    for family in (first, second):
        expect(tablet.tablet_row(page, family)).to_contain_text("waiting to send")

    # a second tab with the same queue: both send when the network returns
    other = context.new_page()
    other.goto(app_stack.app_url)
    tablet.enter_pin(other)
    other.get_by_role("link", name="My referrals").click()
    context.set_offline(False)
    for tab in (page, other):
        tab.evaluate("window.dispatchEvent(new Event('bridges:flush'))")
    for family in (first, second):
        expect(tablet.server_row(page, family)).to_be_visible(timeout=30_000)
        expect(tablet.server_row(page, family).locator(".badge").first).to_have_text("Requested")

    filed = tablet.referrals_filed_since(app_stack, token, started)
    assert len(filed) == 2, [r["id"] for r in filed]  # two referrals, never four
    assert [state for state, _ in tablet.outbox(page)] == ["confirmed", "confirmed"]


def test_a_refused_referral_stays_visible_with_the_servers_reason(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    refused, next_one = tablet.family_name(), tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "mobile pantry", MOBILE_PANTRY)  # accepting while online
    context.set_offline(True)
    tablet.fill_family(page, "Luz", refused)
    tablet.give_consent(page)
    tablet.send(page)
    tablet.set_intake(
        app_stack, MOBILE_PANTRY, {"accepting_referrals": False}
    )  # meanwhile the program closes
    try:
        context.set_offline(False)  # the page sends at once
        row = tablet.tablet_row(page, refused)
        expect(row.locator(".badge")).to_have_text("Refused", timeout=20_000)
        expect(row).to_contain_text("not accepting")
        screenshot(page, "officer-refused")

        # the next referral goes (its send passes the refused one by, without resending it)
        tablet.file_referral(page, next_one)
        expect(tablet.server_row(page, next_one)).to_be_visible(timeout=20_000)
        expect(row.locator(".badge")).to_have_text("Refused")
        assert tablet.outbox(page) == [("refused", 1), ("confirmed", 1)]
    finally:
        tablet.set_intake(app_stack, MOBILE_PANTRY, {"accepting_referrals": True})


def test_after_sign_out_the_tablet_holds_nothing_readable_of_the_family(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    sent, waiting = tablet.family_name(), tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.file_referral(page, sent)
    expect(tablet.server_row(page, sent)).to_be_visible(timeout=20_000)
    context.set_offline(True)
    tablet.file_referral(page, waiting)  # still unsent at sign-out: it must survive, sealed
    expect(tablet.tablet_row(page, waiting)).to_contain_text("waiting to send")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    kept = tablet.storage_dump(page)
    assert "outbox" in kept and '"state":"waiting"' in kept  # the unsent referral is there...
    for secret in (sent, waiting, "Situation of the", "503-555-0101"):
        assert secret not in kept  # ...but only as ciphertext
    assert "Sam Okafor" not in kept  # not even who was signed in
    context.set_offline(False)  # signing in needs the network; the sealed referral still waits
    page.reload()
    expect(page.get_by_text("Waiting on this tablet to be sent: 1.")).to_be_visible()
