"""The app as `make up` serves it: the built page at /app/, and its config at /app/config.json."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from bridges_devstack.running import SERVICE_WORKER_IN_CONTROL
from tests.browser.support import AppStack


def test_the_built_app_is_served_with_its_config(
    app_stack: AppStack, page: Page, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    response = page.goto(app_stack.app_url)
    assert response is not None, "no response for the app's URL"
    assert response.status == 200, f"{app_stack.app_url}: {response.status}"
    assert response.headers["content-type"].startswith("text/html")
    # something on screen that only the built app's script can have put there
    page.wait_for_function("() => document.body.innerText.trim().length > 0")
    assert page.title() == "Bridges"
    assert errors == []

    config = page.request.get(f"{app_stack.app_url}config.json")
    assert config.status == 200, config.text()
    assert config.headers["content-type"].startswith("application/json")
    assert config.json()["directory_url"].rstrip("/") == app_stack.urls["directory"]

    page.screenshot(path=tmp_path / "app.png")
    assert (tmp_path / "app.png").stat().st_size > 0


def test_the_app_is_installable_and_works_offline_after_one_visit(
    app_stack: AppStack, page: Page
) -> None:
    page.goto(app_stack.app_url)
    page.wait_for_function(SERVICE_WORKER_IN_CONTROL)
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # a test browser context is incognito-like, the one thing a real browser would not be
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    manifest = page.request.get(f"{app_stack.app_url}manifest.webmanifest").json()
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_the_app_runs_under_a_strict_content_security_policy(
    app_stack: AppStack, page: Page
) -> None:
    response = page.goto(app_stack.app_url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert app_stack.urls["directory"] in policy  # the one other origin it may call
    assert response.headers["x-content-type-options"] == "nosniff"
    page.wait_for_selector("main h1")  # the app itself runs under it
    injected = page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.injected = 1";
                   document.head.append(s); return window.injected === 1; }"""
    )
    assert injected is False  # an injected inline script does not run
