"""Signing in through the development OpenID provider as the app does in production: the
authorization-code flow with PKCE, an access token renewed before it expires (the browser
stack's tokens live 100 s), the refresh token rotated, and revoked at sign-out."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from playwright.sync_api import Page, Request, expect

from tests.browser import tablet
from tests.browser.support import AppStack


def _token_grants(page: Page) -> list[dict[str, Any]]:
    """Each answer of the provider's token endpoint the page received, with the grant asked."""
    seen: list[dict[str, Any]] = []

    def answered(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/token"):
            response = request.response()
            if response is not None and response.ok:
                grant = dict(p.split("=", 1) for p in (request.post_data or "").split("&"))
                seen.append({"grant": grant["grant_type"], **response.json()})

    page.on("requestfinished", answered)
    return seen


def test_the_officer_signs_in_at_the_provider_and_the_token_is_renewed_and_revoked(
    app_stack: AppStack, page: Page
) -> None:
    grants = _token_grants(page)
    tablet.sign_in(page, app_stack, "Dana Reyes")
    assert page.url.startswith(app_stack.app_url) and "code=" not in page.url  # address cleaned
    assert [g["grant"] for g in grants] == ["authorization_code"]
    first = grants[0]
    assert first["refresh_token"] and first["expires_in"] <= 100

    # renewed ahead of expiry, without a page: the refresh token grant, a new token each time
    deadline = time.monotonic() + 30
    while len(grants) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)  # Playwright delivers the page's events while it waits
    assert len(grants) >= 2, f"no renewal within 30 s: {[g['grant'] for g in grants]}"
    renewed = grants[1]
    assert renewed["grant"] == "refresh_token"
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]
    issuer = app_stack.stack["identity"]["issuer"]
    client_id = app_stack.stack["identity"]["client_id"]

    def refresh(token: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
        return httpx.post(f"{issuer}/token", data=form, timeout=10)

    assert refresh(first["refresh_token"]).status_code == 400  # rotated: good once

    # the app keeps working with the renewed token: the officer's list comes from the server
    page.get_by_role("link", name="My referrals").click()
    expect(page.locator("#on-server")).to_be_visible()
    me = httpx.get(
        f"{app_stack.urls['referrals']}/me",
        headers={"Authorization": f"Bearer {grants[-1]['access_token']}"},
        timeout=10,
    ).json()
    assert (me["id"], me["role"], me["name"]) == ("badge-1234", "officer", "Dana Reyes")

    with page.expect_request(lambda r: r.url.endswith("/revoke")) as revoked:
        page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    revoked.value.response()  # the provider answered
    latest = grants[-1]["refresh_token"]
    refused = refresh(latest)
    assert refused.status_code == 400, refused.text
    assert json.loads(refused.text)["error"] == "invalid_grant"

    # nothing renews the ended session: a renewal was due every 10 s while signed in
    granted = len(grants)
    page.wait_for_timeout(12_000)  # an absence can only be shown over time (bounded)
    assert len(grants) == granted
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not page.get_by_role("button", name="Keep working on this tablet").count()


def test_agency_staff_see_their_agency_named_after_signing_in(
    app_stack: AppStack, page: Page
) -> None:
    tablet.sign_in(page, app_stack, "Lee Chen")
    # who they are comes from the provider's claims as the services map them (GET /me)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverton Community Food Bank")
    expect(page.locator(".who .user")).to_have_text("Lee Chen")
