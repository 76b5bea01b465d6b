"""What the admins' and ops' browser tests share: signing in as Alex Admin or Olu Ops, a real
webhook receiver (bridges_devstack.receiver) served from a thread of its own (Playwright's sync
API holds this thread's event loop), programs and endpoints of a fresh agency made through the
API (so no other test's inbox or deliveries are touched), a referral filed to one, and each
screen checked at its size: it fits, its controls are large enough, axe finds nothing serious,
and with BRIDGES_SCREENSHOTS=1 it is saved for the docs."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect

from bridges_devstack.receiver import WebhookReceiver
from tests.browser import tablet
from tests.browser.support import AppStack, check_fits, screenshot
from tests.scenario import intake

DESK: ViewportSize = {"width": 1440, "height": 900}
LANDSCAPE: ViewportSize = {"width": 1024, "height": 768}
PORTRAIT: ViewportSize = {"width": 768, "height": 1024}
PHONE: ViewportSize = {"width": 390, "height": 844}
STARTS = {"Alex Admin": "Programs", "Olu Ops": "The referral flow"}


@contextmanager
def operator_page(browser: Browser, size: ViewportSize = DESK) -> Iterator[Page]:
    """A page of a fresh context at `size` (axe is injected into it: CSP bypassed)."""
    context = browser.new_context(viewport=size, bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, stack: AppStack, who: str) -> None:
    page.goto(stack.app_url)
    page.get_by_role("button", name="Sign in", exact=True).click()
    tablet.choose_at_provider(page, stack, who)
    expect(page.get_by_role("heading", name=STARTS[who], level=1)).to_be_visible()


def choose_language(page: Page, language: str) -> None:
    menu = page.locator(".menu-toggle")
    if menu.is_visible() and menu.get_attribute("aria-expanded") == "false":
        menu.click()  # a phone: the language sits behind the menu
    page.locator(".language select").select_option(language)


def looked_at(
    page: Page, name: str, size: ViewportSize, language: str, *, full_page: bool = False
) -> None:
    """The screen fits `size`, its controls are tappable, axe finds nothing serious, no
    catalogue key or browser error shows; saved as docs/screenshots/<name>-<w>x<h>-<lang>.png."""
    page.wait_for_load_state("networkidle")
    screenshot(page, f"{name}-{size['width']}x{size['height']}-{language}", full_page=full_page)
    check_fits(page, name, size["width"])
    violations = tablet.serious_violations(page)
    assert violations == [], (
        f"{name} at {size['width']}x{size['height']} ({language}): {violations}"
    )


LOADING = re.compile(r"^(Loading|Cargando)…$")


def every_size_and_language(
    page: Page, stack: AppStack, screens: Sequence[tuple[str, str]]
) -> None:
    """Each screen (its screenshot's name, its route) opened at a desk, on a tablet both ways
    and on a phone, in English and Spanish, once loaded (its heading shown, nothing left
    loading), and looked at."""
    for language in ("en", "es"):
        for size in (DESK, LANDSCAPE, PORTRAIT, PHONE):
            page.set_viewport_size(size)
            choose_language(page, language)
            for name, route in screens:
                page.goto(f"{stack.app_url}#/{route}")
                expect(page.locator("h1").first).to_be_visible()
                expect(page.get_by_text(LOADING)).to_have_count(0)
                looked_at(page, name, size, language)
    choose_language(page, "en")


def until(probe: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """Poll `probe` until it returns something truthy (returned), or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {probe}")


@contextmanager
def receiving() -> Iterator[WebhookReceiver]:
    """A webhook receiver on a free port, running in its own thread and event loop."""
    started = threading.Event()
    loop = asyncio.new_event_loop()
    receiver = WebhookReceiver()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(receiver.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="webhook-receiver", daemon=True)
    thread.start()
    assert started.wait(10), "the webhook receiver did not start"
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class Api:
    """The stack's APIs with its development tokens, for what a test sets up or checks."""

    def __init__(self, stack: AppStack) -> None:
        self.stack = stack

    def call(self, service: str, method: str, path: str, role: str = "admin", **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.stack.tokens[role]}", **kw.pop("headers", {})}
        answer = httpx.request(
            method, f"{self.stack.urls[service]}{path}", headers=headers, timeout=15, **kw
        )
        return answer

    def program(self, agency_id: str, name: str, *, placed: bool = False) -> dict[str, Any]:
        """A program of `agency_id`; `placed` at a location far from the demo county (the
        officers' searches near a place never meet these)."""
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "description": "A test program of a fresh agency.",
            "status": "active",
            "organization": {"id": str(uuid.uuid4()), "name": f"{name} Org"},
            "x_bridges": {"agency_id": agency_id},
        }
        if placed:
            location = {
                "id": str(uuid.uuid4()),
                "name": f"{name} Hall",
                "latitude": 10.0,
                "longitude": 10.0,
            }
            body["service_at_locations"] = [{"id": str(uuid.uuid4()), "location": location}]
        answer = self.call("directory", "POST", "/services", json=body)
        assert answer.status_code == 201, answer.text
        return body

    def endpoint(self, agency_id: str, url: str) -> dict[str, Any]:
        answer = self.call(
            "notifications", "POST", f"/agencies/{agency_id}/endpoints", json={"url": url}
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def refer(self, program_id: str, family_name: str) -> dict[str, Any]:
        """A referral filed by the demo officer, once the referrals service knows the program."""
        client = {
            "given_name": "Ada",
            "family_name": family_name,
            "contact": {"phone": "503-555-0199", "safe_to_leave_message": False},
        }
        body = intake([program_id], client=client, needs=["food.pantry"])

        def filed() -> Any:
            answer = self.call(
                "referrals",
                "POST",
                "/referrals",
                role="officer",
                json=body,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            return answer.json()["referrals"][0] if answer.status_code == 201 else None

        referral: dict[str, Any] = until(filed)  # the read-model hears of the program first
        return referral
