"""docker-compose.yml run for real (`make compose-test`): the whole stack up and healthy, then
through Caddy's one HTTPS origin an officer signs in and files a referral in Chromium, the
agency's webhook receiver gets the signed webhook and the agency accepts; a killed service
container is brought back by its restart policy with nothing lost; `down -v` leaves nothing.
The cluster overlay is the second step (test_cluster.py)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright
from standardwebhooks.webhooks import Webhook

from bridges_devstack.demo import DEMO_AGENCY_NAME, demo_agency_id, demo_users
from bridges_devstack.identity import access_token
from bridges_devstack.running import CHROMIUM, CHROMIUM_ARGS, AppStack
from tests.browser import tablet
from tests.compose.project import ComposeProject, wait_until
from tests.scenario import intake

SERVICES = ("directory", "referrals", "notifications")
LONG_RUNNING = (*SERVICES, "nats", "postgres", "mailpit", "caddy", "idp", "receiver")


class Origin:
    """The stack as the world sees it: https://localhost:<port>, Caddy's certificate checked
    against the root of its internal CA (read from its volume)."""

    def __init__(self, project: ComposeProject, ca_file: Path) -> None:
        self.project = project
        self.http = httpx.Client(base_url=project.origin, verify=str(ca_file), timeout=15)
        self.users = {u.id: u for u in demo_users()}

    def token(self, user_id: str) -> str:
        return access_token(
            self.project.issuer, self.project.signing_key, self.users[user_id], 3600
        )

    def call(self, method: str, path: str, user_id: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user_id)}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)


def _healthy(project: ComposeProject, services: tuple[str, ...]) -> bool:
    for service in services:
        containers = project.containers(service)
        if not containers:
            return False
        for c in containers:
            health = c["State"].get("Health", {}).get("Status")
            if c["State"]["Status"] != "running" or health not in (None, "healthy"):
                return False
    return True


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    project = ComposeProject(f"bridges-ct-{uuid.uuid4().hex[:6]}", tmp_path_factory.mktemp("ct"))
    try:
        project.run("up", "-d", "--no-build")
        wait_until(lambda: _healthy(project, LONG_RUNNING), "every container healthy", 300)
        seeded = project.run("--profile", "demo", "run", "--rm", "directory-seed")
        assert "seeded" in seeded, seeded
        yield project
    finally:
        for service in (*SERVICES, "caddy"):
            print(f"--- {service} log (tail)\n" + "\n".join(project.logs(service).splitlines()[-15:]))
        project.run("down", "-v", "--remove-orphans", "--timeout", "20", check=False)


@pytest.fixture(scope="module")
def origin(project: ComposeProject) -> Origin:
    root = project.run("exec", "-T", "caddy", "cat", "/data/caddy/pki/authorities/local/root.crt")
    ca_file = project.workdir / "caddy-root.crt"
    ca_file.write_text(root)
    origin = Origin(project, ca_file)
    wait_until(lambda: origin.http.get("/app/").status_code == 200, "the app through Caddy", 60)
    return origin


def _webhooks(project: ComposeProject) -> list[dict[str, Any]]:
    """What the receiver container got, from its log (one JSON line a request)."""
    lines = [line for line in project.logs("receiver").splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def _webhook_for(project: ComposeProject, referral_id: str, event_type: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for hook in _webhooks(project):
            event = json.loads(_body(hook))
            if event["type"] == event_type and event["data"]["referral_id"] == referral_id:
                return hook
        return None

    hook: dict[str, Any] = wait_until(found, f"a {event_type} webhook for {referral_id}", 120)
    return hook


def _body(hook: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(hook["body_base64"])


def test_every_container_is_hardened_and_the_migrations_ran_once(project: ComposeProject):
    for service in SERVICES:
        (c,) = project.containers(service)
        host = c["HostConfig"]
        assert c["Config"]["User"] == "10001:10001", service
        assert host["ReadonlyRootfs"] is True, service
        assert host["RestartPolicy"]["Name"] == "unless-stopped", service
        assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0, service
        assert host["CapDrop"] == ["ALL"] or host["CapDrop"] == ["all"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        env = "\n".join(c["Config"]["Env"])
        assert "PASSWORD" not in env.replace("PASSWORD_FILE", ""), f"{service}: a password in env"
        (migrate,) = project.containers(f"{service}-migrate", every=True)
        assert migrate["State"]["Status"] == "exited" and migrate["State"]["ExitCode"] == 0
    published = {
        c["Name"]: c["NetworkSettings"]["Ports"] for c in project.containers() if c["NetworkSettings"]["Ports"]
    }
    exposed = {name for name, ports in published.items() if any(ports.values())}
    assert {n.split("_")[1] if "_" in n else n for n in exposed} <= {"caddy", "idp"}, published


def test_an_officer_files_a_referral_in_chromium_and_the_agency_accepts_it(
    project: ComposeProject, origin: Origin
):
    assert "<title>" in origin.http.get("/app/").text
    config = origin.http.get("/app/config.json").json()
    assert config["directory_url"] == "/api/directory"
    agency = demo_agency_id()
    endpoint = origin.call(
        "POST",
        f"/api/notifications/agencies/{agency}/endpoints",
        "admin-dev",
        json={"url": "http://receiver:9000/hooks/bridges"},
    )
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]

    family = tablet.family_name()
    app = AppStack(
        app_url=f"{project.origin}/app/",
        urls={},
        demo_users=[u.as_json() for u in demo_users()],
        tokens={},
        run_dir=project.workdir,
        stack={"identity": {"issuer": project.issuer}},
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"]
        )
        try:
            page = browser.new_context(
                ignore_https_errors=True, viewport={"width": 768, "height": 1024}
            ).new_page()
            page.set_default_timeout(30_000)
            tablet.sign_in(page, app, "Dana Reyes")
            tablet.file_referral(page, family)
            wait_until(lambda: tablet.server_row(page, family).count() == 1, "confirmed", 60)
        finally:
            browser.close()

    mine = origin.call("GET", "/api/referrals/referrals?mine=true", "badge-1234").json()
    filed = next(r for r in mine["items"] if r["program_name"] == DEMO_AGENCY_NAME)
    hook = _webhook_for(project, filed["id"], "org.bridges.referral.requested.v1")
    event = Webhook(secret).verify(_body(hook), hook["headers"])
    assert event["data"]["referral_id"] == filed["id"]
    assert family.encode() not in _body(hook)

    staff = "staff-riverton-food-bank"
    opened = origin.call("POST", f"/api/referrals/referrals/{filed['id']}/received", staff)
    assert opened.status_code == 200, opened.text
    accepted = origin.call(
        "POST",
        f"/api/referrals/referrals/{filed['id']}/transitions",
        staff,
        json={"to": "accepted", "note": "We will call Tuesday."},
        headers={"If-Match": opened.headers["ETag"]},
    )
    assert accepted.status_code == 200, accepted.text
    seen = origin.call("GET", f"/api/referrals/referrals/{filed['id']}", "badge-1234").json()
    assert seen["status"] == "accepted"
    _webhook_for(project, filed["id"], "org.bridges.referral.accepted.v1")


def test_a_killed_service_comes_back_by_its_restart_policy_with_nothing_lost(
    project: ComposeProject, origin: Origin
):
    (before,) = project.containers("notifications")
    os.kill(before["State"]["Pid"], signal.SIGKILL)  # a crash, not a stop: the policy applies
    programs = origin.http.get(
        "/api/directory/services", params={"search": DEMO_AGENCY_NAME}
    ).json()["contents"]
    filed = origin.call(
        "POST",
        "/api/referrals/referrals",
        "badge-1234",
        json=intake([programs[0]["id"]]),
        headers={"Idempotency-Key": f"compose-{uuid.uuid4()}"},
    )
    assert filed.status_code == 201, filed.text
    referral_id = filed.json()["referrals"][0]["id"]

    def restarted() -> bool:
        (after,) = project.containers("notifications")
        health = after["State"].get("Health", {}).get("Status")
        return after["RestartCount"] > before["RestartCount"] and health == "healthy"

    wait_until(restarted, "notifications restarted by Docker and healthy", 180)
    # filed while notifications was down: its event waited in JetStream and is delivered now
    _webhook_for(project, referral_id, "org.bridges.referral.requested.v1")


def test_down_with_volumes_leaves_nothing_behind(project: ComposeProject):
    project.run("down", "-v", "--remove-orphans", "--timeout", "20")
    assert project.leftovers() == {"containers": [], "volumes": [], "networks": []}
