"""`bridges doctor`, `bridges backup` and `bridges restore` against real PostgreSQL and NATS, run
as an operator runs them (a separate process, the deployment named by the environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bridges_devstack.servers import EmbeddedNats, free_port
from bridges_devstack.testing import Infra, eventually
from bridges_kit import sealing
from bridges_schema import Role
from tests.conftest import Stack
from tests.scenario import FAMILY_NAME, create_program, intake, register_endpoint

pytestmark = pytest.mark.e2e
SERVICES = ("directory", "referrals", "notifications")


def deployment(infra: Infra, stack: Stack, **overrides: str) -> dict[str, str]:
    """The environment an operator sets: each service's database (and schema), NATS, the ring."""
    env = {
        "BRIDGES_NATS_URL": infra.nats_url,
        "BRIDGES_NATS_NAMESPACE": stack.namespace,
        "BRIDGES_DATA_KEY_FILE": str(infra.data_key_file),
    }
    for service in SERVICES:
        env[f"BRIDGES_{service.upper()}_DATABASE_URL"] = infra.postgres_url(service)
        env[f"BRIDGES_{service.upper()}_DB_SCHEMA"] = stack.namespace
    return {**env, **overrides}


def bridges(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGES_")}
    return subprocess.run(
        [sys.executable, "-m", "bridges_devstack", *args],
        env={**clean, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_doctor_finds_a_healthy_deployment_healthy(infra: Infra, module_stack: Stack):
    done = bridges(deployment(infra, module_stack), "--json", "doctor")
    findings = json.loads(done.stdout)
    by_area = {f["area"]: f for f in findings}
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [f for f in findings if f["status"] == "fail"]
    for service in SERVICES:
        assert by_area[f"PostgreSQL ({service})"]["status"] == "ok"
        assert by_area[f"migrations ({service})"]["says"].startswith("all ")
    assert by_area["NATS"]["status"] == "ok"
    assert by_area["data-key ring"]["status"] == "ok"
    assert any(f["area"].startswith("stream ") and "1 copy" in f["says"] for f in findings)
    assert by_area["identity provider"]["status"] == "warn"  # this deployment names none


def test_doctor_names_a_stopped_nats_and_how_to_start_it(
    infra: Infra, module_stack: Stack, tmp_path: Path
):
    stopped = EmbeddedNats(tmp_path / "nats", free_port())
    stopped.start()
    stopped.stop()
    env = deployment(infra, module_stack, BRIDGES_NATS_URL=stopped.url)
    done = bridges(env, "doctor")
    assert done.returncode == 1, done.stdout
    assert any("NATS" in line and "✘ fail" in line for line in done.stdout.splitlines())
    assert "Traceback" not in done.stderr
    findings = {f["area"]: f for f in json.loads(bridges(env, "--json", "doctor").stdout)}
    nats = findings["NATS"]
    assert nats["status"] == "fail" and stopped.url in nats["says"]
    assert "start NATS" in nats["fix"] and "docker compose up -d nats" in nats["fix"]
    assert findings["PostgreSQL (referrals)"]["status"] == "ok"  # only what is wrong is named


def test_doctor_names_a_database_left_unmigrated(infra: Infra, module_stack: Stack):
    fresh = f"t{uuid.uuid4().hex[:10]}"  # a schema no service has migrated
    env = deployment(infra, module_stack, BRIDGES_DIRECTORY_DB_SCHEMA=fresh)
    findings = {f["area"]: f for f in json.loads(bridges(env, "--json", "doctor").stdout)}
    assert findings["migrations (directory)"]["status"] == "fail"
    assert "bridges directory migrate" in findings["migrations (directory)"]["fix"]


async def _state(infra: Infra, schema: str) -> dict[str, Any]:
    """What must survive: every referral (status, version), its history, every delivery and
    attempt, the audit chain, the sealed cases."""
    queries = {
        "referrals": ("referrals", "SELECT id, status, version FROM referral ORDER BY id"),
        "history": ("referrals", "SELECT referral_id, to_status FROM referral_history ORDER BY id"),
        "cases": ("referrals", "SELECT id, data_key_id FROM referral_case ORDER BY id"),
        "deliveries": ("notifications", "SELECT id, status, attempts FROM delivery ORDER BY id"),
        "attempts": (
            "notifications",
            "SELECT delivery_id, status_code FROM delivery_attempt ORDER BY id",
        ),
        "services": ("directory", "SELECT id, name FROM service ORDER BY id"),
    }
    state: dict[str, Any] = {}
    for name, (database, sql) in queries.items():
        conn = await asyncpg.connect(
            infra.postgres_url(database), server_settings={"search_path": schema}
        )
        try:
            state[name] = [tuple(r.values()) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    return state


def _kept_apart(folder: Path, ring: Path, vault: Path) -> None:
    """The backup holds the databases, the stream state and a manifest; the ring is elsewhere,
    and no key is in any file of the backup."""
    assert sorted(p.name for p in folder.iterdir()) == [
        "directory.dump",
        "manifest.json",
        "notifications.dump",
        "referrals.dump",
        "streams.jsonl",
    ]
    assert ring.parent == vault
    key_bytes = sealing.read_key_file(ring).keys.values()
    assert not any(k in p.read_bytes() for p in folder.iterdir() for k in key_bytes)


async def _wipe(infra: Infra, schema: str) -> None:
    for database in SERVICES:
        conn = await asyncpg.connect(infra.postgres_url(database))
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


async def test_backup_wipe_restore_keeps_every_referral_and_delivery_and_sealed_data_opens(
    infra: Infra, stack: Stack, receiver, services_factory: Any, tmp_path: Path
):
    from tests.conftest import BUILDERS

    program = await create_program(stack)
    await register_endpoint(stack, receiver.url)
    filed = []
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        for n in range(3):
            answer = await c.post(
                "/referrals",
                json=intake([program["id"]]),
                headers={"Idempotency-Key": f"backup-{n}"},
            )
            assert answer.status_code == 201, answer.text
            filed.append(answer.json()["referrals"][0]["id"])
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        accepted = await c.post(
            f"/referrals/{filed[0]}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
        assert accepted.status_code == 200, accepted.text

    async def delivered() -> bool:
        return len(receiver.requests) >= 4  # three requested, one accepted

    await eventually(delivered, timeout_s=30)
    before = await _state(infra, stack.namespace)
    assert len(before["referrals"]) == 3 and len(before["deliveries"]) == 4

    env = deployment(infra, stack)
    backups, vault = tmp_path / "backups", tmp_path / "vault"
    refused = bridges(env, "backup", "--to", str(backups), "--keys-to", str(backups / "keys"))
    assert refused.returncode == 2 and "kept apart" in refused.stderr
    made = bridges(env, "--json", "backup", "--to", str(backups), "--keys-to", str(vault))
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    folder, ring = Path(manifest["backup_folder"]), Path(manifest["key_ring_file"])
    _kept_apart(folder, ring, vault)

    await _wipe(infra, stack.namespace)
    other_ring = tmp_path / "other-keys.json"
    sealing.write_key_file(other_ring, sealing.new_key_ring())
    wrong = bridges(env, "restore", "--from", str(folder), "--keys-from", str(other_ring))
    assert wrong.returncode == 2 and "not the key ring this backup was made with" in wrong.stderr
    restored = bridges(env, "--json", "restore", "--from", str(folder), "--keys-from", str(ring))
    assert restored.returncode == 0, restored.stderr

    assert await _state(infra, stack.namespace) == before
    # sealed data still opens: a fresh referrals process on the restored database shows the
    # family to the officer who filed it
    fresh = await services_factory(
        "referrals", BUILDERS["referrals"], schema=stack.namespace, namespace=stack.namespace
    )
    async with fresh.client(stack.token(Role.OFFICER)) as c:
        seen = await c.get(f"/referrals/{filed[0]}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["client"]["family_name"] == FAMILY_NAME
    assert seen.json()["status"] == "accepted"
