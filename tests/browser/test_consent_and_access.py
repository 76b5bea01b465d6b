"""Consent cannot be skipped (in the app and at the server); every main screen passes axe-core
with no serious or critical finding in English and in Spanish; a referral can be filed with
the keyboard alone."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK


def test_the_send_button_stays_disabled_until_consent_is_recorded(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    tablet.fill_family(page, "Maria", tablet.family_name())
    send = page.get_by_role("button", name="Send referral")
    expect(send).to_be_disabled()
    page.locator("fieldset", has_text="Who consented").get_by_label(
        re.compile("themselves")
    ).check()
    page.locator("fieldset", has_text="How").get_by_label("Said yes (verbal)").check()
    expect(send).to_be_disabled()  # the family's agreement itself is not yet confirmed
    expect(page.get_by_text("Record the family's consent to send.")).to_be_visible()
    page.get_by_label("I read this text to the family").check()
    expect(send).to_be_enabled()
    expect(page.get_by_text("Consent text version bridges-consent-2026-11/en")).to_be_visible()


def test_the_server_refuses_a_referral_without_consent(app_stack: AppStack) -> None:
    services = httpx.get(
        f"{app_stack.urls['directory']}/services", params={"search": "food bank"}, timeout=10
    ).json()["contents"]
    program = next(s for s in services if s["name"] == RIVERTON_FOOD_BANK)
    answer = httpx.post(
        f"{app_stack.urls['referrals']}/referrals",
        json={
            "client": {
                "given_name": "No",
                "family_name": "Consent",
                "contact": {"phone": "503-555-0199", "safe_to_leave_message": True},
            },
            "needs": ["food"],
            "urgency": "routine",
            "program_ids": [program["id"]],
        },
        headers={
            "Authorization": f"Bearer {app_stack.tokens['officer']}",
            "Idempotency-Key": f"test-{uuid.uuid4()}",
        },
        timeout=10,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "consent" in answer.json()["detail"]


SIGN_IN = {"en": "Sign in", "es": "Iniciar sesión"}
ADD = {"en": "Add to referral", "es": "Añadir a la derivación"}
SCREENS = [
    "sign-in",
    "pin",
    "search",
    "search-filters",
    "search-nothing",
    "program",
    "referral",
    "mine",
    "officer-referral",
    "storage",
    "inbox",
    "inbox-referral",
]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_main_screen_passes_axe(app_stack: AppStack, browser: Browser, language: str) -> None:
    # axe is injected as an inline script, which the app's Content-Security-Policy refuses
    officer = browser.new_context(viewport={"width": 768, "height": 1024}, bypass_csp=True)
    try:
        _check_every_screen(app_stack, browser, officer.new_page(), language)
    finally:
        officer.close()


def _check_every_screen(app_stack: AppStack, browser: Browser, page: Page, language: str) -> None:
    found: dict[str, list[dict[str, object]]] = {}
    tablet.file_by_api(app_stack, tablet.family_name())  # the inbox has one to open

    def check(screen: str) -> None:
        page.wait_for_load_state("networkidle")
        found[screen] = tablet.serious_violations(page)
        if language == "es":
            screenshot(page, f"{screen}-es", full_page=True)

    page.goto(app_stack.app_url)
    page.locator(".language select").select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    check("sign-in")
    page.get_by_role("button", name=SIGN_IN[language], exact=True).click()
    tablet.choose_at_provider(page, app_stack, "Dana Reyes")
    expect(page.locator("#pin")).to_be_visible()
    check("pin")
    tablet.enter_pin(page)
    expect(page.locator("#search-text")).to_be_visible()
    page.fill("#search-text", "food")
    page.press("#search-text", "Enter")
    expect(page.locator("li.card").first).to_be_visible()
    check("search")
    page.locator(".filter-summary button").click()
    expect(page.locator("#filter-panel")).to_be_visible()
    check("search-filters")
    page.fill("#search-text", "zzqqxxnothing")
    page.press("#search-text", "Enter")
    expect(page.locator(".relax")).to_be_visible()
    check("search-nothing")
    page.fill("#search-text", "food")
    page.press("#search-text", "Enter")
    expect(page.locator("li.card").first).to_be_visible()
    page.locator("li.card h3 a").first.click()
    expect(page.locator("article.program")).to_be_visible()
    page.locator(".share > button").click()
    expect(page.locator(".share-summary")).to_be_visible()
    check("program")
    page.get_by_role("button", name=ADD[language]).click()
    page.locator("nav a[href='#/refer']").click()
    expect(page.locator("form.refer")).to_be_visible()
    check("referral")
    page.locator("nav a[href='#/mine']").click()
    expect(page.locator("#on-server")).to_be_visible()
    check("mine")
    page.locator("li.referral-row a").first.click()
    expect(page.locator("article.referral")).to_be_visible()
    check("officer-referral")
    page.locator("nav a[href='#/storage']").click()
    expect(page.locator("#storage-panel")).to_be_visible()
    check("storage")

    staff = browser.new_context(
        viewport={"width": 768, "height": 1024}, locale=language, bypass_csp=True
    )
    try:
        page = staff.new_page()
        page.goto(app_stack.app_url)
        page.locator(".language select").select_option(language)
        page.get_by_role("button", name=SIGN_IN[language], exact=True).click()
        tablet.choose_at_provider(page, app_stack, "Lee Chen")
        expect(page.locator(".tabs")).to_be_visible()
        expect(page.locator("li.referral-row").first).to_be_visible()
        check("inbox")
        page.locator("li.referral-row a").first.click()
        expect(page.locator("section.shared")).to_be_visible()
        check("inbox-referral")
    finally:
        staff.close()
    assert set(found) == set(SCREENS)
    assert {screen: v for screen, v in found.items() if v} == {}


def _tab_to(page: Page, condition: str, *, backwards: bool = False, limit: int = 300) -> None:
    """Press Tab (Shift+Tab backwards) until the focused element satisfies `condition` (JS over
    `el`)."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        # focus that left the page lands on <body>, whose text holds every label: never a match
        if page.evaluate(
            f"() => {{ const el = document.activeElement; return el !== document.body && !!({condition}); }}"
        ):
            return
    raise AssertionError(f"{key} never reached an element where {condition}")


def _label_is(text: str) -> str:
    return f"el && ((el.labels && [...el.labels].some((l) => l.innerText.includes({text!r}))) || (el.innerText || '').includes({text!r}))"


def _screen_opened(page: Page) -> None:
    """A new screen puts focus on its heading (where a screen reader starts): wait for it."""
    try:
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.tagName === 'H1'"
        )
    except PlaywrightError as error:
        focused = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 200)")
        heading = page.evaluate("() => document.querySelector('h1')?.outerHTML")
        raise AssertionError(f"focus is on {focused}, not the heading {heading}") from error


def test_a_referral_can_be_filed_with_the_keyboard_alone(app_stack: AppStack, page: Page) -> None:
    family = tablet.family_name()
    page.goto(app_stack.app_url)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    _screen_opened(page)  # the screen's heading took focus: Tab starts from there
    # a button, not the heading "Sign in" (focusable by script, and its text matches too)
    _tab_to(page, "el.tagName === 'BUTTON' && " + _label_is("Sign in"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{app_stack.stack['identity']['issuer']}/authorize?**")
    _tab_to(page, "el.tagName === 'BUTTON' && " + _label_is("Dana Reyes"))  # the provider's page
    page.keyboard.press("Enter")
    page.wait_for_url(f"{app_stack.app_url}**")
    # the PIN screen puts focus in the PIN field itself (the numeric keypad opens at once)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'pin'")
    page.keyboard.type(tablet.PIN)
    _tab_to(page, "el.id === 'pin-repeat'")
    page.keyboard.type(tablet.PIN)
    page.keyboard.press("Enter")
    expect(page.locator("#search-text")).to_be_visible()
    _screen_opened(page)
    _tab_to(page, "el.id === 'search-text'")
    page.keyboard.type("food bank")
    page.keyboard.press("Enter")
    expect(tablet.card(page, RIVERTON_FOOD_BANK)).to_be_visible()
    add = "el.tagName === 'BUTTON' && el.closest('li.card') && el.closest('li.card').innerText.includes('Weekly groceries')"
    _tab_to(page, add)
    page.keyboard.press("Enter")
    # back up to "Start the referral", just above the results
    _tab_to(page, "el.tagName === 'A' && el.getAttribute('href') === '#/refer'", backwards=True)
    page.keyboard.press("Enter")
    expect(page.locator("form.refer")).to_be_visible()
    _screen_opened(page)
    for field, text in (("given-name", "Rosa"), ("family-name", family), ("phone", "503-555-0123")):
        _tab_to(page, f"el.id === {field!r}")
        page.keyboard.type(text)
    for group, choice in (
        ("safe-message", "false"),
        ("urgency", "routine"),
        ("given-by", "client"),
    ):
        _tab_to(page, f"el.name === {group!r}")
        for _ in range(6):  # arrow keys move within a radio group and select
            if page.evaluate(f"() => document.activeElement.value === {choice!r}"):
                break
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")
    # the need came with the program (its taxonomy), and the consent method is said aloud
    expect(page.locator("fieldset.needs").get_by_label("Food")).to_be_checked()
    expect(page.get_by_label("Said yes (verbal)")).to_be_checked()
    _tab_to(page, "el.id === 'consent-confirmed'")
    page.keyboard.press("Space")
    _tab_to(page, "el.id === 'send-referral'")
    page.keyboard.press("Enter")
    expect(tablet.server_row(page, family)).to_be_visible(timeout=20_000)
