"""What the agency inbox's browser tests share: families filed through the API by the demo
officers (as their tablets would), in the second demo agency's inbox (Harbor House: the other
browser tests file to the food bank), and a referral's clock moved in the database (to make one
overdue without waiting a day)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from bridges_devstack.samples import consent, intake_body
from tests.browser import tablet
from tests.browser.support import AppStack

STAFF = "Rosa Alvarez"  # Harbor House
FAMILY_SHELTER = "Harbor House Family Shelter"
YOUTH_SHELTER = "Safe Harbor Youth Shelter"
OFFICERS = {"badge-1234": "Dana Reyes", "badge-5678": "Sam Okafor"}
DESK = {"width": 1440, "height": 900}
LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Family:
    given: str
    family: str
    urgency: str = "routine"
    needs: tuple[str, ...] = ("housing.shelter",)
    language: str = "en"
    interpreter: bool = False
    scopes: tuple[str, ...] = ("contact", "needs")
    program: str = FAMILY_SHELTER
    officer: str = "badge-1234"
    household: list[dict[str, Any]] = field(default_factory=list)


@cache
def _program_ids(directory: str) -> dict[str, str]:
    services = httpx.get(f"{directory}/services", params={"search": "harbor"}, timeout=10)
    return {s["name"]: s["id"] for s in services.json()["contents"]}


_tokens: dict[tuple[str, str], str] = {}


def _token(stack: AppStack, officer: str) -> str:
    key = (stack.app_url, officer)
    if key not in _tokens:
        _tokens[key] = tablet.token_for(stack, officer)
    return _tokens[key]


def file(stack: AppStack, who: Family) -> dict[str, Any]:
    """File `who` through the API as their officer; the referral as the server answered."""
    program = _program_ids(stack.urls["directory"])[who.program]
    answer = httpx.post(
        f"{stack.urls['referrals']}/referrals",
        json=intake_body(
            [program],
            client={
                **tablet.JUST_A_NAME,
                "given_name": who.given,
                "family_name": who.family,
                "contact": {
                    **tablet.JUST_A_NAME["contact"],
                    "preferred_language": who.language,
                    "interpreter_needed": who.interpreter,
                },
                "household": who.household,
            },
            needs=list(who.needs),
            urgency=who.urgency,
            situation=None,
            consent=consent(*who.scopes, given_at=tablet.now().isoformat()),
            officer_contact={"name": OFFICERS[who.officer], "phone": "503-555-0100"},
        ),
        headers={
            "Authorization": f"Bearer {_token(stack, who.officer)}",
            "Idempotency-Key": f"desk-{uuid.uuid4()}",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    referral: dict[str, Any] = answer.json()["referrals"][0]
    return referral


def set_time_left(stack: AppStack, referral_id: str, interval: str) -> None:
    """Move a referral's response target to now + `interval` (e.g. '-2 hours': overdue), in a
    process of its own (a browser test's own thread runs Playwright's loop, not asyncio's)."""
    script = (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    conn = await asyncpg.connect(sys.argv[1])\n"
        "    await conn.execute('UPDATE referral SET respond_by = now() + $2::text::interval"
        " WHERE id = $1::text::uuid', sys.argv[2], sys.argv[3])\n"
        "    await conn.close()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            stack.stack["databases"]["referrals"],
            referral_id,
            interval,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# A Harbor House morning: enough families for a full desk screen, every urgency and clock.
MORNING = [
    Family("Amara", "Diallo", "emergency", ("housing.shelter", "food"), "fr", True),
    Family("Mateo", "Hernández", "high", ("housing.shelter",), "es", False, officer="badge-5678"),
    Family("Linh", "Tran", "routine", ("housing.transitional",), "vi", True),
    Family("Grace", "Okafor", "high", ("housing.shelter", "mental-health"), "en"),
    Family("Yusuf", "Rahimi", "routine", ("housing.rent",), "ar", True, officer="badge-5678"),
    Family("Sofía", "Castillo", "emergency", ("family-violence.shelter",), "es", False),
    Family("Noah", "Bennett", "routine", ("youth.shelter",), "en", program=YOUTH_SHELTER),
    Family("Irina", "Volkova", "high", ("housing.shelter",), "ru", True, scopes=("contact",)),
    Family("Wei", "Zhang", "routine", ("housing.rent", "legal.tenant"), "zh", True),
    Family("Tomás", "Reyes", "high", ("youth.shelter",), "es", program=YOUTH_SHELTER),
    Family("Hana", "Yilmaz", "routine", ("housing.shelter",), "en", officer="badge-5678"),
    Family("Kofi", "Mensah", "routine", ("food", "housing.rent"), "en"),
    Family("Lucía", "Ortega", "high", ("housing.shelter",), "es", True, officer="badge-5678"),
]


def morning(stack: AppStack) -> dict[str, dict[str, Any]]:
    """File the morning's families (once per stack); their referrals by given name, one made
    overdue and one an hour from its deadline."""
    marker = stack.run_dir / "desk-morning.json"
    if marker.exists():
        filed: dict[str, dict[str, Any]] = json.loads(marker.read_text())
        return filed
    filed = {who.given: file(stack, who) for who in MORNING}
    set_time_left(stack, filed["Grace"]["id"], "-2 hours 10 minutes")  # a high, overdue
    set_time_left(stack, filed["Sofía"]["id"], "52 minutes")
    marker.write_text(json.dumps(filed))
    return filed


SIGN_IN = {"en": "Sign in", "es": "Iniciar sesión"}
INBOX = {"en": "Inbox", "es": "Bandeja"}


def sign_in(page: Page, stack: AppStack, language: str = "en") -> None:
    """Open the app in `language` and sign in as Harbor House's staff: the inbox shows."""
    page.goto(stack.app_url)
    page.locator(".language select").select_option(language)
    page.get_by_role("button", name=SIGN_IN[language], exact=True).click()
    tablet.choose_at_provider(page, stack, STAFF)
    expect(page.get_by_role("heading", name=f"{INBOX[language]} · Harbor House")).to_be_visible()


def row(page: Page, referral: dict[str, Any]) -> Locator:
    """A referral's row in the inbox, a card or a table row."""
    return page.locator(f"[data-referral-id='{referral['id']}']")


def family_name() -> str:
    """A family name no other test uses, pronounceable enough for a label ("Zqa…")."""
    return tablet.family_name()


def withdraw_consent(
    stack: AppStack, referral: dict[str, Any], officer: str = "badge-1234"
) -> None:
    """The family withdrew its consent (recorded by its officer, through the API)."""
    answer = httpx.post(
        f"{stack.urls['referrals']}/cases/{referral['case_id']}/consent/withdrawal",
        json={},
        headers={"Authorization": f"Bearer {_token(stack, officer)}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
