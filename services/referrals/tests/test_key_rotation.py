"""Rotating the key-encryption keys that wrap each case's data key, while the service runs: every
case moves to the new key, everything still reads, families' names are still found (their blind
index is rewritten under the new key), and an old key can go only once unused."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from bridges_devstack.samples import consent, intake_body
from bridges_devstack.servers import free_port
from bridges_kit.sealing import KeyRing, new_key_ring, read_key_file, write_key_file
from bridges_referrals import data_keys
from bridges_referrals.bootstrap import ReferralsSettings, build_runtime
from bridges_referrals.domain import Program
from bridges_referrals.repository import SqlPrograms
from bridges_schema import Role

OFFICER = "badge-rotation"


async def _program(pool: Any) -> uuid.UUID:
    service_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await SqlPrograms(conn).apply(
            Program(
                service_id=service_id,
                version=1,
                name="Rotation Pantry",
                organization_name="Test Org",
                agency_id=uuid.uuid4(),
                status="active",
                accepting_referrals=True,
                capacity_status="available",
                taxonomy_codes=("food.pantry",),
            )
        )
    return service_id


def _intake(program: uuid.UUID, name: str) -> dict[str, Any]:
    return intake_body(
        [program],
        client={
            "given_name": name,
            "family_name": "Rotation",
            "contact": {"safe_to_leave_message": True},
        },
        situation=f"situation of {name}",
        urgency="routine",
        consent=consent("contact", "situation"),
    )


async def _file(service: Any, token: str, program: uuid.UUID, names: list[str]) -> dict[str, str]:
    """File one case per name, side by side; returns each name's referral id."""

    async def one(name: str) -> tuple[str, str]:
        async with service.client(token) as c:
            response = await c.post(
                "/referrals",
                json=_intake(program, name),
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
        assert response.status_code == 201, response.text
        return name, response.json()["referrals"][0]["id"]

    return dict(await asyncio.gather(*(one(name) for name in names)))


async def _read_all(service: Any, token: str, filed: dict[str, str]) -> None:
    async with service.client(token) as c:
        for name, referral_id in filed.items():
            view = (await c.get(f"/referrals/{referral_id}")).json()
            assert view["client"]["given_name"] == name
            assert view["situation"] == f"situation of {name}"


async def test_rotation_while_intake_runs_moves_every_case_to_the_new_key(
    infra, start_referrals, tmp_path
):
    keys = tmp_path / "data-keys.json"
    old_ring = new_key_ring("old")
    write_key_file(keys, old_ring)
    env = {"BRIDGES_DATA_KEY_FILE": str(keys)}
    token = infra.token(Role.OFFICER, sub=OFFICER)
    before = await start_referrals(env)
    program = await _program(before.runtime.pool)
    filed = await _file(before, token, program, [f"Before{i}" for i in range(12)])

    # ops add a key and make it active, then restart the service (a new replica, the old one
    # stopped): new cases are wrapped under it, old ones still open under the old key
    new_ring = old_ring.with_new_key("new", activate=True)
    write_key_file(keys, new_ring)
    service = await start_referrals(env)
    await before.stop()
    progress: list[tuple[str, int, int]] = []

    async def casework_meanwhile() -> dict[str, str]:
        during = await _file(service, token, program, [f"During{i}" for i in range(12)])
        await _read_all(service, token, filed)
        return during

    rotation, during = await asyncio.gather(
        data_keys.rotate(
            service.runtime.pool, new_ring, batch=5, progress=lambda *p: progress.append(p)
        ),
        casework_meanwhile(),
    )
    assert rotation.rewrapped == 12 and progress[-1] == ("old", 12, 12) and len(progress) >= 3
    assert rotation.reindexed == 12
    async with service.runtime.pool.acquire() as conn:
        usage = await data_keys.usage(conn)
    assert usage.by_key == {"new": 24} and usage.erased == 0
    assert usage.names_by_key == {"new": 24}
    again = await data_keys.rotate(service.runtime.pool, new_ring)
    assert (again.rewrapped, again.reindexed) == (0, 0)  # nothing left to do

    # the old key is no longer needed: a service without it reads every case
    only_new = tmp_path / "only-new.json"
    write_key_file(only_new, KeyRing({"new": new_ring.keys["new"]}, "new"))
    after = await start_referrals({"BRIDGES_DATA_KEY_FILE": str(only_new)})
    await _read_all(after, token, {**filed, **during})
    async with after.client(token) as c:
        found = (await c.get("/referrals", params={"q": "before3 rotation"})).json()["items"]
    assert [r["id"] for r in found] == [filed["Before3"]]  # indexed under the old key at first


async def test_a_key_still_needed_cannot_be_removed_from_the_ring(
    infra, isolation, start_referrals, tmp_path
):
    keys = tmp_path / "data-keys.json"
    write_key_file(keys, new_key_ring("old"))
    service = await start_referrals({"BRIDGES_DATA_KEY_FILE": str(keys)})
    await _file(
        service,
        infra.token(Role.OFFICER, sub=OFFICER),
        await _program(service.runtime.pool),
        ["Kept"],
    )
    write_key_file(keys, new_key_ring("new"))  # "old" dropped before any rotation
    schema, namespace = isolation
    env = {**infra.env("referrals", schema, namespace), "BRIDGES_DATA_KEY_FILE": str(keys)}
    runtime = build_runtime(ReferralsSettings.from_env(env))
    with pytest.raises(data_keys.DataKeysMissing, match=r"'old' \(1 cases\).*keys rotate"):
        await runtime.open_database()
    served = await asyncio.to_thread(
        _referrals_command, {**env, "BRIDGES_HTTP_PORT": str(free_port())}, "serve"
    )
    assert served.returncode != 0 and "lacks key-encryption keys" in served.stderr


def _keys_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _referrals_command(env, "keys", *args)


def _referrals_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridges_referrals", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_ops_add_a_key_rotate_and_see_when_the_old_one_may_go(
    infra, isolation, start_referrals, tmp_path
):
    keys = tmp_path / "secrets" / "data-keys.json"
    schema, namespace = isolation
    env = {**infra.env("referrals", schema, namespace), "BRIDGES_DATA_KEY_FILE": str(keys)}
    created = await asyncio.to_thread(_keys_command, env, "add", "--id", "2026-01")
    assert created.returncode == 0, created.stderr
    service = await start_referrals({"BRIDGES_DATA_KEY_FILE": str(keys)})
    program = await _program(service.runtime.pool)
    await _file(service, infra.token(Role.OFFICER, sub=OFFICER), program, ["One", "Two", "Three"])

    added = await asyncio.to_thread(_keys_command, env, "add", "--id", "2026-07", "--activate")
    status = await asyncio.to_thread(_keys_command, env, "status")
    rotated = await asyncio.to_thread(_keys_command, env, "rotate", "--batch", "2")
    missing = await asyncio.to_thread(
        _keys_command, {**env, "BRIDGES_DATA_KEY_FILE": str(tmp_path / "none.json")}, "status"
    )
    assert added.returncode == 0 and "active '2026-07'" in added.stdout
    assert read_key_file(keys).active == "2026-07" and set(read_key_file(keys).keys) == {
        "2026-01",
        "2026-07",
    }
    assert status.returncode == 0, status.stderr
    # cases, then names indexed, under each key
    assert _row(status.stdout, "2026-01") == ["3", "3", "in", "use:", "run", "`keys", "rotate`"]
    assert _row(status.stdout, "2026-07") == ["0", "0", "active"]
    assert rotated.returncode == 0, rotated.stderr
    assert "2026-01 -> 2026-07" in rotated.stderr and "3/3" in rotated.stderr  # its progress
    assert "re-wrapped 3 case key(s) under '2026-07'" in rotated.stdout
    assert "re-indexed 3 family name(s) under '2026-07'" in rotated.stdout
    assert _row(rotated.stdout, "2026-01") == ["0", "0", "unused:", "may", "be", "removed"]
    assert _row(rotated.stdout, "2026-07") == ["3", "3", "active"]
    assert missing.returncode == 2 and "cannot read the key file" in missing.stderr


def _row(table: str, key_id: str) -> list[str]:
    for line in table.splitlines():
        if line.startswith(key_id + " "):
            return line.split()[1:]
    raise AssertionError(f"no row for {key_id} in:\n{table}")


@pytest.mark.integration  # the service's own process
def test_the_key_file_stays_readable_by_its_owner_only(tmp_path: Path):
    keys = tmp_path / "data-keys.json"
    done = _keys_command({"BRIDGES_DATA_KEY_FILE": str(keys)}, "add")
    assert done.returncode == 0, done.stderr
    assert keys.stat().st_mode & 0o077 == 0
    assert len(read_key_file(keys).keys) == 1
