"""What the browser tests share besides fixtures: the running `bridges up` they drive (see
bridges_devstack.running), and screenshots for the docs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

from bridges_devstack.running import (
    AppStack,
    console,
    start_bridges_up,
    stop_bridges_up,
    wait_for_stack,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# controls a finger cannot be sure to hit (a file input is the browser's own button)
SMALL_TARGETS = """() => [...document.querySelectorAll('button, a.button, select, input:not([type=checkbox]):not([type=radio]):not([type=file])')]
    .filter((el) => el.offsetParent && el.getBoundingClientRect().height < 44)
    .map((el) => el.outerHTML.slice(0, 80))"""
# what sticks out past the screen's right edge (the innermost first), to name in a failure
STICKING_OUT = """(width) => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5))
    .slice(0, 5).map((el) => el.outerHTML.slice(0, 100))"""

__all__ = [
    "AppStack",
    "check_fits",
    "console",
    "screenshot",
    "start_bridges_up",
    "stop_bridges_up",
    "wait_for_stack",
]


def check_fits(page: Page, screen: str, width: int) -> None:
    """The screen fits `width` (no sideways scrolling), its controls are large enough to tap,
    and no browser error or catalogue key (⟦…⟧) reads on it."""
    page.wait_for_load_state("networkidle")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    if wide > width:
        out = page.evaluate(STICKING_OUT, width)
        raise AssertionError(f"{screen}: {wide} px wide on a {width} px screen: {out}")
    assert page.evaluate(SMALL_TARGETS) == [], screen
    text = page.locator("body").inner_text()
    assert not re.search(r"Failed to fetch|⟦", text), screen


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path | None:
    """docs/screenshots/<name>.png, only when BRIDGES_SCREENSHOTS=1 (a normal test run leaves
    the docs alone). Returns the path written, or None."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot name {name!r}: use lowercase letters, digits and dashes")
    if os.environ.get("BRIDGES_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page, animations="disabled")
    return path
