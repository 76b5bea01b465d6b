"""The family's voice, end to end on the real `bridges up` (follow-ups due 3 s after filing, see
conftest): a referral with email contact in Spanish → its follow-up email in Spanish lands in the
mail sink with a link → the link opens the family's page in Chromium on a phone → "Sí, recibí
ayuda" → the officer's view (the API) shows it; the same link again is refused politely; a
text-message follow-up lands in the SMS sink; a referral with a family-violence need sends
nothing. The page passes axe in English and Spanish, its quick exit leaves no way back, and
its screenshots (390x844) are in docs/screenshots/."""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bridges_devstack.samples import consent, intake_body
from tests.browser import tablet
from tests.browser.support import AppStack, screenshot
from tests.browser.tablet import RIVERTON_FOOD_BANK

PHONE = {"width": 390, "height": 844}
EXIT = "https://www.google.com/"  # the page's quick exit (BRIDGES_FOLLOWUP_EXIT_URL's default)
ANY_TIME = {"from": "00:00", "to": "00:00"}


def _program_id(stack: AppStack) -> str:
    services = httpx.get(
        f"{stack.urls['directory']}/services", params={"search": RIVERTON_FOOD_BANK}, timeout=10
    ).json()["contents"]
    return str(next(s["id"] for s in services if s["name"] == RIVERTON_FOOD_BANK))


def _file(stack: AppStack, contact: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A referral filed by the officer's tablet, through the API (the officer's screens are the
    app's own tests)."""
    answer = httpx.post(
        f"{stack.urls['referrals']}/referrals",
        json=intake_body(
            [_program_id(stack)],
            client={
                **tablet.JUST_A_NAME,
                "given_name": "Ines",
                "family_name": tablet.family_name(),
                "contact": {"phone": None, **contact},  # exactly these ways to reach them
            },
            **{
                "needs": ["food"],
                "urgency": "routine",
                "situation": None,
                "consent": consent(
                    "contact", "needs", "situation", given_at=tablet.now().isoformat()
                ),
                **more,
            },
        ),
        headers={
            "Authorization": f"Bearer {stack.tokens['officer']}",
            "Idempotency-Key": f"family-{uuid.uuid4()}",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _referral(stack: AppStack, referral_id: str) -> dict[str, Any]:
    view = httpx.get(
        f"{stack.urls['referrals']}/referrals/{referral_id}",
        headers={"Authorization": f"Bearer {stack.tokens['officer']}"},
        timeout=10,
    )
    assert view.status_code == 200, view.text
    found: dict[str, Any] = view.json()
    return found


def _mail_to(stack: AppStack, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted((stack.run_dir / "mail").glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        if mail["To"] == address:
            found.append(mail)
    return found  # type: ignore[return-value]


def _texts_to(stack: AppStack, phone: str) -> list[str]:
    folder = stack.run_dir / "sms"
    texts = [p.read_text() for p in sorted(folder.glob("*.txt"))] if folder.exists() else []
    return [t for t in texts if t.startswith(f"To: {phone}\n")]


def _link(text: str) -> str:
    found = re.search(r"http://127\.0\.0\.1:\d+/family/[A-Za-z0-9_-]{24}", text)
    assert found is not None, text
    return found.group(0)


def _phone(browser: Browser) -> BrowserContext:
    """A phone's browser; axe is injected inline, which the page's policy refuses, so it is
    bypassed here (the policy itself is checked at the service: no inline script runs)."""
    context = browser.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, bypass_csp=True, locale="es-ES"
    )
    context.route(EXIT + "**", lambda route: route.fulfill(body="<p>Weather</p>"))
    return context


def _no_serious_violations(page: Page) -> None:
    assert tablet.serious_violations(page) == []


def test_a_spanish_email_follow_up_is_answered_on_the_familys_page_once(
    app_stack: AppStack, browser: Browser
) -> None:
    email = f"{tablet.family_name().lower()}@example.org"
    filed = _file(
        app_stack,
        {
            "email": email,
            "preferred_channel": "email",
            "preferred_language": "es",
            "safe_to_leave_message": True,
        },
        follow_up={"channel": "email", "safe_hours": ANY_TIME},
    )
    referral_id = filed["referrals"][0]["id"]
    [mail] = tablet.eventually(lambda: _mail_to(app_stack, email), timeout_s=30)
    assert mail["Subject"] == "Sobre la ayuda que pidió" and mail["Content-Language"] == "es"
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("Hola:") and "Ines" not in body and "Riverton" not in body
    link = _link(body)
    assert referral_id not in link and filed["case_id"] not in link

    context = _phone(browser)
    try:
        english = context.new_page()
        english.goto(f"{link}?lang=en")
        expect(english.locator("html")).to_have_attribute("lang", "en")
        expect(english.get_by_role("heading", name="Did you get help?")).to_be_visible()
        _no_serious_violations(english)
        screenshot(english, "family-page-en")
        _quick_exit_leaves_no_way_back(english)

        page = context.new_page()
        page.goto(link)
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", name="¿Recibió ayuda?")).to_be_visible()
        assert "Ines" not in page.content() and "Riverton" not in page.content()
        _no_serious_violations(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "family-page-es")
        entries = page.evaluate("() => history.length")
        page.get_by_role("button", name="Enviar mi respuesta").click()  # nothing chosen yet
        expect(page.get_by_role("alert")).to_have_text("Elija una respuesta.")
        page.get_by_label("Sí, recibí ayuda").check()
        page.get_by_label("¿Algo más que decirnos? (opcional)").fill("Me atendieron muy bien")
        page.get_by_role("button", name="Enviar mi respuesta").click()
        expect(page.get_by_text("Gracias. Recibimos su respuesta.")).to_be_visible()
        assert page.evaluate("() => history.length") == entries  # answered in place: no new page
        _no_serious_violations(page)
        screenshot(page, "family-page-thanks-es")

        view = _referral(app_stack, referral_id)
        assert view["family_feedback"]["answer"] == "got-help"
        assert view["family_feedback"]["via"] == "link"
        assert view["family_feedback"]["comment"] == "Me atendieron muy bien"

        again = context.new_page()
        again.goto(link)
        expect(again.get_by_text("Esta pregunta ya fue respondida. Gracias.")).to_be_visible()
        assert again.get_by_role("radio").count() == 0
    finally:
        context.close()


def _quick_exit_leaves_no_way_back(page: Page) -> None:
    page.get_by_role("link", name="Leave this page").click()
    page.wait_for_url(EXIT)
    page.go_back()  # to what came before the family's page: it left no entry of its own
    assert "/family/" not in page.url


def test_a_text_follow_up_lands_in_the_sms_sink_and_a_family_violence_referral_sends_nothing(
    app_stack: AppStack,
) -> None:
    violence_phone = f"+1 503 555 {uuid.uuid4().int % 10000:04d}"
    violence_email = f"{tablet.family_name().lower()}@example.org"
    silent = _file(
        app_stack,
        {
            "phone": violence_phone,
            "email": violence_email,
            "preferred_channel": "sms",
            "safe_to_leave_message": True,
        },
        needs=["family-violence.shelter"],
    )
    texted_phone = f"+1 971 555 {uuid.uuid4().int % 10000:04d}"
    _file(  # filed after: once its text is here, the other's would have been too
        app_stack,
        {"phone": texted_phone, "preferred_channel": "sms", "safe_to_leave_message": True},
        follow_up={"channel": "text", "safe_hours": ANY_TIME},
    )
    [text] = tablet.eventually(lambda: _texts_to(app_stack, texted_phone), timeout_s=30)
    assert "Did you get the help you asked for?" in text and "/family/" in text
    assert _texts_to(app_stack, violence_phone) == []
    assert _mail_to(app_stack, violence_email) == []
    view = _referral(app_stack, silent["referrals"][0]["id"])
    assert view["follow_up"]["channel"] == "none" and view["follow_up"]["status"] == "off"
    assert not view["ask_family"]


def test_an_unknown_link_says_so_politely(app_stack: AppStack, browser: Browser) -> None:
    context = _phone(browser)
    try:
        page = context.new_page()
        page.goto(f"{app_stack.urls['referrals']}/family/{'Z' * 24}")
        expect(page.get_by_text("Este enlace ya no funciona.")).to_be_visible()
        _no_serious_violations(page)
    finally:
        context.close()
