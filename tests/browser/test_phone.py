"""The app on a phone (390x844): every main officer screen fits the width (no sideways
scrolling) and its controls stay large enough to tap."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

PHONE = {"width": 390, "height": 844}


def test_the_officers_screens_fit_a_phone(app_stack: AppStack, browser: Browser) -> None:
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        tablet.sign_in(page, app_stack, "Dana Reyes")
        tablet.search(page, "food bank")
        expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_be_visible()
        screenshot(page, "officer-search-phone")
        widths = {}
        for screen in ("search", "refer", "mine", "storage"):
            page.locator(f"nav a[href='#/{screen}']").click()
            expect(page.locator("main h1")).to_be_visible()
            widths[screen] = page.evaluate("() => document.documentElement.scrollWidth")
        assert all(width <= PHONE["width"] for width in widths.values()), widths
        small = page.evaluate(
            """() => [...document.querySelectorAll('button, a.button, select, input:not([type=checkbox]):not([type=radio])')]
                .filter((el) => el.offsetParent && el.getBoundingClientRect().height < 44)
                .map((el) => el.outerHTML.slice(0, 80))"""
        )
        assert small == []
    finally:
        context.close()
