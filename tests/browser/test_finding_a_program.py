"""Finding a program, as an officer in a doorway does it: results above the fold after a place
search (tablet both ways, and at 200 % zoom), back to the same list at the same place, a search
that finds nothing saying which filter to loosen, open at a later time, towns offered before
street addresses and needs in a fixed order offline, and a program's details shared with the
family."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

LANDSCAPE: ViewportSize = {"width": 1024, "height": 768}
PORTRAIT: ViewportSize = {"width": 768, "height": 1024}


def _within_view(page: Page, target: Locator) -> bool:
    """The element is wholly on screen, without scrolling."""
    box = target.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def _near(page: Page, place: str, choice: str) -> None:
    tablet.open_filters(page)
    page.get_by_label("Address, town or postcode").fill(place)
    page.get_by_role("button", name="Find place").click()
    page.locator("ul.places button", has_text=choice).first.click()


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_after_a_place_search_the_count_and_first_result_are_on_screen(
    app_stack: AppStack, browser: Browser, viewport: ViewportSize
) -> None:
    context = browser.new_context(viewport=viewport, has_touch=True)
    try:
        page = context.new_page()
        tablet.sign_in(page, app_stack, "Dana Reyes")
        _near(page, "Riverton", "Riverton")
        expect(page.locator(".filter-summary")).to_contain_text("near Riverton")
        count = page.locator(".result-count")
        expect(count).to_have_text(re.compile(r"\d+ program\(s\) found"))
        first = page.locator("li.card").first.locator("h3 a")
        expect(first).to_be_visible()
        assert page.evaluate("() => window.scrollY") == 0
        assert _within_view(page, count), count.bounding_box()
        assert _within_view(page, first), first.bounding_box()
        screenshot(page, f"officer-search-near-{viewport['width']}x{viewport['height']}")
    finally:
        context.close()


def test_at_200_percent_zoom_the_first_result_is_on_screen(
    app_stack: AppStack, browser: Browser
) -> None:
    # a 1024x768 tablet zoomed to 200 %: a 512x384 page in CSS pixels, drawn twice as large
    context = browser.new_context(
        viewport={"width": 512, "height": 384}, device_scale_factor=2, has_touch=True
    )
    try:
        page = context.new_page()
        tablet.sign_in(page, app_stack, "Dana Reyes")
        page.get_by_role("group", name="Needs").get_by_role("button", name="Food").click()
        first = page.locator("li.card").first.locator("h3 a")
        expect(first).to_be_visible()
        assert _within_view(page, page.locator(".result-count"))
        assert _within_view(page, first), first.bounding_box()
        header = page.locator("header.top").bounding_box()
        assert header is not None and header["height"] <= 120, header  # two short lines
    finally:
        context.close()


def test_back_from_a_program_finds_the_same_list_where_it_was(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "food")
    cards = page.locator("li.card")
    expect(cards.nth(5)).to_be_visible()
    chosen = cards.nth(5).locator("h3 a")
    name = chosen.inner_text()
    # scrolled down the list, the sixth program a little below the top of the screen
    before = page.evaluate(
        "() => { const top = document.querySelectorAll('li.card')[5].getBoundingClientRect().top;"
        " window.scrollTo(0, window.scrollY + top - 150); return window.scrollY; }"
    )
    assert before > 300
    searches: list[str] = []
    page.on("request", lambda r: "/services?" in r.url and searches.append(r.url))
    chosen.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    page.get_by_role("link", name="Back to results").click()
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert abs(page.evaluate("() => window.scrollY") - before) <= 2
    assert _within_view(page, page.get_by_role("link", name=name, exact=True))
    assert searches == []  # the list came back as it was, not searched again
    page.go_back()  # the browser's own back button: the program again, then back once more
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert abs(page.evaluate("() => window.scrollY") - before) <= 2


def test_a_search_that_finds_nothing_says_which_filter_to_loosen(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "shelter")
    _near(page, "97932", "Pine Hollow")  # rural: no shelter within 10 km
    expect(page.locator(".result-count")).to_have_text("0 program(s) found")
    relax = page.get_by_role("group", name="No program matches all of these filters.")
    expect(relax).to_contain_text(re.compile(r"\d+ program\(s\) match beyond 10 km"))
    screenshot(page, "officer-search-nothing")
    relax.get_by_role("button", name="Search within 25 km").click()
    expect(page.locator(".result-count")).to_have_text(re.compile(r"[1-9]\d* program\(s\) found"))
    expect(page.locator(".filter-summary")).to_contain_text("(25 km)")
    distances = [float(d.split()[0]) for d in page.locator("li.card .distance").all_inner_texts()]
    assert distances and max(distances) <= 25 and min(distances) > 10, distances


def test_programs_open_at_a_later_time(app_stack: AppStack, browser: Browser) -> None:
    # the tablet is in Alder County: "10:00" is 10:00 there, as in the programs' hours
    context = browser.new_context(viewport=PORTRAIT, timezone_id="America/Los_Angeles")
    try:
        _open_tomorrow_at_ten(app_stack, context.new_page())
    finally:
        context.close()


def _open_tomorrow_at_ten(app_stack: AppStack, page: Page) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "food")
    tablet.open_filters(page)
    page.get_by_label("Open at…").check()
    page.get_by_label("Day").select_option(label="tomorrow")
    with page.expect_request(lambda r: "open_at=" in r.url) as asked:
        page.get_by_label("Time", exact=True).fill("10:00")
    assert "open_now" not in asked.value.url
    page.get_by_role("button", name=re.compile(r"Show \d+ result")).click()
    expect(page.locator(".filter-summary")).to_contain_text("open tomorrow at 10:00")
    expect(page.locator("li.card").first).to_be_visible()


def test_offline_the_tablet_offers_towns_first_and_keeps_the_needs_in_order(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.wait_for_service_worker(page)
    online_chips = page.get_by_role("group", name="Needs").get_by_role("button").all_inner_texts()
    tablet.search(page, "food")  # what the officer saw is kept for offline use
    expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_be_visible()
    page.context.set_offline(True)
    try:
        page.reload()
        tablet.enter_pin(page)
        chips = page.get_by_role("group", name="Needs").get_by_role("button")
        expect(chips).to_have_count(len(online_chips))
        assert chips.all_inner_texts() == online_chips
        tablet.open_filters(page)
        page.get_by_label("Address, town or postcode").fill("Riv")
        page.get_by_role("button", name="Find place").click()
        offered = page.locator("ul.places button")
        expect(offered.first).to_be_visible()
        labels = offered.all_inner_texts()
        assert labels[0].startswith("Riverton"), labels  # the town, before any street address
    finally:
        page.context.set_offline(False)


def test_a_program_is_shared_with_the_family_as_plain_text(app_stack: AppStack, page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "food bank")
    page.get_by_role("link", name=RIVERTON_FOOD_BANK, exact=True).click()
    page.get_by_role("button", name="Share with the family").click()
    summary = page.locator(".share-summary")
    expect(summary).to_contain_text(RIVERTON_FOOD_BANK)
    text = summary.inner_text()
    assert re.search(r"Phone: [\d-]+", text), text
    assert "Address: 214 Mill Street, Riverton" in text, text
    assert "Hours: Mon, Tue, Wed, Thu, Fri: 10:00\u201318:00" in text, text
    page.get_by_role("button", name="Copy text").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == text
    screenshot(page, "officer-share-program")


def test_words_people_use_find_programs_online_and_offline_alike(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.wait_for_service_worker(page)
    found: dict[str, list[str]] = {}
    for words in ("comida", "rehab", "mother two kids food this evening spanish", "food bnak"):
        tablet.search(page, words)
        names = page.locator("li.card h3 a").all_inner_texts()
        assert names, f"{words!r} found nothing"
        found[words] = names
    assert RIVERTON_FOOD_BANK in found["comida"]  # Spanish: comida is food
    assert RIVERTON_FOOD_BANK in found["mother two kids food this evening spanish"]
    assert RIVERTON_FOOD_BANK in found["food bnak"]
    assert any("Treatment" in n or "Recovery" in n or "Detox" in n for n in found["rehab"])

    page.context.set_offline(True)  # what was seen is searched on the tablet, by the same rules
    try:
        for words in ("comida", "food bnak", "mother two kids food this evening spanish"):
            tablet.search(page, words)
            expect(
                page.get_by_text("Offline: these are programs saved on this tablet")
            ).to_be_visible()
            offline = page.locator("li.card h3 a").all_inner_texts()
            assert RIVERTON_FOOD_BANK in offline, (words, offline)
            online = httpx.get(
                f"{app_stack.urls['directory']}/services",
                params={"search": words, "per_page": 200, "accepting": "true"},
                timeout=10,
            ).json()["contents"]
            assert set(offline) <= {s["name"] for s in online}, (
                words
            )  # nothing the server would not
    finally:
        page.context.set_offline(False)
