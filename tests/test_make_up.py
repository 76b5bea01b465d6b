"""`make up` as a newcomer runs it: the real `bridges up` process on free ports, its three
services ready, the demo county seeded, tokens that work; Ctrl-C stops it, and a second run
keeps the data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from bridges_devstack.ports import Ports
from bridges_devstack.servers import free_port

pytestmark = pytest.mark.timeout(300)


def _start(run_dir: Path, ports: Ports) -> subprocess.Popen[str]:
    flags = [f"--{name.replace('_', '-')}-port={port}" for name, port in asdict(ports).items()]
    return subprocess.Popen(
        [sys.executable, "-m", "bridges_devstack.cli", "up", "--run-dir", str(run_dir), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_stack(process: subprocess.Popen[str], stack_file: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bridges up exited early:\n{process.stdout.read()}")
        if stack_file.exists():
            return json.loads(stack_file.read_text())
        time.sleep(0.2)
    raise AssertionError("bridges up did not write stack.json within 120 s")


def _interrupt(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def _refused(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.TransportError:
        return True
    return False


def test_bridges_up_serves_seeds_stops_cleanly_and_keeps_data(tmp_path):
    ports = Ports(**{name: free_port() for name in asdict(Ports())})
    stack_file = tmp_path / "stack.json"

    process = _start(tmp_path, ports)
    try:
        stack = _wait_for_stack(process, stack_file)
        urls = stack["urls"]
        for name in ("directory", "referrals", "notifications"):
            assert httpx.get(f"{urls[name]}/readyz", timeout=5).status_code == 200
        services = httpx.get(f"{urls['directory']}/services", params={"per_page": 50}).json()
        assert services["total_items"] >= 30
        officer = {"Authorization": f"Bearer {stack['tokens']['officer']}"}
        assert httpx.get(f"{urls['referrals']}/referrals?mine=true", headers=officer).json() == []
        staff = {"Authorization": f"Bearer {stack['tokens']['agency_staff']}"}
        assert httpx.get(f"{urls['referrals']}/inbox", headers=staff).status_code == 200
        assert stack["nats_url"].endswith(f":{ports.nats}")
    finally:
        if process.poll() is None:
            output = _interrupt(process)
    assert "stopped." in output
    assert all(
        _refused(ports.service(name)) for name in ("directory", "referrals", "notifications")
    )

    stack_file.unlink()
    process = _start(tmp_path, ports)
    try:
        again = _wait_for_stack(process, stack_file)
        assert httpx.get(f"{again['urls']['referrals']}/readyz", timeout=5).status_code == 200
    finally:
        output = _interrupt(process)
    assert f"seeded {services['total_items']} services (0 created or changed)" in output
