"""Browser tests: the real `bridges up` (the app `make app` built, the three APIs, embedded
PostgreSQL and NATS on free ports) driven by Debian's chromium through Playwright's sync API.

Fixtures:
  app_stack  (package)   the running stack (`support.AppStack`): app_url, urls, demo_users,
                         tokens, run_dir; stopped with Ctrl-C (SIGINT) after the last browser test
  browser    (package)   headless chromium, /usr/bin/chromium (`make browser` installs it)
  context    (function)  a fresh context per test: a tablet's 768x1024 viewport, touch,
                         service workers allowed
  page       (function)  a page of that context; a failing test leaves failure.png in its
                         tmp_path
Screenshots for the docs: `support.screenshot(page, name)` (only with BRIDGES_SCREENSHOTS=1).

Browser tests are plain (sync) test functions. The suite runs pytest-asyncio in auto mode with
one session loop, which runs only while an async test or fixture does. Playwright's sync API
keeps its own loop marked as this thread's running loop for as long as Playwright is started:
meanwhile no async test, and no `asyncio.run()`, can run. Hence `browser` lives for this package
only (every browser test shares one chromium and one stack, and both are gone before the rest
of the suite's async tests), a browser test's helpers must not call `asyncio.run()`, and
`context` refuses an async test at once.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bridges_devstack.running import CHROMIUM, CHROMIUM_ARGS
from bridges_devstack.stack import app_missing_warning, default_app_dir
from tests.browser.support import AppStack, start_bridges_up, stop_bridges_up, wait_for_stack

TABLET: ViewportSize = {"width": 768, "height": 1024}
# access tokens renewed every few seconds, so every browser test runs across token refreshes
ACCESS_TOKEN_S = 100
ACTION_TIMEOUT_MS = 15_000
# families' follow-ups a few seconds after filing, not a week, at any hour of the day the suite
# runs (the deployment's default safe hours are 09:00-19:00; CI runs at night too)
FOLLOW_UPS_SOON = {
    "BRIDGES_FOLLOWUP_DELAY_S": "3",
    "BRIDGES_FOLLOWUP_SWEEP_INTERVAL_S": "0.5",
    "BRIDGES_FOLLOWUP_HOURS": "00:00-00:00",
}


@pytest.fixture(scope="package")
def app_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    warning = app_missing_warning(default_app_dir())
    if warning:  # the browser tests are about the app: no point starting without it
        pytest.fail(f"{warning}\n(`make test` builds it first.)", pytrace=False)
    run_dir = tmp_path_factory.mktemp("app-stack")
    process, _ = start_bridges_up(
        run_dir, {"BRIDGES_DEV_ACCESS_TOKEN_S": str(ACCESS_TOKEN_S), **FOLLOW_UPS_SOON}
    )
    try:
        yield wait_for_stack(process, run_dir)
    finally:
        stop_bridges_up(process, run_dir)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium. "
            "Run `make browser` (`make test` does) to install it.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        pytest.fail(
            "browser tests are plain `def` functions: Playwright's sync API cannot run inside "
            "the session's running asyncio loop",
            pytrace=False,
        )
    fresh = browser.new_context(viewport=TABLET, has_touch=True, service_workers="allow")
    fresh.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield fresh
    finally:
        fresh.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and not opened.is_closed():
        with contextlib.suppress(PlaywrightError):  # the page may be what broke
            opened.screenshot(path=tmp_path / "failure.png", full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call's report on the item, for `page` to see whether the test failed."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
