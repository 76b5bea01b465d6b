"""The public results page: anyone opens it (no sign-in), it shows no count under 5 and no
family's data, its charts have their tables, it reads in English and Spanish and passes axe."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot

# what a published figure may read as: a count of 5 or more, a share, hours, or words
ALLOWED = re.compile(
    r"^(0|\d{2,}|[5-9]|\d+\s?%|\d+([.,]\d)? h|—|fewer than 5|hidden|menos de 5|oculto"
    r"|Too few to show|Muy pocas para mostrar)$"
)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_public_page_needs_no_sign_in_and_hides_small_counts(
    app_stack: AppStack, browser: Browser, language: str
) -> None:
    for _ in range(6):  # enough for some figures to show
        tablet.file_by_api(app_stack, tablet.family_name())
    public = app_stack.stack["urls"]["public"]
    assert httpx.get(public, timeout=10).status_code == 307  # /public is the app's page
    context = browser.new_context(viewport={"width": 1024, "height": 768}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(public)
        expect(page.locator(".headlines")).to_be_visible()
        assert "/authorize" not in page.url  # nobody was asked to sign in
        if language == "es":
            page.locator(".language select").select_option("es")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Cómo fueron las derivaciones"
            )
        else:
            expect(page.get_by_role("heading", level=1)).to_have_text("How referrals went")
        tables = page.locator("table.chart-table")
        expect(tables.first).to_be_visible()
        assert tables.count() >= 4  # by month, by need, by agency, by status
        for svg in page.locator("figure.chart svg").all():  # each chart names its table
            assert svg.get_attribute("role") == "img"
            described = svg.get_attribute("aria-describedby")
            assert described and page.locator(f"#{described}").count() == 1
        figures = [f.strip() for f in page.locator("table.chart-table td").all_inner_texts()] + [
            f.strip() for f in page.locator(".headline-value").all_inner_texts()
        ]
        assert figures and all(ALLOWED.match(f) for f in figures), figures
        assert (
            re.search(
                r"\b[1-4]\b", " ".join(page.locator("table.chart-table td").all_inner_texts())
            )
            is None
        )
        body = page.locator("body").inner_text()
        assert "Zq" not in body and "Ines" not in body  # no family's name or details
        csv = page.get_by_role("link", name=re.compile("CSV")).evaluate("(a) => a.href")
        assert httpx.get(csv, timeout=10).headers["content-type"].startswith("text/csv")
        assert tablet.serious_violations(page) == []
        screenshot(page, f"public-1024x768-{language}", full_page=True)
        for size in ({"width": 1440, "height": 900}, {"width": 390, "height": 844}):
            page.set_viewport_size(size)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= size["width"], (size, width)
            screenshot(page, f"public-{size['width']}x{size['height']}-{language}", full_page=True)
    finally:
        context.close()
