"""The tablet app's weight and speed: the shell's size (gzipped), a cold load over a slow 3G
profile, and a reload from the service worker with the network off, in Debian's Chromium
against the real `bridges up` on free ports. Baseline in the same run: one small static file
fetched over the same emulated network (what any page pays before it can draw anything)."""

from __future__ import annotations

import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

from bench.harness import RESULTS
from bridges_devstack.running import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SERVICE_WORKER_IN_CONTROL,
    start_bridges_up,
    stop_bridges_up,
    wait_for_stack,
)

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "app" / "dist"
# Chrome DevTools' "Slow 3G" preset: 2 s round trip, 400 kbit/s both ways.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}
COLD_RUNS = 3
RELOAD_RUNS = 7
DRAWN = "main h1"  # the first screen, drawn (sign-in, or unlock for a returning officer)


def shell_size() -> dict[str, int]:
    files = [p for p in DIST.rglob("*") if p.suffix in {".js", ".css"} and p.name != "sw.js"]
    return {
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "gzipped_bytes": sum(len(gzip.compress(p.read_bytes(), 9)) for p in files),
    }


def _slow(context: BrowserContext, page: Page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)


def cold_load_ms(context: BrowserContext, url: str) -> float:
    page = context.new_page()
    _slow(context, page)
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(DRAWN, timeout=120_000)
    elapsed = (time.perf_counter() - started) * 1000
    page.close()
    return elapsed


def baseline_ms(context: BrowserContext, url: str) -> float:
    page = context.new_page()
    _slow(context, page)
    started = time.perf_counter()
    page.goto(url)  # the manifest: a few hundred bytes, no script
    elapsed = (time.perf_counter() - started) * 1000
    page.close()
    return elapsed


def offline_reload_ms(context: BrowserContext, url: str) -> list[float]:
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(SERVICE_WORKER_IN_CONTROL)
    page.wait_for_selector(DRAWN)
    context.set_offline(True)
    times = []
    for _ in range(RELOAD_RUNS):
        started = time.perf_counter()
        page.reload()
        page.wait_for_selector(DRAWN)
        times.append((time.perf_counter() - started) * 1000)
    context.set_offline(False)
    return times


def main() -> None:
    assert (DIST / "index.html").exists(), "build the app first: make app"
    size = shell_size()
    with tempfile.TemporaryDirectory(prefix="bridges-bench-app-") as tmp:
        run_dir = Path(tmp)
        process, _ = start_bridges_up(run_dir)
        try:
            stack = wait_for_stack(process, run_dir)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                viewport = {"width": 768, "height": 1024}
                cold = [
                    cold_load_ms(browser.new_context(viewport=viewport), stack.app_url)
                    for _ in range(COLD_RUNS)
                ]
                raw = [
                    baseline_ms(browser.new_context(), f"{stack.app_url}manifest.webmanifest")
                    for _ in range(COLD_RUNS)
                ]
                reloads = offline_reload_ms(browser.new_context(viewport=viewport), stack.app_url)
                browser.close()
        finally:
            stop_bridges_up(process, run_dir)
    result: dict[str, Any] = {
        "title": "Tablet app: size and load times",
        "shell": size,
        "cold_load_slow_3g_ms": {
            "median": round(statistics.median(cold)),
            "runs": [round(c) for c in cold],
        },
        "baseline_one_small_file_slow_3g_ms": round(statistics.median(raw)),
        "cold_vs_baseline": round(statistics.median(cold) / statistics.median(raw), 2),
        "offline_reload_ms": {
            "median": round(statistics.median(reloads)),
            "max": round(max(reloads)),
            "runs": [round(r) for r in reloads],
        },
    }
    print(f"\n{result['title']}")
    print(
        f"  shell: {size['files']} files, {size['bytes'] / 1024:.1f} KB, {size['gzipped_bytes'] / 1024:.1f} KB gzipped (budget 150 KB)"
    )
    print(
        f"  cold load, slow 3G: median {result['cold_load_slow_3g_ms']['median']} ms (runs {result['cold_load_slow_3g_ms']['runs']})"
    )
    print(
        f"  baseline, one small file, slow 3G: {result['baseline_one_small_file_slow_3g_ms']} ms -> cold load = {result['cold_vs_baseline']}x"
    )
    print(
        f"  reload from the service worker, network off: median {result['offline_reload_ms']['median']} ms, max {result['offline_reload_ms']['max']} ms"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "app.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
