"""The two probes (`python -m bridges_kit.healthcheck live|ready`) against a real HTTP server
that answers as a healthy, a not-ready, and a hung process would."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bridges_kit.healthcheck import LIVE, READY


class _Process(BaseHTTPRequestHandler):
    """/healthz and /readyz as the server's `state` says: ok, not-ready (503) or hung."""

    def do_GET(self) -> None:
        state = self.server.state  # type: ignore[attr-defined]
        if state == "hung":
            self.server.release.wait(10)  # type: ignore[attr-defined]
            return
        status = 503 if state == "not-ready" and self.path == "/readyz" else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def process() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Process)
    server.state, server.release = "ok", threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()  # type: ignore[attr-defined]
    server.shutdown()


def _probe(server: ThreadingHTTPServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BRIDGES_HTTP_PORT": str(server.server_address[1])}
    command = [sys.executable, "-m", "bridges_kit.healthcheck", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


def test_a_healthy_process_passes_both_probes(process):
    assert _probe(process, "live").returncode == 0
    assert _probe(process, "ready").returncode == 0
    assert _probe(process).returncode == 0  # compose's healthcheck: ready


def test_a_process_that_is_not_ready_is_still_alive(process):
    process.state = "not-ready"  # PostgreSQL down: not the process's fault, restart nothing
    assert _probe(process, "live").returncode == 0
    not_ready = _probe(process, "ready")
    assert not_ready.returncode == 1 and "not ready" in not_ready.stderr


def test_a_hung_process_fails_the_liveness_probe_within_its_timeout(process):
    process.state = "hung"  # accepts the connection, answers nothing (SIGSTOP, blocked loop)
    assert not LIVE.passes(process.server_address[1])
    assert _probe(process, "live").returncode == 1


def test_the_probes_are_named_once_and_an_unknown_one_is_a_usage_error(process):
    assert (LIVE.path, LIVE.timeout_s, LIVE.period_s, LIVE.misses) == ("/healthz", 2.0, 5.0, 3)
    assert (READY.path, READY.any_status) == ("/readyz", False)
    wrong = _probe(process, "alive")
    assert wrong.returncode == 2 and "live|ready" in wrong.stderr
