"""`make up` as a newcomer runs it: the real `bridges up` process on free ports, its three
services ready, the demo county seeded, tokens that work; Ctrl-C stops it, and a second run
keeps the data. And as a fault probe treats it: whatever is killed comes back by itself, and
no referral's webhook is lost or sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import httpx
import nats
import psutil
import pytest

from bridges_devstack.ports import Ports
from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port
from bridges_devstack.testing import eventually
from tests.scenario import intake

pytestmark = [pytest.mark.timeout(300), pytest.mark.integration]


def _start(
    run_dir: Path, ports: Ports, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    flags = [f"--{name.replace('_', '-')}-port={port}" for name, port in asdict(ports).items()]
    flags += extra
    # its console goes to a file, not a pipe: readable while it runs, and never full
    with (run_dir / "console.log").open("w") as console:
        return subprocess.Popen(
            [sys.executable, "-m", "bridges_devstack.cli", "up", "--run-dir", str(run_dir), *flags],
            stdout=console,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )


def _console(run_dir: Path) -> str:
    return (run_dir / "console.log").read_text()


def _wait_for_stack(process: subprocess.Popen[str], run_dir: Path) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bridges up exited early:\n{_console(run_dir)}")
        if (run_dir / "stack.json").exists():
            return json.loads((run_dir / "stack.json").read_text())
        time.sleep(0.2)
    raise AssertionError("bridges up did not write stack.json within 120 s")


def _interrupt(process: subprocess.Popen[str], run_dir: Path) -> str:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    output = _console(run_dir)
    assert process.returncode == 0, output
    return output


def _refused(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.TransportError:
        return True
    return False


def _wait_for_console(process: subprocess.Popen[str], run_dir: Path, text: str) -> str:
    """The console once `text` is in it (stack.json is written just before the summary)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if text in (output := _console(run_dir)):
            return output
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not printed:\n{_console(run_dir)}")


def _environ(pid: int) -> dict[str, str]:
    environ: dict[str, str] = psutil.Process(pid).environ()
    return environ


def _assert_app_settings(stack: dict, run_dir: Path, app_dir: Path, ports: Ports) -> None:
    """What the services are told about the app (their settings, as their processes see them)."""
    try:
        psutil.Process().environ()
    except (psutil.AccessDenied, NotImplementedError):
        return  # a platform that does not show it: what the services make of it is tested with the app
    referrals = _environ(stack["processes"]["referrals"])
    assert referrals["BRIDGES_APP_DIR"] == str(app_dir)
    assert referrals["BRIDGES_APP_DIRECTORY_URL"] == stack["urls"]["directory"]
    assert referrals["BRIDGES_APP_OIDC_AUTHORITY"] == stack["identity"]["issuer"]
    assert referrals["BRIDGES_JWT_JWKS_URL"] == stack["identity"]["issuer"] + "/jwks"
    origins = [f"http://127.0.0.1:{ports.referrals}", f"http://localhost:{ports.referrals}"]
    for name in ("directory", "notifications"):
        environ = _environ(stack["processes"][name])
        assert json.loads(environ["BRIDGES_CORS_ALLOW_ORIGINS"]) == origins


async def _anonymous_nats(url: str) -> str:
    try:
        connection = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
    except Exception as exc:
        return str(exc)
    await connection.close()
    return "connected"


DEMO_USERS = {
    ("badge-1234", "Dana Reyes", "officer"),
    ("badge-5678", "Sam Okafor", "officer"),
    ("staff-riverton-food-bank", "Lee Chen", "agency_staff"),
    ("admin-dev", "Alex Admin", "admin"),
    ("ops-dev", "Olu Ops", "ops"),
}


def test_bridges_up_serves_seeds_stops_cleanly_and_keeps_data(tmp_path):
    ports = Ports(**{name: free_port() for name in asdict(Ports())})
    stack_file = tmp_path / "stack.json"
    no_app = tmp_path / "no-app"  # not built: the APIs start anyway, and the console says why

    process = _start(tmp_path, ports, {"BRIDGES_APP_DIR": str(no_app)})
    try:
        stack = _wait_for_stack(process, tmp_path)
        urls = stack["urls"]
        app_url = f"http://127.0.0.1:{ports.referrals}/app/"
        assert list(urls) == ["app", "public", "directory", "referrals", "notifications"]
        assert urls["public"] == f"http://127.0.0.1:{ports.referrals}/public"
        assert urls["app"] == app_url

        console = _wait_for_console(process, tmp_path, "Dev tokens")
        assert "the tablet app is not built" in console and "make app" in console
        opened = console.index(f"Open the app: {app_url}")
        for name in ("directory", "referrals", "notifications"):
            assert console.index(urls[name]) > opened, f"{name}'s URL printed before the app's"
        assert console.index(stack["nats_url"]) > opened
        for _, name, _ in DEMO_USERS:
            assert console.index(name) > opened

        users = stack["demo_users"]
        assert users == json.loads((tmp_path / "demo-users.json").read_text())
        assert {(u["id"], u["name"], u["role"]) for u in users} >= DEMO_USERS
        staff = [u for u in users if u["role"] == "agency_staff"]
        assert len({u["agency_id"] for u in staff}) == len(staff) == 2
        assert staff[0]["agency_id"] == stack["demo_agency_id"]
        assert staff[0]["agency_name"] == "Riverton Community Food Bank"
        assert all(u["email"] == f"{u['id']}@example.org" for u in users)
        assert all(u["agency_id"] is None for u in users if u["role"] != "agency_staff")
        _assert_app_settings(stack, tmp_path, no_app, ports)

        for name in ("directory", "referrals", "notifications"):
            assert httpx.get(f"{urls[name]}/readyz", timeout=5).status_code == 200
        services = httpx.get(f"{urls['directory']}/services", params={"per_page": 50}).json()
        assert services["total_items"] >= 30
        officer = {"Authorization": f"Bearer {stack['tokens']['officer']}"}
        assert (
            httpx.get(f"{urls['referrals']}/referrals?mine=true", headers=officer).json()["items"]
            == []
        )
        staff_token = {"Authorization": f"Bearer {stack['tokens']['agency_staff']}"}
        assert httpx.get(f"{urls['referrals']}/inbox", headers=staff_token).status_code == 200
        assert stack["nats_url"].endswith(f":{ports.nats}")
        # stack.json holds admin tokens: its owner's only; the run directory too (0711 when
        # PostgreSQL runs as its own user: it may pass through, no one may list it)
        assert stack_file.stat().st_mode & 0o777 == 0o600
        private = 0o711 if os.geteuid() == 0 else 0o700
        assert tmp_path.stat().st_mode & 0o777 == private
        assert not any(p.stat().st_mode & 0o077 for p in (tmp_path / "nats-keys").iterdir())
        # the bus admits the services' users only
        refused = asyncio.run(_anonymous_nats(stack["nats_url"]))
        assert "Authorization Violation" in refused, refused
    finally:
        if process.poll() is None:
            output = _interrupt(process, tmp_path)
    assert "stopped." in output
    assert all(
        _refused(ports.service(name)) for name in ("directory", "referrals", "notifications")
    )

    # the key ring sealing families' data is made once, for its owner only, and kept
    data_keys = (tmp_path / "data-keys.json").read_text()
    assert (tmp_path / "data-keys.json").stat().st_mode & 0o077 == 0

    stack_file.unlink()
    process = _start(tmp_path, ports)
    try:
        again = _wait_for_stack(process, tmp_path)
        assert httpx.get(f"{again['urls']['referrals']}/readyz", timeout=5).status_code == 200
    finally:
        output = _interrupt(process, tmp_path)
    assert f"seeded {services['total_items']} services (0 created or changed)" in output
    assert (tmp_path / "data-keys.json").read_text() == data_keys


# --- faults: `bridges up` supervises its processes ------------------------------------------


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def _down(url: str) -> bool:
    return not await _ready(url)


def _pid(run_dir: Path, name: str) -> int:
    pid: int = json.loads((run_dir / "stack.json").read_text())["processes"][name]
    return pid


def _hooked_referrals(receiver: WebhookReceiver) -> list[str]:
    return [json.loads(r.body)["data"]["referral_id"] for r in receiver.requests]


async def _kill_and_wait_for_restart(run_dir: Path, name: str) -> None:
    """SIGKILL `name` (its pid from stack.json); the supervisor restarts it by itself."""
    pid = _pid(run_dir, name)
    os.kill(pid, signal.SIGKILL)

    async def back() -> bool:
        return f"{name} is back" in _console(run_dir) and _pid(run_dir, name) != pid

    await eventually(back, timeout_s=60, interval_s=0.1)


async def test_bridges_up_restarts_what_is_killed_and_every_referral_reaches_the_agency_once(
    tmp_path,
):
    ports = Ports(**{name: free_port() for name in asdict(Ports())})
    process = _start(tmp_path, ports)
    receiver = await WebhookReceiver().start()
    try:
        stack = await asyncio.to_thread(_wait_for_stack, process, tmp_path)
        urls, tokens = stack["urls"], stack["tokens"]
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        officer = {"Authorization": f"Bearer {tokens['officer']}"}
        async with httpx.AsyncClient(timeout=15) as http:
            endpoint = await http.post(
                f"{urls['notifications']}/agencies/{stack['demo_agency_id']}/endpoints",
                json={"url": receiver.url},
                headers=admin,
            )
            assert endpoint.status_code == 201, endpoint.text
            found = await http.get(
                f"{urls['directory']}/services",
                params={"search": "Riverton Community Food Bank"},
            )
            program = found.json()["contents"][0]
            assert program["x_bridges"]["agency_id"] == stack["demo_agency_id"]

            async def file_referral() -> str | None:
                """One referral to the food bank; None while referrals does not know it yet."""
                filed = await http.post(
                    f"{urls['referrals']}/referrals",
                    json=intake([program["id"]]),
                    headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
                )
                if filed.status_code == 422 and "not in the directory" in filed.text:
                    return None  # the read-model is still catching up with the seed
                assert filed.status_code == 201, filed.text
                referral_id: str = filed.json()["referrals"][0]["id"]
                return referral_id

            async def hooked(referral_id: str) -> None:
                """Its webhook arrived, and notifications recorded it as sent: a fault
                between sending and recording would rightly send it again (the same
                webhook-id, which receivers deduplicate); this test counts what is sent again
                after it was recorded."""

                async def arrived() -> bool:
                    return referral_id in _hooked_referrals(receiver)

                async def recorded() -> bool:
                    pending = await http.get(
                        f"{urls['notifications']}/deliveries",
                        params={"status": "pending", "channel": "webhook"},
                        headers=admin,
                    )
                    assert pending.status_code == 200, pending.text
                    return pending.json() == []

                await eventually(arrived, timeout_s=60, interval_s=0.1)
                await eventually(recorded, timeout_s=30, interval_s=0.1)

            before = await eventually(file_referral, timeout_s=30, interval_s=0.5)
            await hooked(before)  # the whole path works before any fault

            # notifications dies; a referral filed meanwhile waits (outbox, then JetStream)
            os.kill(_pid(tmp_path, "notifications"), signal.SIGKILL)
            await eventually(lambda: _down(urls["notifications"]), timeout_s=10, interval_s=0.05)
            during = await file_referral()
            assert during is not None
            assert await _down(urls["notifications"])  # still down: not back before the filing
            await eventually(lambda: _ready(urls["notifications"]), timeout_s=60, interval_s=0.2)
            await hooked(during)
            barrier = await file_referral()  # once its webhook is in, nothing else is due
            assert barrier is not None
            await hooked(barrier)
            assert _hooked_referrals(receiver).count(during) == 1

            # nats-server dies: it comes back on its port with its JetStream store
            jsz = f"http://127.0.0.1:{ports.nats_monitor}/jsz"
            stored = (await http.get(jsz)).json()
            await _kill_and_wait_for_restart(tmp_path, "nats-server")
            restored = (await http.get(jsz)).json()
            assert restored["streams"] == stored["streams"] > 0
            assert restored["messages"] >= stored["messages"] > 0
            after_nats = await file_referral()
            assert after_nats is not None
            await hooked(after_nats)

            # PostgreSQL dies: restarted as its own user, with its log file
            await _kill_and_wait_for_restart(tmp_path, "postgres")
            for name in ("directory", "referrals", "notifications"):
                await eventually(lambda n=name: _ready(urls[n]), timeout_s=60, interval_s=0.2)
            after_postgres = await file_referral()
            assert after_postgres is not None
            await hooked(after_postgres)

            # notifications hangs (SIGSTOP: its process and port are there, nothing answers):
            # its liveness probe notices, it is killed and restarted within 30 s
            hung = _pid(tmp_path, "notifications")
            stopped_at = time.monotonic()
            os.kill(hung, signal.SIGSTOP)

            async def replaced() -> bool:
                return _pid(tmp_path, "notifications") != hung and await _ready(
                    urls["notifications"]
                )

            await eventually(replaced, timeout_s=45, interval_s=0.2)
            assert time.monotonic() - stopped_at < 30
            after_hang = await file_referral()
            assert after_hang is not None
            await hooked(after_hang)

        webhook_ids = receiver.ids()
        assert len(webhook_ids) == len(set(webhook_ids)) == 6, _hooked_referrals(receiver)
        assert sorted(_hooked_referrals(receiver)) == sorted(
            [before, during, barrier, after_nats, after_postgres, after_hang]
        )
    finally:
        await receiver.stop()
        output = (
            await asyncio.to_thread(_interrupt, process, tmp_path)
            if process.poll() is None
            else _console(tmp_path)
        )
    assert "notifications exited with -9 (SIGKILL); restarting in 0.5 s (restart 1)" in output
    assert "nats-server exited with -9 (SIGKILL); restarting in" in output
    assert "postgres exited with -9 (SIGKILL); restarting in" in output
    assert "notifications stopped answering (no answer for 15 s); restarting in" in output
    assert "stopped." in output
    if os.geteuid() == 0:  # PostgreSQL runs as its own user then: its log must be that user's
        pg_data = tmp_path / "pg"
        assert (pg_data / "server.log").stat().st_uid == pg_data.stat().st_uid != 0
