"""A real `bridges up` started as a subprocess on free ports, for what drives the whole system
from outside (the browser tests, the app benchmark): start it, wait for its stack.json, stop it
as a developer would (Ctrl-C)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bridges_devstack.ports import Ports
from bridges_devstack.servers import free_port

# Debian's chromium, as the browser tests and the app benchmark drive it: headless, as root,
# and quiet on a machine whose outside network is closed.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# For a page of the app: resolves true once a service worker controls it (the shell is
# precached, so the page can reload with no network).
SERVICE_WORKER_IN_CONTROL = "async () => { await navigator.serviceWorker.ready; return !!navigator.serviceWorker.controller; }"
STARTUP_S = 120.0  # `bridges up` on a busy CI machine: PostgreSQL, NATS, three services, the seed
STOP_S = 60.0


@dataclass(frozen=True)
class AppStack:
    """A running `bridges up`: the app at `app_url`, the APIs at `urls` (`urls["app"]` too),
    the demo users one can sign in as, a dev token per role, and its run directory."""

    app_url: str
    urls: dict[str, str]
    demo_users: list[dict[str, Any]]
    tokens: dict[str, str]
    run_dir: Path
    stack: dict[str, Any]  # the whole stack.json

    def user(self, user_id: str) -> dict[str, Any]:
        """A demo user by id (`badge-1234`, `staff-riverton-food-bank`, ...)."""
        found = next((u for u in self.demo_users if u["id"] == user_id), None)
        if found is None:
            raise KeyError(f"no demo user {user_id!r}: {[u['id'] for u in self.demo_users]}")
        return found

    def console(self) -> str:
        """What `bridges up` printed so far (its services log under run_dir/logs/)."""
        return console(self.run_dir)


def console(run_dir: Path) -> str:
    path = run_dir / "console.log"
    return path.read_text(errors="replace") if path.exists() else ""


def start_bridges_up(
    run_dir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], Ports]:
    """The real `bridges up`, every port a free one (never the `make up` ports), with `env`
    added to this process's environment."""
    ports = Ports(**{name: free_port() for name in asdict(Ports())})
    flags = [f"--{name.replace('_', '-')}-port={port}" for name, port in asdict(ports).items()]
    # its console goes to a file, not a pipe: readable while it runs, and never full
    with (run_dir / "console.log").open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridges_devstack.cli", "up", "--run-dir", str(run_dir), *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
    return process, ports


def wait_for_stack(process: subprocess.Popen[str], run_dir: Path) -> AppStack:
    """Once stack.json is written the services are ready and the demo county is seeded."""
    deadline = time.monotonic() + STARTUP_S
    stack_file = run_dir / "stack.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bridges up exited early:\n{console(run_dir)}")
        if stack_file.exists():
            stack = json.loads(stack_file.read_text())
            return AppStack(
                app_url=stack["urls"]["app"],
                urls=stack["urls"],
                demo_users=stack["demo_users"],
                tokens=stack["tokens"],
                run_dir=run_dir,
                stack=stack,
            )
        time.sleep(0.2)
    raise TimeoutError(
        f"bridges up wrote no stack.json within {STARTUP_S:.0f} s:\n{console(run_dir)}"
    )


def stop_bridges_up(process: subprocess.Popen[str], run_dir: Path) -> None:
    """Ctrl-C, as a developer stops it; if it hangs, kill it and what it started."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_S)
            return
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        started = _children(run_dir)
        process.kill()
        process.wait()
        for pid in started:  # its services, PostgreSQL and nats-server would outlive it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        raise RuntimeError(f"bridges up did not stop within {STOP_S:.0f} s:\n{console(run_dir)}")


def _children(run_dir: Path) -> list[int]:
    try:
        processes = json.loads((run_dir / "stack.json").read_text())["processes"]
    except (OSError, ValueError, KeyError):
        return []
    return [pid for name, pid in processes.items() if name != "bridges" and pid]
