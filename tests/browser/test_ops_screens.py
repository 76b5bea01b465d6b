"""Ops at a desk, in Chromium against the real `bridges up`: an agency's receiver refuses a
referral's webhook for good (410), so its delivery dies; the flow shows it, past the alert's
threshold and named by its Prometheus metric; ops inspect it (no family data on the screen),
the agency fixes its receiver, ops send it again and the webhook arrives with its first id; the
action is recorded with Olu Ops' name. Every ops screen in English and Spanish, at a desk and on
a tablet (the flow on a phone too), axe-clean."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser import tablet
from tests.browser.operators import (
    DESK,
    LANDSCAPE,
    PHONE,
    Api,
    every_size_and_language,
    looked_at,
    operator_page,
    receiving,
    sign_in,
    until,
)
from tests.browser.support import AppStack


def test_ops_replay_a_dead_letter_and_the_webhook_arrives(
    app_stack: AppStack, browser: Browser
) -> None:
    with operator_page(browser) as page:
        _replay(app_stack, page)


def _replay(app_stack: AppStack, page: Page) -> None:
    api = Api(app_stack)
    agency = str(uuid.uuid4())
    family = tablet.family_name()
    with receiving() as receiver:
        receiver.answer(410)  # the agency's endpoint is gone: not retried, dead at once
        program = api.program(agency, f"Orvell Gone Receiver {uuid.uuid4().hex[:6]}")
        endpoint = api.endpoint(agency, receiver.url)
        referral = api.refer(program["id"], family)

        def dead() -> list:
            found = api.call(
                "notifications",
                "GET",
                "/deliveries",
                role="ops",
                params={"status": "dead", "endpoint_id": endpoint["id"]},
            )
            return found.json()

        [delivery] = until(dead)
        assert len(receiver.requests) == 1
        page.set_viewport_size(DESK)
        sign_in(page, app_stack, "Olu Ops")

        figure = page.locator("[data-figure=deliveries_dead]")
        expect(figure.locator(".figure-value")).not_to_have_text("0")
        expect(figure).to_contain_text("Needs attention: above 0")
        expect(figure).to_contain_text('bridges_deliveries_waiting{status="dead"}')
        expect(page.locator("[data-figure=deliveries_last_hour]")).to_contain_text(
            "BridgesDeliveriesDead"
        )
        looked_at(page, "ops-flow-dead", DESK, "en")

        figure.get_by_role("link", name="See what failed").click()
        expect(
            page.get_by_role("heading", name="Dead letters and failed deliveries", level=1)
        ).to_be_visible()
        row = page.locator(f"tr[data-delivery-id='{delivery['id']}']")
        expect(row).to_contain_text("410")
        looked_at(page, "ops-failures-dead", DESK, "en")
        page.set_viewport_size(LANDSCAPE)
        page.locator(".language select").select_option("es")
        expect(row).to_contain_text("410")
        looked_at(page, "ops-failures-dead", LANDSCAPE, "es")
        page.locator(".language select").select_option("en")
        page.set_viewport_size(DESK)
        row.get_by_role("link").click()
        expect(page.locator(".ops-inspect table")).to_contain_text("410")
        expect(page.locator(".ops-inspect")).to_contain_text(referral["id"])
        body = page.locator("body").inner_text()
        assert family not in body and "503-555-0199" not in body  # ops never see family data
        looked_at(page, "ops-delivery-dead", DESK, "en")

        # the agency fixed its receiver (it answers 200 now): send it again
        page.get_by_role("button", name="Send again").click()
        expect(page.locator(".notice", has_text="Sent again.")).to_be_visible()
        until(lambda: len(receiver.requests) == 2)
        assert receiver.ids()[0] == receiver.ids()[1] == delivery["event_id"]
        page.get_by_role("button", name="Refresh now").click()
        expect(page.locator(".ops-inspect .badge").first).to_have_text("Delivered", timeout=20_000)

        page.get_by_role("link", name="Actions taken").click()
        action = page.locator("tr", has_text=delivery["id"])
        expect(action).to_contain_text("Delivery sent again")
        expect(action).to_contain_text("Olu Ops")
        looked_at(page, "ops-actions-replayed", DESK, "en")

        page.get_by_role("link", name="Endpoints").click()
        row = page.locator(f"tr[data-endpoint-id='{endpoint['id']}']")
        row.get_by_role("button", name="Pause").click()
        expect(row.get_by_role("button", name="Resume")).to_be_visible()
        looked_at(page, "ops-endpoints-paused", DESK, "en")
        row.get_by_role("button", name="Resume").click()
        expect(row.get_by_role("button", name="Pause")).to_be_visible()

    page.locator(".language select").select_option("es")
    page.get_by_role("link", name="El flujo").click()
    expect(page.get_by_role("heading", name="El flujo de derivaciones", level=1)).to_be_visible()
    expect(page.locator("[data-figure=deliveries_dead]")).to_contain_text("Entregas abandonadas")
    page.set_viewport_size(LANDSCAPE)
    page.get_by_role("link", name="Fallidos").click()
    expect(
        page.get_by_role("heading", name=re.compile("Mensajes fallidos"), level=1)
    ).to_be_visible()
    page.get_by_role("link", name="El flujo").click()
    page.set_viewport_size(PHONE)
    looked_at(page, "ops-flow", PHONE, "es")
    page.locator(".menu-toggle").click()
    page.locator(".language select").select_option("en")
    every_size_and_language(
        page,
        app_stack,
        [
            ("ops-flow", "flow"),
            ("ops-failures", "failures"),
            ("ops-delivery", f"failures/{delivery['id']}"),
            ("ops-endpoints", "endpoints"),
            ("ops-actions", "actions"),
        ],
    )
