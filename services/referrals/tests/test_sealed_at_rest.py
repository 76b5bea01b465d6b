"""Families' data at rest in the referrals database: sealed in every row and every file of the
server (heap and WAL), readable only through the use cases, and gone for good when consent is
withdrawn or the retention period ends."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from bridges_kit import db
from bridges_kit.sealing import KeyRingInvalid, NotAuthentic, new_key_ring, read_key_file
from bridges_referrals import bootstrap, data_keys, intake_fingerprints, privacy
from bridges_referrals.bootstrap import ReferralsSettings
from bridges_referrals.models import FileReferral
from bridges_schema import REFERENCE_PATTERN, Role

Desk = Any  # the `desk` fixture (conftest): a referrals service with two agencies' programs


def _markers() -> dict[str, str]:
    """A word no one else writes, in every place a family's data goes."""
    t = uuid.uuid4().hex
    return {
        "given_name": f"Amara{t}",
        "family_name": f"Okafor{t}",
        "phone": f"+1 {int(t[:10], 16) % 10**10:010d}",
        "email": f"family{t}@example.org",
        "best_time": f"after six {t}",
        "member_given_name": f"Tomas{t}",
        "member_family_name": f"Child{t}",
        "relationship": f"son{t}",
        "situation": f"Evicted on Friday {t}",
        "guardian": f"Guardian{t}",
        "agency_note": f"Called the family back {t}",
        "cancel_note": f"Family found another program {t}",
        "withdrawal_note": f"Mother called, moved away {t}",
    }


def _intake(desk: Desk, programs: list[uuid.UUID], m: dict[str, str]) -> dict[str, Any]:
    body = desk.intake(programs)
    body["client"].update(given_name=m["given_name"], family_name=m["family_name"])
    body["client"]["contact"].update(phone=m["phone"], email=m["email"], best_time=m["best_time"])
    body["client"]["household"] = [
        {
            "given_name": m["member_given_name"],
            "family_name": m["member_family_name"],
            "relationship": m["relationship"],
            "age": 3,
        }
    ]
    body["situation"] = m["situation"]
    body["consent"].update(given_by="guardian", given_by_name=m["guardian"])
    return body


async def _file(desk: Desk, body: dict[str, Any]) -> dict[str, Any]:
    async with desk.client(Role.OFFICER) as c:
        filed = await c.post("/referrals", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert filed.status_code == 201, filed.text
    return filed.json()


async def _casework_with_markers(desk: Desk, m: dict[str, str]) -> dict[str, Any]:
    """Every path that stores a family's words: intake, an agency's note, an officer's note,
    and a withdrawal with a note (on a second case)."""
    first = await _file(desk, _intake(desk, [desk.program_a, desk.program_b], m))
    accepted, cancelled = first["referrals"]
    async with desk.client(Role.AGENCY_STAFF) as c:
        moved = await c.post(
            f"/referrals/{accepted['id']}/transitions",
            json={"to": "accepted", "note": m["agency_note"]},
            headers={"If-Match": '"1"'},
        )
        assert moved.status_code == 200, moved.text
    async with desk.client(Role.OFFICER) as c:
        moved = await c.post(
            f"/referrals/{cancelled['id']}/transitions",
            json={"to": "cancelled", "reason": "client-declined", "note": m["cancel_note"]},
            headers={"If-Match": '"1"'},
        )
        assert moved.status_code == 200, moved.text
    second = await _file(desk, _intake(desk, [desk.program_a], m))
    async with desk.client(Role.OFFICER) as c:
        withdrawn = await c.post(
            f"/cases/{second['case_id']}/consent/withdrawal", json={"note": m["withdrawal_note"]}
        )
        assert withdrawn.status_code == 200, withdrawn.text
    return first


def _found(markers: dict[str, str], value: Any) -> set[str]:
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode()
    else:
        raw = json.dumps(value, default=str).encode()
    return {name for name, marker in markers.items() if marker.encode() in raw}


async def test_no_row_of_the_referrals_database_holds_a_familys_words(desk):
    m = _markers()
    first = await _casework_with_markers(desk, m)
    schema = desk.service.env["BRIDGES_DB_SCHEMA"]
    tables = [
        r["table_name"]
        for r in await desk.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
    ]
    assert {"referral_case", "consent", "referral_history", "outbox", "audit_log"} <= set(tables)
    leaks: dict[str, set[str]] = {}
    for table in tables:
        for row in await desk.pool.fetch(f'SELECT * FROM "{schema}"."{table}"'):
            for column, value in row.items():
                if found := _found(m, value):
                    leaks.setdefault(f"{table}.{column}", set()).update(found)
    assert leaks == {}
    # ...and the filing officer reads them all back, through the use case
    async with desk.client(Role.OFFICER) as c:
        view = (await c.get(f"/referrals/{first['referrals'][0]['id']}")).json()
        cancelled = (await c.get(f"/referrals/{first['referrals'][1]['id']}")).json()
    shown = _found(m, view) | _found(m, cancelled)
    assert shown == set(m) - {"withdrawal_note"}


async def test_no_file_of_the_database_server_holds_a_familys_words(desk):
    """The raw pages: the heap after a checkpoint and the write-ahead log (and the server's log).
    A word written to a plain table in the same run is found, so the scan does see the pages."""
    postgres = desk.infra.postgres
    if postgres is None:
        pytest.skip("an external PostgreSQL: its files are not ours to read")
    m = _markers()
    await _casework_with_markers(desk, m)
    control = f"control-{uuid.uuid4().hex}"
    await desk.pool.execute("CREATE TABLE plain_control (word text)")
    await desk.pool.execute("INSERT INTO plain_control VALUES ($1)", control)
    await desk.pool.execute("CHECKPOINT")
    wanted = {**{name: marker.encode() for name, marker in m.items()}, "control": control.encode()}
    seen = await asyncio.to_thread(_scan, Path(postgres.data_dir), wanted)
    assert "control" in seen, "the scan did not find a word stored in plain: it proves nothing"
    assert set(seen) == {"control"}, seen


def _scan(data_dir: Path, wanted: dict[str, bytes]) -> dict[str, set[str]]:
    """Which words are in which files under `data_dir`."""
    seen: dict[str, set[str]] = {}
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any("pg_wal" in p.parts for p in files) and any("base" in p.parts for p in files)
    for path in files:
        try:
            content = path.read_bytes()
        except OSError:  # a file removed meanwhile (a recycled WAL segment)
            continue
        for name, word in wanted.items():
            if word in content:
                seen.setdefault(name, set()).add(str(path.relative_to(data_dir)))
    return seen


async def _sealed_columns(desk: Desk, case_id: uuid.UUID) -> dict[str, Any]:
    row = await desk.pool.fetchrow(
        """SELECT c.data_key, c.data_key_id, c.client, c.situation, k.given_by_name,
               k.withdrawal_note,
               (SELECT count(*) FROM referral_history h JOIN referral r ON r.id = h.referral_id
                WHERE r.case_id = c.id AND h.note IS NOT NULL) AS notes
           FROM referral_case c JOIN consent k ON k.case_id = c.id WHERE c.id = $1""",
        case_id,
    )
    return dict(row)


async def test_withdrawal_destroys_the_case_key_and_keeps_only_the_note_under_a_new_one(desk):
    m = _markers()
    filed = await _file(desk, _intake(desk, [desk.program_a], m))
    case_id, referral_id = uuid.UUID(filed["case_id"]), filed["referrals"][0]["id"]
    async with desk.client(Role.AGENCY_STAFF) as c:
        await c.post(
            f"/referrals/{referral_id}/transitions",
            json={"to": "accepted", "note": m["agency_note"]},
            headers={"If-Match": '"1"'},
        )
    before = await _sealed_columns(desk, case_id)
    assert before["client"] and before["data_key"] and before["notes"] == 1
    async with desk.client(Role.OFFICER) as c:
        withdrawn = await c.post(
            f"/cases/{case_id}/consent/withdrawal", json={"note": m["withdrawal_note"]}
        )
        assert withdrawn.status_code == 200
        view = (await c.get(f"/referrals/{referral_id}")).json()
    after = await _sealed_columns(desk, case_id)
    assert (after["client"], after["situation"], after["given_by_name"]) == (None, None, None)
    assert after["notes"] == 0 and after["withdrawal_note"] is not None
    assert after["data_key"] != before["data_key"]
    ring = read_key_file(desk.infra.data_key_file)
    new_key = ring.unwrap(str(case_id), after["data_key"])
    with pytest.raises(NotAuthentic):  # a copy of the family's data kept elsewhere stays shut
        new_key.open_json("client", before["client"])
    old_key = ring.unwrap(str(case_id), before["data_key"])
    assert old_key.open_json("client", before["client"])["given_name"] == m["given_name"]
    # the family is gone for the officer too; the record of the withdrawal stays with the officer
    assert view["client"] is None and view["situation"] is None
    assert view["consent"]["given_by_name"] is None
    assert view["consent"]["withdrawal_note"] == m["withdrawal_note"]
    assert all(h["note"] is None for h in view["history"])


async def test_withdrawal_without_a_note_leaves_the_case_no_key(desk):
    filed = await desk.file()
    case_id = uuid.UUID(filed["case_id"])
    async with desk.client(Role.OFFICER) as c:
        assert (await c.post(f"/cases/{case_id}/consent/withdrawal", json={})).status_code == 200
        view = (await c.get(f"/referrals/{filed['referrals'][0]['id']}")).json()
    after = await _sealed_columns(desk, case_id)
    assert after["data_key"] is None and after["data_key_id"] is None
    assert after["withdrawal_note"] is None and view["client"] is None


async def test_retention_destroys_the_case_key(desk):
    m = _markers()
    filed = await _file(desk, _intake(desk, [desk.program_a], m))
    case_id, referral_id = uuid.UUID(filed["case_id"]), filed["referrals"][0]["id"]
    async with desk.client(Role.AGENCY_STAFF) as c:
        for version, to in enumerate(["accepted", "completed"], start=1):
            await c.post(
                f"/referrals/{referral_id}/transitions",
                json={"to": to, "note": m["agency_note"]},
                headers={"If-Match": f'"{version}"'},
            )
    async with desk.client(Role.OFFICER) as c:
        await c.post(f"/cases/{case_id}/consent/withdrawal", json={"note": m["withdrawal_note"]})
    await desk.pool.execute("UPDATE referral SET closed_at = now() - interval '400 days'")
    assert await privacy.purge_all(desk.service.runtime.uow, timedelta(days=365)) == 1
    after = await _sealed_columns(desk, case_id)
    assert after == {
        "data_key": None,
        "data_key_id": None,
        "client": None,
        "situation": None,
        "given_by_name": None,
        "withdrawal_note": None,
        "notes": 0,
    }
    async with desk.client(Role.OFFICER) as c:
        view = (await c.get(f"/referrals/{referral_id}")).json()
    assert view["status"] == "completed" and view["consent"]["withdrawal_note"] is None
    async with desk.pool.acquire() as conn:
        assert (await data_keys.usage(conn)).erased == 1


async def _fingerprint(desk: Desk, key: str) -> asyncpg.Record:
    row: asyncpg.Record = await desk.pool.fetchrow(
        "SELECT request_hash, case_id FROM idempotency_key WHERE key = $1", key
    )
    return row


async def test_an_intakes_fingerprint_is_keyed_and_erased_when_consent_is_withdrawn(desk):
    m = _markers()
    ring = read_key_file(desk.infra.data_key_file)
    keys = {"read first": f"fp-{uuid.uuid4().hex}", "one statement": f"fp-{uuid.uuid4().hex}"}
    bodies = {path: _intake(desk, [desk.program_a], m) for path in keys}
    # the program changed since this process read it (as on another replica): the first intake
    # reads first; the second, for the program just read, is written in one statement
    await desk.pool.execute(
        "UPDATE program SET version = version + 1 WHERE service_id = $1", desk.program_a
    )
    async with desk.client(Role.OFFICER) as c:
        filed = {
            path: await c.post("/referrals", json=bodies[path], headers={"Idempotency-Key": key})
            for path, key in keys.items()
        }
    for path, key in keys.items():
        assert filed[path].status_code == 201, filed[path].text
        stored = await _fingerprint(desk, key)
        request = FileReferral.model_validate(bodies[path])
        # a dump holding the family's details cannot confirm them without the key ring
        unkeyed = hashlib.sha256(intake_fingerprints.canonical(request).encode()).hexdigest()
        assert stored["request_hash"] != unkeyed
        assert stored["request_hash"].startswith(f"{ring.active}:")
        assert intake_fingerprints.IntakeFingerprints(ring).matches(stored["request_hash"], request)
        assert str(stored["case_id"]) == filed[path].json()["case_id"]
    key, body = keys["one statement"], bodies["one statement"]
    case_id = filed["one statement"].json()["case_id"]
    async with desk.client(Role.OFFICER) as c:
        retried = await c.post("/referrals", json=body, headers={"Idempotency-Key": key})
        assert retried.status_code == 200 and retried.json()["case_id"] == case_id
        assert (await c.post(f"/cases/{case_id}/consent/withdrawal", json={})).status_code == 200
        assert (await _fingerprint(desk, key))["request_hash"] is None
        assert (await _fingerprint(desk, keys["read first"]))["request_hash"] is not None
        cases = await desk.pool.fetchval("SELECT count(*) FROM referral_case")
        # the tablet retrying the withdrawn intake files nothing again
        again = await c.post("/referrals", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 422, again.text
        assert await desk.pool.fetchval("SELECT count(*) FROM referral_case") == cases


async def test_an_intakes_fingerprint_is_erased_at_the_end_of_retention(desk):
    key = f"fp-{uuid.uuid4().hex}"
    async with desk.client(Role.OFFICER) as c:
        filed = await c.post(
            "/referrals", json=desk.intake([desk.program_a]), headers={"Idempotency-Key": key}
        )
        assert filed.status_code == 201, filed.text
    assert (await _fingerprint(desk, key))["request_hash"] is not None
    await desk.pool.execute("UPDATE referral SET closed_at = now() - interval '400 days'")
    assert await privacy.purge_all(desk.service.runtime.uow, timedelta(days=365)) >= 1
    assert (await _fingerprint(desk, key))["request_hash"] is None


async def test_a_note_moved_to_another_entry_does_not_open(desk):
    filed = await desk.file()
    referral_id = filed["referrals"][0]["id"]
    async with desk.client(Role.AGENCY_STAFF) as c:
        for version, (to, note) in enumerate([("accepted", "first"), ("in-progress", "second")], 1):
            await c.post(
                f"/referrals/{referral_id}/transitions",
                json={"to": to, "note": note},
                headers={"If-Match": f'"{version}"'},
            )
    # someone with write access to the database swaps a sealed note onto another entry
    await desk.pool.execute(
        """UPDATE referral_history SET note = (SELECT note FROM referral_history
               WHERE referral_id = $1 AND version = 2)
           WHERE referral_id = $1 AND version = 3""",
        uuid.UUID(referral_id),
    )
    async with desk.client(Role.AGENCY_STAFF) as c:
        refused = await c.get(f"/referrals/{referral_id}/history")
    assert refused.status_code == 500 and "first" not in refused.text


# -- data stored before sealing ----------------------------------------------------------------


async def test_data_stored_before_sealing_is_sealed_when_the_service_starts(
    infra, isolation, start_referrals, tmp_path
):
    """A database of the version before (migrations 001-004) with a family in plain text: the
    upgraded service seals it at start-up, and it reads the same; the referral got a reference
    and the family's name its blind index (made at start-up, after sealing)."""
    schema, _ = isolation
    old = tmp_path / "migrations"
    old.mkdir()
    for path in sorted(bootstrap.MIGRATIONS.glob("00[1-4]_*.sql")):
        shutil.copy(path, old / path.name)
    dsn = infra.postgres_url("referrals")
    await db.migrate(dsn, schema, db.load_migrations(old))
    m = _markers()
    case_id, referral_id, program_id, agency = (uuid.uuid4() for _ in range(4))
    client = {"given_name": m["given_name"], "family_name": m["family_name"], "contact": {}}
    conn = await db.connect(dsn, schema)
    try:
        await conn.execute(
            """INSERT INTO referral_case (id, officer_id, client, situation, need_codes, urgency)
               VALUES ($1, 'badge-old', $2::text::jsonb, $3, '{food.pantry}', 'high')""",
            case_id,
            json.dumps(client),
            m["situation"],
        )
        await conn.execute(
            """INSERT INTO consent (id, case_id, given_by, given_by_name, method, given_at,
                   scopes, recorded_by)
               VALUES ($1, $1, 'guardian', $2, 'verbal', now(), '{contact,situation}', 'badge-old')""",
            case_id,
            m["guardian"],
        )
        await conn.execute(
            """INSERT INTO referral (id, case_id, program_id, agency_id, officer_id, status,
                   urgency, respond_by) VALUES ($1, $2, $3, $4, 'badge-old', 'requested', 'high',
                   now() + interval '1 day')""",
            referral_id,
            case_id,
            program_id,
            agency,
        )
        await conn.execute(
            """INSERT INTO referral_history (referral_id, to_status, version, actor_id,
                   actor_role, note) VALUES ($1, 'requested', 1, 'badge-old', 'officer', $2)""",
            referral_id,
            m["agency_note"],
        )
    finally:
        await conn.close()

    service = await start_referrals({})
    pool = service.runtime.pool
    rows = await pool.fetch(
        """SELECT c.client, c.situation, c.data_key_id, k.given_by_name, h.note
           FROM referral_case c JOIN consent k ON k.case_id = c.id
           JOIN referral r ON r.case_id = c.id JOIN referral_history h ON h.referral_id = r.id"""
    )
    assert len(rows) == 1 and rows[0]["data_key_id"] == read_key_file(infra.data_key_file).active
    assert all(_found(m, value) == set() for value in rows[0].values())
    assert await pool.fetchval("SELECT count(*) FROM unsealed_case") == 0
    officer = infra.token(Role.OFFICER, sub="badge-old")
    async with service.client(officer) as c:
        view = (await c.get(f"/referrals/{referral_id}")).json()
    assert view["client"]["given_name"] == m["given_name"]
    assert view["situation"] == m["situation"]
    assert view["consent"]["given_by_name"] == m["guardian"]
    assert view["history"][0]["note"] == m["agency_note"]
    assert re.fullmatch(REFERENCE_PATTERN, view["reference"])
    assert await pool.fetchval("SELECT count(*) FROM unindexed_case") == 0
    async with service.client(officer) as c:
        found = (await c.get("/referrals", params={"q": m["family_name"]})).json()["items"]
    assert [r["id"] for r in found] == [str(referral_id)]


# -- the key ring in the settings ----------------------------------------------------------------


PRODUCTION = {
    "environment": "production",
    "jwt_public_key": "-----BEGIN PUBLIC KEY-----",
    "public_url": "https://referrals.example.org",
    "nats_url": "tls://nats:4222",
    "nats_nkey_seed_file": "/run/secrets/nats_referrals_nkey",
}


def test_production_refuses_to_start_without_a_key_ring(tmp_path):
    with pytest.raises(ValidationError, match="key ring that seals families' data"):
        ReferralsSettings(**PRODUCTION)
    ring = new_key_ring("k1")
    assert ReferralsSettings(**PRODUCTION, data_keys=ring.to_json()).key_ring() == ring
    with pytest.raises(ValidationError, match="give the key ring once"):
        ReferralsSettings(data_keys=ring.to_json(), data_key_file=tmp_path / "keys.json")


def test_the_key_ring_comes_from_a_file_or_a_secret_setting(tmp_path):
    ring = new_key_ring("k1")
    env = {"BRIDGES_DATA_KEYS": ring.to_json()}  # JSON in the environment, as a secret store gives
    assert ReferralsSettings.from_env(env).key_ring() == ring
    with pytest.raises(KeyRingInvalid, match="no key ring"):
        ReferralsSettings().key_ring()
    with pytest.raises(KeyRingInvalid, match="BRIDGES_DATA_KEYS: not JSON"):
        ReferralsSettings(data_keys="k1=abc").key_ring()
    with pytest.raises(KeyRingInvalid, match="cannot read the key file"):
        ReferralsSettings(data_key_file=tmp_path / "missing.json").key_ring()
    secret = base64.b64encode(ring.keys["k1"]).decode()
    assert secret not in repr(ReferralsSettings(data_keys=ring.to_json()))


def test_production_signs_the_app_in_over_https_only():
    production = {**PRODUCTION, "data_keys": new_key_ring("k1").to_json()}
    authority = "https://id.example.org/realms/bridges"
    assert ReferralsSettings(**production, app_oidc_authority=authority).app_oidc_authority
    with pytest.raises(ValidationError, match="https:// URL in BRIDGES_APP_OIDC_AUTHORITY"):
        ReferralsSettings(**production, app_oidc_authority="http://id.example.org/realms/b")
    stand_in = {"app_oidc_authority": "http://127.0.0.1:8104", "allow_http_identity_provider": True}
    assert ReferralsSettings(**production, **stand_in).app_oidc_authority  # the compose test's
