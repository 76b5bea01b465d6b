"""What an officer and agency staff do in the app, as steps the browser tests share (the
screens' words, not CSS internals, wherever a person would go by the words)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from playwright.sync_api import BrowserContext, Locator, Page, expect

from bridges_devstack.running import SERVICE_WORKER_IN_CONTROL
from bridges_devstack.samples import consent, intake_body
from tests.browser.support import AppStack

PIN = "246810"
AXE = Path(__file__).resolve().parents[2] / "app" / "node_modules" / "axe-core" / "axe.min.js"
RIVERTON_FOOD_BANK = "Riverton Community Food Bank"

# A family with a name and a phone only (the sample family's birth date and household left out)
JUST_A_NAME = {
    "date_of_birth": None,
    "household": [],
    "contact": {"phone": "503-555-0142", "safe_to_leave_message": False},
}


def family_name() -> str:
    """A surname no other test uses (and easy to look for in storage, logs and pages)."""
    return f"Zq{uuid.uuid4().hex[:10]}"


def sign_in(page: Page, stack: AppStack, who: str, *, pin: str = PIN) -> None:
    """Open the app, sign in at the development OpenID provider as the demo user named `who`;
    officers then choose (or enter) their PIN."""
    page.goto(stack.app_url)
    page.get_by_role("button", name="Sign in", exact=True).click()
    choose_at_provider(page, stack, who)
    user = next(u for u in stack.demo_users if u["name"] == who)
    if user["role"] == "officer":
        enter_pin(page, pin)
        expect(page.get_by_role("heading", name="Find a program", level=1)).to_be_visible()
    else:
        expect(page.get_by_role("heading", name="Inbox", exact=False)).to_be_visible()


def choose_at_provider(page: Page, stack: AppStack, who: str) -> None:
    """On the development provider's page, sign in as `who`: back in the app once it returns."""
    page.wait_for_url(f"{stack.stack['identity']['issuer']}/authorize?**")
    expect(page.get_by_role("heading", name="Bridges development sign-in")).to_be_visible()
    page.get_by_role("button", name=who).click()
    page.wait_for_url(f"{stack.app_url}**")


def enter_pin(page: Page, pin: str = PIN) -> None:
    page.fill("#pin", pin)
    if page.locator("#pin-repeat").count():
        page.fill("#pin-repeat", pin)
    page.locator("form.pin-form button[type=submit]").click()


def card(page: Page, program: str) -> Locator:
    return page.locator("li.card", has=page.get_by_role("link", name=program, exact=True))


def search(page: Page, words: str) -> None:
    """Search for `words`; returns once their results are drawn (not an earlier search's),
    online or offline (then from what the tablet saved)."""
    page.get_by_label("What is needed?").fill(words)
    with page.expect_request(lambda r: "/services?" in r.url and "search=" in r.url):
        page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results")).to_have_attribute("aria-busy", "false")


def search_without_waiting(page: Page, words: str) -> None:
    """Search when no answer may come (the connection is down)."""
    page.get_by_label("What is needed?").fill(words)
    page.get_by_role("button", name="Search", exact=True).click()


def open_filters(page: Page) -> None:
    """On a tablet held upright the filters fold into one line once a search ran: open them."""
    panel = page.locator("#filter-panel")
    expect(panel).to_be_attached()
    if not panel.is_visible():
        page.get_by_role("button", name="Change filters").click()
        expect(panel).to_be_visible()


def choose_program(page: Page, words: str, program: str) -> None:
    page.get_by_role("link", name="Find a program").click()
    search(page, words)
    card(page, program).get_by_role("button", name="Add to referral").click()
    expect(card(page, program).get_by_role("button", name="Added ✓")).to_be_visible()


def fill_family(page: Page, given: str, family: str, *, phone: str = "503-555-0101") -> None:
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("First name").first.fill(given)
    page.get_by_label("Last name").fill(family)
    page.get_by_label("Phone", exact=True).fill(phone)
    page.locator("fieldset", has_text="Safe to leave a message?").get_by_label("No").check()
    page.locator("fieldset.needs").get_by_label("Food").check()
    page.locator("fieldset", has_text="Urgency").get_by_label("High").check()
    page.get_by_role("textbox", name="Situation").fill(f"Situation of the {family} family")


def give_consent(page: Page) -> None:
    page.locator("fieldset", has_text="Who consented").get_by_label(
        re.compile("themselves")
    ).check()
    page.locator("fieldset", has_text="How").get_by_label("Said yes (verbal)").check()
    page.get_by_label("I read this text to the family").check()


def send(page: Page) -> None:
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", name="My referrals", level=1)).to_be_visible()


def file_referral(page: Page, family: str, *, words: str = "food bank") -> None:
    choose_program(page, words, RIVERTON_FOOD_BANK)
    fill_family(page, "Maria", family)
    give_consent(page)
    send(page)


def server_row(page: Page, family: str) -> Locator:
    """The family's referral(s) in the officer's list of what the server confirmed (grouped
    by family: the family's name heads its group)."""
    section = page.locator("section", has=page.get_by_role("heading", name="Sent referrals"))
    group = section.locator("li.family", has=page.get_by_role("heading", name=family))
    return group.locator("li.referral-row")


def tablet_row(page: Page, family: str) -> Locator:
    section = page.locator("section", has=page.get_by_role("heading", name="On this tablet"))
    return section.locator("li.card", has_text=family)


def wait_for_service_worker(page: Page) -> None:
    """The shell is precached and the page controlled: it can reload with no network."""
    page.wait_for_function(SERVICE_WORKER_IN_CONTROL, timeout=30_000)


def storage_dump(page: Page) -> str:
    """Everything the app keeps in the browser (IndexedDB, localStorage, Cache Storage URLs and
    bodies), as text; binary values (ciphertext) as hex."""
    return str(
        page.evaluate(
            """async () => {
              const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
              const plain = (v) => JSON.stringify(v, (k, x) =>
                x instanceof ArrayBuffer ? hex(x) : ArrayBuffer.isView(x) ? hex(x.buffer) : x);
              const out = [];
              for (const info of await indexedDB.databases()) {
                const db = await new Promise((ok, ko) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = ko; });
                for (const store of db.objectStoreNames) {
                  const rows = await new Promise((ok, ko) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = ko; });
                  out.push(`${info.name}/${store}: ${plain(rows)}`);
                }
                db.close();
              }
              for (let i = 0; i < localStorage.length; i++) out.push(`localStorage ${localStorage.key(i)}=${localStorage.getItem(localStorage.key(i))}`);
              for (let i = 0; i < sessionStorage.length; i++) out.push(`sessionStorage ${sessionStorage.key(i)}=${sessionStorage.getItem(sessionStorage.key(i))}`);
              for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) {
                  out.push(`cache ${name} ${request.url} ${await (await cache.match(request)).text()}`);
                }
              }
              out.push(`url ${location.href}`);
              return out.join("\\n");
            }"""
        )
    )


def outbox(page: Page) -> list[tuple[str, int]]:
    """(state, send attempts) of each referral on this tablet, oldest first."""
    return [
        (state, attempts)
        for state, attempts in page.evaluate(
            """async () => {
              const db = await new Promise((ok, ko) => { const r = indexedDB.open("bridges"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
              const rows = await new Promise((ok) => { const r = db.transaction("outbox").objectStore("outbox").getAll(); r.onsuccess = () => ok(r.result); });
              db.close();
              rows.sort((a, b) => a.created_at.localeCompare(b.created_at));
              return rows.map((row) => [row.state, row.attempts]);
            }"""
        )
    ]


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on what the page shows now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


# -- the API, as the tests check what the server holds ------------------------------------


def token_for(stack: AppStack, user_id: str) -> str:
    """An access token of `user_id`, through the provider as the app gets one (code + PKCE)."""
    issuer, client_id = stack.stack["identity"]["issuer"], stack.stack["identity"]["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    request = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": stack.app_url,
        "scope": "openid offline_access",
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    chosen = httpx.post(f"{issuer}/authorize", params=request, data={"user": user_id}, timeout=10)
    assert chosen.status_code == 302, chosen.text
    code = parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]
    answer = httpx.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": stack.app_url,
            "client_id": client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def file_referral_by_api_as(stack: AppStack, officer_id: str, family: str) -> str:
    """A referral filed through the API by `officer_id` (as their other tablet would)."""
    return file_by_api(stack, family, token=token_for(stack, officer_id))


def file_by_api(
    stack: AppStack, family: str, program: str = RIVERTON_FOOD_BANK, *, token: str | None = None
) -> str:
    """A referral filed through the API (as another officer's tablet would): its id."""
    services = httpx.get(
        f"{stack.urls['directory']}/services", params={"search": program}, timeout=10
    ).json()["contents"]
    program_id = next(s["id"] for s in services if s["name"] == program)
    answer = httpx.post(
        f"{stack.urls['referrals']}/referrals",
        json=intake_body(
            [program_id],
            client={**JUST_A_NAME, "given_name": "Ines", "family_name": family},
            needs=["food"],
            urgency="routine",
            situation=None,
            consent=consent(given_at=now().isoformat()),
        ),
        headers={
            "Authorization": f"Bearer {token or stack.tokens['officer']}",
            "Idempotency-Key": f"test-{uuid.uuid4()}",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["referrals"][0]["id"])


def referrals_filed_since(stack: AppStack, token: str, since: datetime) -> list[dict[str, Any]]:
    """The officer's referrals the server holds, filed at or after `since`."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"mine": "true", "sort": "newest", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            f"{stack.urls['referrals']}/referrals",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        fresh = [r for r in page["items"] if datetime.fromisoformat(r["created_at"]) >= since]
        found += fresh
        cursor = page["next_cursor"]
        if not cursor or len(fresh) < len(page["items"]):
            return found


def program_accepts(stack: AppStack, name: str) -> bool:
    """What the referrals service believes (its read model of the directory)."""

    async def read() -> bool:
        conn = await asyncpg.connect(stack.stack["databases"]["referrals"])
        try:
            return bool(
                await conn.fetchval("SELECT accepting_referrals FROM program WHERE name = $1", name)
            )
        finally:
            await conn.close()

    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, read()).result()


def service_named(stack: AppStack, name: str) -> dict[str, Any]:
    """A demo program as the directory serves it, found by its name."""
    found = httpx.get(f"{stack.urls['directory']}/services", params={"search": name}, timeout=10)
    return next(s for s in found.json()["contents"] if s["name"] == name)


def set_intake(stack: AppStack, name: str, intake: dict[str, Any]) -> None:
    """Change a program's intake as an admin (`PATCH .../capacity`), and wait until the
    referrals service knows whether it accepts referrals."""
    answer = httpx.patch(
        f"{stack.urls['directory']}/services/{service_named(stack, name)['id']}/capacity",
        json=intake,
        headers={"Authorization": f"Bearer {stack.tokens['admin']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    accepting = answer.json()["x_bridges"]["accepting_referrals"]
    eventually(lambda: program_accepts(stack, name) is accepting)


def now() -> datetime:
    return datetime.now(UTC)


TRACKING_POLL_MS = 15_000  # how often the officer's list asks for news (app/src/tracking.js)


def move_clock_until(
    page: Page, expectation: Any, *, step_ms: int = TRACKING_POLL_MS, timeout_s: float = 40.0
) -> None:
    """Move the page's clock (`page.clock.install()` first) on by `step_ms` at a time until
    `expectation` (an `expect(...)` with a short timeout) holds: the app's timers fire at once,
    while what the servers do takes its real time."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.clock.fast_forward(step_ms)
        try:
            expectation()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def eventually(probe: Any, *, timeout_s: float = 20.0, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last value: {last!r})")


def new_tablet(context: BrowserContext) -> Page:
    return context.new_page()
