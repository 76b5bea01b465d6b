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

import pytest
from playwright.sync_api import sync_playwright
from standardwebhooks.webhooks import Webhook

from bridges_devstack.demo import DEMO_AGENCY_NAME, demo_agency_id, demo_users
from bridges_devstack.running import CHROMIUM, CHROMIUM_ARGS, AppStack
from tests.browser import tablet
from tests.compose.project import ComposeProject, Origin, running, wait_until

SERVICES = ("directory", "referrals", "notifications")
ONE_EACH = dict.fromkeys((*SERVICES, "nats", "postgres", "mailpit", "caddy", "idp", "receiver"), 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    project = ComposeProject(f"bridges-ct-{uuid.uuid4().hex[:6]}", tmp_path_factory.mktemp("ct"))
    with running(project, ONE_EACH):
        yield project


@pytest.fixture(scope="module")
def origin(project: ComposeProject) -> Origin:
    return Origin(project)


def test_every_container_is_hardened_and_the_migrations_ran_once(project: ComposeProject):
    for service in SERVICES:
        (c,) = project.containers(service)
        host = c["HostConfig"]
        assert c["Config"]["User"] == "10001:10001", service
        assert host["ReadonlyRootfs"] is True, service
        assert host["RestartPolicy"]["Name"] == "unless-stopped", service
        assert host["Memory"] > 0 and host["NanoCpus"] > 0 and host["PidsLimit"] > 0, service
        assert [cap.upper() for cap in host["CapDrop"]] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        env = "\n".join(c["Config"]["Env"])
        assert "PASSWORD=" not in env and "postgresql://bridges_" in env, service
        assert c["State"]["Health"]["Status"] == "healthy", service
        (migrate,) = project.containers(f"{service}-migrate", every=True)
        assert migrate["State"]["Status"] == "exited" and migrate["State"]["ExitCode"] == 0
    published = {
        c["Config"]["Labels"]["com.docker.compose.service"]
        for c in project.containers()
        if any((c["NetworkSettings"]["Ports"] or {}).values())
    }
    assert published == {"caddy", "idp"}  # idp: the test's stand-in provider, on 127.0.0.1
    print(
        f"hardened: {', '.join(SERVICES)} as 10001, read-only, limited, healthy; migrations exited 0"
    )


def test_the_ops_profile_runs_bridges_doctor_against_the_stack(project: ComposeProject):
    answer = project.run("--profile", "ops", "run", "--rm", "ops", "--json", "doctor", check=False)
    findings = {f["area"]: f for f in json.loads(answer)}
    for service in SERVICES:
        assert findings[f"PostgreSQL ({service})"]["status"] == "ok", findings
        assert findings[f"migrations ({service})"]["status"] == "ok", findings
    assert findings["NATS"]["status"] == "ok" and findings["data-key ring"]["status"] == "ok"
    # the test's provider answers the browser on 127.0.0.1 only: not from inside a container
    print("bridges doctor in the ops container: databases, migrations, NATS, key ring ok")


# run inside the compose network (the ops image): how NATS answers a client with no key, and a
# client that will not speak TLS
BUS_PROBE = """
import asyncio, ssl, nats
async def attempt(url, **options):
    try:
        await nats.connect(url, allow_reconnect=False, connect_timeout=3, **options)
        return "connected"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
async def main():
    tls = ssl.create_default_context(cafile="/run/secrets/nats_ca")
    print("no key:", await attempt("tls://nats:4222", tls=tls))
    print("no TLS:", await attempt("nats://nats:4222", nkeys_seed="/run/secrets/nats_ops_nkey"))
asyncio.run(main())
"""


def test_the_bus_refuses_a_client_without_a_key_or_without_tls(project: ComposeProject):
    answer = project.run(
        "--profile", "ops", "run", "--rm", "--entrypoint", "python", "ops", "-c", BUS_PROBE
    )
    said = dict(line.split(": ", 1) for line in answer.strip().splitlines() if ": " in line)
    assert "Authorization Violation" in said["no key"], answer
    assert said["no TLS"] != "connected", answer
    print(f"NATS in compose: {said}")


def test_an_officer_files_a_referral_in_chromium_and_the_agency_accepts_it(
    project: ComposeProject, origin: Origin
):
    assert "<title>" in origin.http.get("/app/").text
    assert origin.http.get("/app/config.json").json()["directory_url"] == "/api/directory"
    secret = origin.register_receiver(demo_agency_id())

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
    print(f"Dana Reyes filed referral {filed['id']} in Chromium at {app.app_url}")
    hook = project.webhook_for(filed["id"], "org.bridges.referral.requested.v1")
    event = Webhook(secret).verify(hook["body"], hook["headers"])
    assert event["data"]["referral_id"] == filed["id"]
    assert family.encode() not in hook["body"]
    print("its webhook's signature verifies with the endpoint's secret; no family data in it")

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
    project.webhook_for(filed["id"], "org.bridges.referral.accepted.v1")
    print("Lee Chen accepted it through the same origin; the officer sees 'accepted'")


def test_a_killed_service_comes_back_by_its_restart_policy_with_nothing_lost(
    project: ComposeProject, origin: Origin
):
    (before,) = project.containers("notifications")
    os.kill(before["State"]["Pid"], signal.SIGKILL)  # a crash, not a stop: the policy applies
    print(f"killed notifications (SIGKILL to pid {before['State']['Pid']})")
    referral_id = origin.file_by_api(DEMO_AGENCY_NAME)

    def restarted() -> bool:
        (after,) = project.containers("notifications")
        health = after["State"].get("Health", {}).get("Status")
        return after["RestartCount"] > before["RestartCount"] and health == "healthy"

    wait_until(restarted, "notifications restarted by Docker and healthy", 180)
    (after,) = project.containers("notifications")
    print(
        f"restart policy brought notifications back (restarts {before['RestartCount']} -> {after['RestartCount']}), healthy"
    )
    # filed while notifications was down: its event waited in JetStream and is delivered now
    project.webhook_for(referral_id, "org.bridges.referral.requested.v1")
    ids = [h["headers"]["webhook-id"] for h in project.webhooks()]
    assert len(ids) == len(set(ids)), "a webhook was delivered twice"
    assert json.loads(project.webhooks()[-1]["body"])["data"]["referral_id"] == referral_id


def test_down_with_volumes_leaves_nothing_behind(project: ComposeProject):
    project.run("down", "-v", "--remove-orphans", "--timeout", "20")
    left = project.leftovers()
    assert left == {"containers": [], "volumes": [], "networks": []}
    print(f"after down -v: {left}")
