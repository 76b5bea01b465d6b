"""The officer's whole task at every size the app is used at — a tablet held sideways
(1024x768) and upright (768x1024), a phone (390x844) — in English and Spanish: every screen fits
the width (no sideways scrolling), its controls stay large enough to tap, and nothing reads
"Failed to fetch" or a catalogue key. With BRIDGES_SCREENSHOTS=1 each screen is saved to
docs/screenshots/ as <screen>-<width>x<height>-<language>.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser import tablet
from tests.browser.support import AppStack, check_fits, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

SIZES: list[ViewportSize] = [
    {"width": 1024, "height": 768},
    {"width": 768, "height": 1024},
    {"width": 390, "height": 844},
]
WORDS = {
    "en": {
        "sign_in": "Sign in",
        "needs": "Needs",
        "food": "Food",
        "add": "Add to referral",
        "start": "Start the referral",
        "first": "First name",
        "last": "Last name",
        "officer": "Only through me",
        "high": "High",
        "themselves": "themselves",
        "confirm": "I read this text",
        "send": "Send referral",
        "share": "Share with the family",
    },
    "es": {
        "sign_in": "Iniciar sesión",
        "needs": "Necesidades",
        "food": "Alimentos",
        "add": "Añadir a la derivación",
        "start": "Empezar la derivación",
        "first": "Nombre",
        "last": "Apellido",
        "officer": "Solo a través de mí",
        "high": "Alta",
        "themselves": "la propia persona",
        "confirm": "Leí este texto",
        "send": "Enviar derivación",
        "share": "Compartir con la familia",
    },
}


def _fits(page: Page, screen: str, size: ViewportSize, language: str) -> None:
    check_fits(page, screen, size["width"])
    screenshot(page, f"{screen}-{size['width']}x{size['height']}-{language}")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
def test_the_officers_task_fits_every_screen(
    app_stack: AppStack, browser: Browser, size: ViewportSize, language: str
) -> None:
    words = WORDS[language]
    context = browser.new_context(viewport=size, has_touch=True, is_mobile=size["width"] < 600)
    try:
        page = context.new_page()
        page.goto(app_stack.app_url)
        page.locator(".language select").select_option(language)
        page.get_by_role("button", name=words["sign_in"], exact=True).click()
        tablet.choose_at_provider(page, app_stack, "Sam Okafor")
        tablet.enter_pin(page)
        chips = page.get_by_role("group", name=words["needs"])
        chips.get_by_role("button", name=words["food"], exact=True).click()
        card = tablet.card(page, RIVERTON_FOOD_BANK)
        expect(card).to_be_visible()
        _fits(page, "officer-search", size, language)
        card.get_by_role("link", name=RIVERTON_FOOD_BANK).click()
        page.get_by_role("button", name=words["share"]).click()
        _fits(page, "officer-program", size, language)
        page.get_by_role("button", name=words["add"]).click()
        page.go_back()
        page.get_by_role("link", name=words["start"]).click()
        family = tablet.family_name()
        page.get_by_label(words["first"]).first.fill("Leo")
        page.get_by_label(words["last"]).first.fill(family)
        page.get_by_role("radio", name=words["officer"]).check()
        page.locator(
            "fieldset.choice", has=page.get_by_role("radio", name=words["high"])
        ).get_by_role("radio", name=words["high"]).check()
        page.get_by_label(re.compile(words["themselves"])).check()
        page.get_by_label(re.compile(words["confirm"])).check()
        _fits(page, "officer-referral-form", size, language)
        page.get_by_role("button", name=re.compile(words["send"])).click()
        group = page.locator("li.family", has=page.get_by_role("heading", name=re.compile(family)))
        expect(group.locator("li.referral-row")).to_be_visible(timeout=20_000)
        expect(page.locator(".filed .steps li[aria-current=step]")).to_have_count(1)
        _fits(page, "officer-my-referrals", size, language)
        group.locator("li.referral-row a").click()
        expect(page.locator("dl.consent-record")).to_be_visible()
        _fits(page, "officer-referral", size, language)
    finally:
        context.close()
