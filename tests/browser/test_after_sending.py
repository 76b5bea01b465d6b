"""After Send: the connection state comes from whether Bridges answers (a weak Wi-Fi or a
captive portal is not "Online"), no browser error text reaches the screen, lists refresh as soon
as the server answers again, and the statuses the server confirmed stay readable offline."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser import tablet
from tests.browser.support import AppStack

OFFICER = "Sam Okafor"
PROBE_MAX_MS = 60_000  # the connection probe's longest wait (app/src/connection.js)
RAW_ERRORS = re.compile(r"Failed to fetch|NetworkError|TypeError|Load failed|HTTP 0")


def _portal(route: Route) -> None:
    """A captive portal: every request answered with its own login page."""
    route.fulfill(
        status=200, content_type="text/html", body="<html><body>Hotel Wi-Fi: log in</body></html>"
    )


def test_requests_failing_on_a_live_network_show_as_no_connection_and_lists_catch_up(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    earlier, meanwhile = tablet.family_name(), tablet.family_name()
    page.clock.install()  # the app probes on a backoff (5 s doubling): time is moved on
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.file_referral(page, earlier)
    expect(tablet.server_row(page, earlier)).to_be_visible(timeout=20_000)
    badge = page.locator("header .net")
    expect(badge).to_have_text("Online")

    api = re.compile(
        r"http://127\.0\.0\.1:\d+/(referrals|services|healthz|inbox|taxonomy_terms|places)"
    )
    context.route(api, _portal)  # the browser still says it is online
    page.get_by_role("link", name="Find a program").click()
    tablet.search_without_waiting(page, "food")
    expect(badge).to_have_text("No connection to Bridges")
    assert page.evaluate("() => navigator.onLine") is True
    page.get_by_role("link", name="My referrals").click()
    expect(tablet.server_row(page, earlier)).to_be_visible()  # the last list the server gave
    assert not RAW_ERRORS.search(page.locator("body").inner_text())

    # meanwhile a referral arrives by another path; the connection returns by itself
    arrived = tablet.file_referral_by_api_as(app_stack, "badge-5678", meanwhile)
    context.unroute(api)
    page.clock.fast_forward(PROBE_MAX_MS)  # the longest the next probe can be away
    expect(badge).to_have_text("Online")  # probed, not waited for a click
    expect(page.locator(f"li.referral-row[data-referral-id='{arrived}']")).to_be_visible()


def test_statuses_the_server_confirmed_stay_readable_offline(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.wait_for_service_worker(page)
    tablet.file_referral(page, family)
    row = tablet.server_row(page, family)
    expect(row.locator(".badge").first).to_have_text("Requested", timeout=20_000)
    page.wait_for_timeout(500)  # the list is sealed on the tablet a moment after it arrives
    context.set_offline(True)
    try:
        page.reload()
        tablet.enter_pin(page)
        page.get_by_role("link", name="My referrals").click()
        expect(page.get_by_text(re.compile(r"No connection: statuses as of"))).to_be_visible()
        expect(tablet.server_row(page, family).locator(".badge").first).to_have_text("Requested")
        expect(page.locator("header .net")).to_have_text(
            re.compile("Offline|No connection to Bridges")
        )
        assert family not in tablet.storage_dump(page)  # kept sealed, like the rest
    finally:
        context.set_offline(False)


def test_a_referral_filed_offline_is_seen_reaching_the_server(
    app_stack: AppStack, page: Page, context: BrowserContext
) -> None:
    family = tablet.family_name()
    tablet.sign_in(page, app_stack, OFFICER)
    tablet.choose_program(page, "food bank", tablet.RIVERTON_FOOD_BANK)
    context.set_offline(True)
    tablet.fill_family(page, "Noor", family)
    tablet.give_consent(page)
    tablet.send(page)
    filed = page.locator(".filed")
    expect(filed).to_contain_text(
        "Saved on this tablet. It is sent as soon as the connection returns."
    )
    expect(filed.locator(".steps li[aria-current=step]")).to_have_text("On this tablet")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(filed).to_contain_text("Sent to 1 program(s)", timeout=20_000)
    expect(tablet.server_row(page, family)).to_be_visible()
    expect(page.locator("header .net")).to_have_text("Online")
    expect(page.get_by_role("heading", name="On this tablet")).to_have_count(
        0
    )  # nothing left there
    assert not RAW_ERRORS.search(page.locator("body").inner_text())
