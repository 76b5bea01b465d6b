"""The agency inbox as a clerk uses it, in Chromium against the real `bridges up`: the least time
left first (the overdue on top, an emergency near its deadline before a high with a day);
urgency and a clock under 2 h marked by more than colour; a dense table at a desk and cards on a
tablet or phone; a search by reference or by a name the family agreed to share; filters; new
arrivals marked, counted in the tab's title and announced once; English and Spanish, with no
serious or critical axe finding at any size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import desk, tablet
from tests.browser.desk import Family
from tests.browser.support import AppStack, screenshot

POLL_MS = 5_000  # how often the inbox asks for news (app/src/poll.js)


def _rows(page: Page) -> list[str]:
    """The referral ids of the rows shown, top to bottom."""
    return page.locator("[data-referral-id]").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.referralId)"
    )


def test_the_overdue_then_an_emergency_near_its_deadline_come_first(
    app_stack: AppStack, page: Page
) -> None:
    family = desk.family_name()
    # filed in this order: by "newest first" the routine would lead and the emergency trail
    emergency = desk.file(app_stack, Family("Ada", family, "emergency"))
    high = desk.file(app_stack, Family("Ben", family, "high"))
    overdue = desk.file(app_stack, Family("Cy", family, "high"))
    routine = desk.file(app_stack, Family("Di", family, "routine"))
    desk.set_time_left(app_stack, overdue["id"], "-30 minutes")
    desk.set_time_left(app_stack, emergency["id"], "50 minutes")
    desk.sign_in(page, app_stack)

    expect(desk.row(page, routine)).to_be_visible()
    shown = _rows(page)
    mine = [r["id"] for r in (overdue, emergency, high, routine)]
    assert [i for i in shown if i in mine] == mine
    first = page.locator("[data-referral-id]").first.locator(".clock")
    expect(first).to_have_text(re.compile(r"Overdue"))  # whatever is overdue tops the list

    soon = desk.row(page, emergency).locator(".clock")
    calm = desk.row(page, high).locator(".clock")
    late = desk.row(page, overdue).locator(".clock")
    expect(soon).to_have_text(re.compile(r"^◔ Due soon: \d+ min left$"))
    expect(calm).to_have_text(re.compile(r"^\d+ (d|h) \d+ (h|min) left$"))
    expect(late).to_have_text(re.compile(r"^⚠ Overdue \d+ min$"))
    # not colour alone: a filled box and heavier type besides the mark and the words
    look = "(el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).fontWeight]"
    soon_bg, soon_weight = soon.evaluate(look)
    calm_bg, calm_weight = calm.evaluate(look)
    assert soon_bg != calm_bg and calm_bg == "rgba(0, 0, 0, 0)"
    assert int(soon_weight) >= 700 > int(calm_weight)
    expect(desk.row(page, emergency).locator(".urgency")).to_have_text("▲ Emergency")
    expect(desk.row(page, routine).locator(".urgency")).to_have_text("Routine")


def test_staff_find_a_referral_by_reference_or_by_a_name_the_family_shared(
    app_stack: AppStack, page: Page
) -> None:
    family = desk.family_name()
    shared = desk.file(app_stack, Family("Marisol", family, "high"))
    withdrawn = desk.file(app_stack, Family("Nadia", family, "routine"))
    desk.withdraw_consent(app_stack, withdrawn)
    desk.sign_in(page, app_stack)
    box = page.get_by_label("Find a referral by reference or name")

    box.fill(shared["reference"].removeprefix("BR-").lower())  # as read out on the phone
    box.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
    expect(page.locator("[data-referral-id]")).to_have_count(1)
    expect(desk.row(page, shared)).to_contain_text(f"Marisol {family[0]}.")
    expect(desk.row(page, shared)).to_contain_text(shared["reference"])

    box.fill(f"marisol {family.upper()}")
    box.press("Enter")
    expect(page.locator("[data-referral-id]")).to_have_count(1)
    expect(desk.row(page, shared)).to_be_visible()

    box.fill(f"Nadia {family}")  # withdrew its consent: its name finds nothing
    box.press("Enter")
    expect(page.get_by_text("No referral matches")).to_be_visible()
    expect(page.locator("[data-referral-id]")).to_have_count(0)

    box.fill(withdrawn["reference"])  # its reference still does, without its name
    box.press("Enter")
    expect(desk.row(page, withdrawn)).to_contain_text("Name not shared")
    page.get_by_role("button", name="Clear search").click()
    expect(page.get_by_role("button", name="Waiting for an answer")).to_be_visible()


def test_filters_narrow_the_list_by_urgency_and_program(
    app_stack: AppStack, browser: Browser
) -> None:
    desk.morning(app_stack)
    context = browser.new_context(viewport=desk.DESK)
    try:
        page = context.new_page()
        desk.sign_in(page, app_stack)
        rows = page.locator("tbody tr")
        expect(rows.filter(has_text="Routine").first).to_be_visible()

        def choose(label: str, value: str, asked: str) -> None:
            with page.expect_response(lambda r: "/inbox?" in r.url and asked in r.url):
                page.get_by_label(label, exact=True).select_option(value)
            expect(rows.first).to_be_visible()

        choose("Urgency", "emergency", "urgency=emergency")
        expect(rows.filter(has_not_text="▲ Emergency")).to_have_count(0)
        page.get_by_label("Urgency", exact=True).select_option("")
        programs = page.get_by_label("Program", exact=True)
        youth = programs.locator("option", has_text=desk.YOUTH_SHELTER).get_attribute("value")
        assert youth
        choose("Program", youth, f"program_id={youth}")
        expect(rows.filter(has_not_text=desk.YOUTH_SHELTER)).to_have_count(0)
        expect(rows.filter(has_text="Routine").first).to_be_visible()  # any urgency again
    finally:
        context.close()


def test_a_new_arrival_is_marked_counted_in_the_title_and_announced_once(
    app_stack: AppStack, page: Page
) -> None:
    page.clock.install()  # the inbox polls every POLL_MS: time is moved on, not waited for
    desk.sign_in(page, app_stack)
    expect(page.locator("[data-referral-id]").first).to_be_visible()
    assert page.title() == "Bridges"
    page.evaluate(
        """() => {
          window.announced = [];
          const region = document.querySelector('[role=status][aria-live=polite]');
          new MutationObserver(() => {
            if (region.textContent) window.announced.push(region.textContent);
          }).observe(region, { childList: true, characterData: true, subtree: true });
        }"""
    )
    arrived = desk.file(app_stack, Family("Eun", desk.family_name(), "emergency"))
    row = desk.row(page, arrived)
    page.clock.fast_forward(POLL_MS)
    expect(row).to_have_class(re.compile(r"\barrived\b"))
    expect(row.locator(".inbox-new")).to_have_text("New")
    expect(page).to_have_title("(1) Bridges")
    for _ in range(2):  # two more polls: still announced once
        with page.expect_response(lambda r: "/inbox?" in r.url and "status=requested" in r.url):
            page.clock.fast_forward(POLL_MS)
    announced = page.evaluate("() => window.announced")
    assert announced == [f"New referral {arrived['reference']}: Emergency"], announced

    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(arrived["reference"])
    expect(page).to_have_title("Bridges")


VIEWS = {
    "desk": desk.DESK,
    "landscape": desk.LANDSCAPE,
    "portrait": desk.PORTRAIT,
    "phone": desk.PHONE,
}
WORDS = {
    "en": {"clock": "Time left", "soon": "min left", "referral": "Referral"},
    "es": {"clock": "Tiempo restante", "soon": "quedan", "referral": "Derivación"},
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_inbox_fits_a_desk_a_tablet_and_a_phone_and_passes_axe(
    app_stack: AppStack, browser: Browser, language: str
) -> None:
    filed = desk.morning(app_stack)
    words = WORDS[language]
    # axe is injected as an inline script, which the app's Content-Security-Policy refuses
    context = browser.new_context(viewport=desk.DESK, bypass_csp=True)
    found: dict[str, list[dict[str, object]]] = {}
    suffix = "" if language == "en" else "-es"
    try:
        page = context.new_page()
        desk.sign_in(page, app_stack, language)

        # a desk: a dense table, 10 referrals and more in full view without scrolling
        table = page.locator("table.inbox-table")
        expect(table.get_by_role("columnheader", name=words["clock"])).to_be_visible()
        expect(desk.row(page, filed["Sofía"]).locator(".clock")).to_contain_text(words["soon"])
        in_view = page.evaluate(
            """() => [...document.querySelectorAll('tbody tr')]
                 .filter((tr) => tr.getBoundingClientRect().bottom <= innerHeight).length"""
        )
        assert in_view >= 10, in_view
        screenshot(page, f"agency-inbox-desk{suffix}")
        found["desk"] = tablet.serious_violations(page)

        for name in ("landscape", "portrait", "phone"):
            size = VIEWS[name]
            page.set_viewport_size(size)
            expect(page.locator("li.inbox-card").first).to_be_visible()
            expect(table).to_have_count(0)
            first = page.locator("li.inbox-card").first.bounding_box()
            assert first is not None and first["y"] < size["height"], (name, first)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= size["width"], (name, width)
            screenshot(page, f"agency-inbox-{name}{suffix}")
            found[name] = tablet.serious_violations(page)

        page.set_viewport_size(desk.LANDSCAPE)
        desk.row(page, filed["Amara"]).get_by_role("link").click()
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text(f"{words['referral']} {filed['Amara']['reference']}")
        expect(page.locator("section.shared")).to_contain_text("Amara Diallo")
        screenshot(page, f"agency-referral-page{suffix}", full_page=True)
        found["referral"] = tablet.serious_violations(page)
    finally:
        context.close()
    assert {view: v for view, v in found.items() if v} == {}
