"""Spanish all the way (no English catalogue text on any Spanish screen; numbers, dates and
language names as Spanish writes them; directory content marked as the English it is), a PIN
that is hard to guess (numeric keypad, trivial PINs refused, a mismatch shown where it is), and
focus that is never hidden under the sticky send bar."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

LOCALES = Path(__file__).resolve().parents[2] / "app" / "src" / "locales"

# Visible text of the screen, leaving out what is marked as another language (directory
# content, published in English, and each language's own name in the language menu).
VISIBLE_SPANISH_TEXT = """() => {
  const kept = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { kept.push(node.textContent); return; }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const lang = node.getAttribute("lang");
    if (lang && !lang.startsWith("es")) return;
    const style = getComputedStyle(node);
    if (style.display === "none" || style.visibility === "hidden") return;
    if (node.tagName === "SCRIPT" || node.tagName === "STYLE") return;
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return kept.join(" ").replace(/\\s+/g, " ");
}"""


def _english_only_phrases() -> list[str]:
    """Catalogue texts that exist only in English (their Spanish differs), as fixed phrases
    without their {placeholders}, long enough to mean something."""
    english = json.loads((LOCALES / "en.json").read_text())
    spanish = json.loads((LOCALES / "es.json").read_text())
    phrases = set()
    for key, text in english.items():
        if text == spanish.get(key):
            continue
        for part in re.split(r"\{\w+\}", text):
            part = part.strip(" .,:;·()")
            if len(part) >= 6 and part not in spanish[key]:
                phrases.add(part)
    return sorted(phrases, key=len, reverse=True)


def _no_english(page: Page, screen: str, phrases: list[str], found: dict[str, list[str]]) -> None:
    page.wait_for_load_state("networkidle")
    text = page.evaluate(VISIBLE_SPANISH_TEXT)
    english = [p for p in phrases if p in text]
    if english:
        found[screen] = english


def test_no_english_catalogue_text_on_any_spanish_screen(app_stack: AppStack, page: Page) -> None:
    phrases = _english_only_phrases()
    found: dict[str, list[str]] = {}
    family = tablet.family_name()
    page.goto(app_stack.app_url)
    page.locator(".language select").select_option("es")
    _no_english(page, "sign-in", phrases, found)
    page.get_by_role("button", name="Iniciar sesión", exact=True).click()
    tablet.choose_at_provider(page, app_stack, "Sam Okafor")
    expect(page.locator("#pin")).to_be_visible()
    _no_english(page, "pin", phrases, found)
    tablet.enter_pin(page)
    page.get_by_label("¿Qué se necesita?").fill("food bank")
    page.get_by_role("button", name="Buscar", exact=True).click()
    card = tablet.card(page, RIVERTON_FOOD_BANK)
    expect(card).to_be_visible()
    expect(card.locator("[lang=en]").first).to_be_attached()  # its content is marked English
    _no_english(page, "search", phrases, found)
    page.get_by_role("button", name="Cambiar filtros").click()
    _no_english(page, "search-filters", phrases, found)
    card.get_by_role("link", name=RIVERTON_FOOD_BANK).click()
    expect(page.locator("article.program")).to_be_visible()
    expect(page.locator("article.program")).to_contain_text("inglés, español")  # Intl's names
    page.get_by_role("button", name="Compartir con la familia").click()
    _no_english(page, "program", phrases, found)
    page.get_by_role("button", name="Añadir a la derivación").click()
    page.get_by_role("link", name="Nueva derivación").click()
    page.get_by_label("Nombre").first.fill("Lucía")
    page.get_by_label("Apellido").first.fill(family)
    page.get_by_role("group", name="Miembro del hogar 1").get_by_label("Nombre").fill("Ana")
    _no_english(page, "referral", phrases, found)
    page.get_by_role("button", name=re.compile("Quitar miembro")).click()
    page.get_by_label("Teléfono", exact=True).fill("503-555-0101")
    page.locator("fieldset", has_text="¿Se puede dejar un mensaje").get_by_label("No").check()
    page.locator("fieldset", has_text="Urgencia").get_by_label("Alta").check()
    page.get_by_label(re.compile("la propia persona")).check()
    page.get_by_label(re.compile("Leí este texto")).check()
    page.get_by_role("button", name=re.compile("Enviar derivación")).click()
    rows = page.locator("li.family", has=page.get_by_role("heading", name=re.compile(family)))
    expect(rows.locator("li.referral-row")).to_be_visible(timeout=20_000)
    _no_english(page, "mine", phrases, found)
    rows.locator("li.referral-row a").first.click()
    expect(page.locator("dl.consent-record")).to_be_visible()
    _no_english(page, "referral-page", phrases, found)
    page.get_by_role("link", name="Esta tableta").click()
    used = page.locator("#storage-panel dd").nth(1)
    expect(used).to_have_text(re.compile(r"^\d+(\.\d{3})*,\d MB de \d+(\.\d{3})*,\d MB$"))
    _no_english(page, "storage", phrases, found)
    screenshot(page, "storage-es")
    assert found == {}


def test_a_new_pin_is_hard_to_guess_and_a_mismatch_is_shown_at_the_second_field(
    app_stack: AppStack, page: Page
) -> None:
    page.goto(app_stack.app_url)
    page.get_by_role("button", name="Sign in", exact=True).click()
    tablet.choose_at_provider(page, app_stack, "Dana Reyes")  # badge-1234
    pin = page.locator("#pin")
    expect(pin).to_be_focused()  # the numeric keypad opens at once
    expect(pin).to_have_attribute("inputmode", "numeric")
    save = page.get_by_role("button", name="Save PIN")
    for weak, why in (
        ("123456", "Too easy to guess"),
        ("000000", "Too easy to guess"),
        ("121212", "Too easy to guess"),
        ("912349", "Not your badge number."),
    ):
        pin.fill(weak)
        page.locator("#pin-repeat").fill(weak)
        save.click()
        expect(page.locator("#pin-error")).to_contain_text(why)
        expect(pin).to_have_attribute("aria-invalid", "true")
    pin.fill("739251")
    page.locator("#pin-repeat").fill("739215")
    save.click()
    mismatch = page.locator("#pin-repeat-error")
    expect(mismatch).to_have_text("The two PINs differ.")
    expect(page.locator("#pin-repeat")).to_be_focused()
    expect(page.locator("#pin-repeat")).to_have_attribute(
        "aria-describedby", re.compile("pin-repeat-error")
    )
    expect(page.locator("#pin-error")).to_have_count(0)
    page.locator("#pin-repeat").fill("739251")
    save.click()
    expect(page.get_by_role("heading", name="Find a program", level=1)).to_be_visible()


def test_a_focused_control_is_never_under_the_sticky_send_bar(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.choose_program(page, "food bank", RIVERTON_FOOD_BANK)
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("First name").first.focus()
    hidden = page.evaluate(
        """async () => {
          const bar = document.querySelector(".sendbar");
          const under = [];
          for (let i = 0; i < 80; i++) {
            const el = document.activeElement;
            if (el === document.body) break;
            const box = el.getBoundingClientRect();
            const top = bar.getBoundingClientRect().top;
            if (!bar.contains(el) && box.bottom > top) under.push(el.id || el.name || el.outerHTML.slice(0, 60));
            const next = [...document.querySelectorAll("input, select, textarea, button, a[href]")]
              .filter((x) => !x.disabled && x.offsetParent && x.tabIndex >= 0);
            const at = next.indexOf(el);
            if (at < 0 || at === next.length - 1) break;
            next[at + 1].focus();
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          }
          return under;
        }"""
    )
    assert hidden == []


def test_skip_to_results_takes_focus_past_the_filters(app_stack: AppStack, page: Page) -> None:
    tablet.sign_in(page, app_stack, "Dana Reyes")
    tablet.search(page, "food")
    page.get_by_role("button", name="Search", exact=True).focus()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to results")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()  # shown while focused
    page.keyboard.press("Enter")
    expect(page.locator("#results")).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('li.card') !== null")
    assert focused  # the next stop is the first program, not a filter
