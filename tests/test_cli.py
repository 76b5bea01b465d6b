"""The ops command lines run against a real database (fresh schema each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

LOCAL_HOOKS = {"BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]'}


def _run(
    infra, isolation, service: str, *args: str, as_json: bool = True
) -> subprocess.CompletedProcess[str]:
    schema, namespace = isolation
    env = {**os.environ, **infra.env(service, schema, namespace), **LOCAL_HOOKS}
    return subprocess.run(
        [sys.executable, "-m", f"bridges_{service}", *(["--json"] if as_json else []), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_referrals_upkeep_commands(infra, isolation):
    purge = _run(infra, isolation, "referrals", "purge", as_json=False)
    verify = _run(infra, isolation, "referrals", "audit-verify", as_json=False)
    assert purge.returncode == 0, purge.stderr
    assert "purged client data of 0 case(s)" in purge.stdout
    assert verify.returncode == 0 and "audit log intact: 0 entries" in verify.stdout
    as_json = _run(infra, isolation, "referrals", "audit-verify")
    assert json.loads(as_json.stdout) == {"ok": True, "entries": 0, "first_bad_id": None}


def test_lists_are_tables_for_people_and_json_for_scripts(infra, isolation):
    agency = str(uuid.uuid4())
    args = ("notifications", "endpoints", "add", "--agency", agency, "--url")
    _run(infra, isolation, *args, "http://127.0.0.1:9/hooks")
    table = _run(
        infra, isolation, "notifications", "endpoints", "list", "--agency", agency, as_json=False
    )
    assert table.returncode == 0, table.stderr
    assert "http://127.0.0.1:9/hooks" in table.stdout and "│" in table.stdout  # rich tables
    missing = _run(
        infra, isolation, "notifications", "deliveries", "show", "--id", str(uuid.uuid4())
    )
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")


def test_notifications_endpoint_and_delivery_commands(infra, isolation):
    agency = str(uuid.uuid4())
    notifications = ("notifications", "endpoints")
    added = _run(
        infra,
        isolation,
        *notifications,
        "add",
        "--agency",
        agency,
        "--url",
        "http://127.0.0.1:9/hooks",
    )
    refused = _run(
        infra,
        isolation,
        *notifications,
        "add",
        "--agency",
        agency,
        "--url",
        "http://10.0.0.7/hooks",
    )
    listed = _run(infra, isolation, *notifications, "list", "--agency", agency)
    endpoint_id = json.loads(added.stdout)["id"]
    paused = _run(infra, isolation, *notifications, "pause", "--id", endpoint_id)
    deliveries = _run(infra, isolation, "notifications", "deliveries", "list", "--status", "dead")
    mail = _run(
        infra,
        isolation,
        *notifications,
        "add-recipient",
        "--agency",
        agency,
        "--email",
        "intake@pantry.example.org",
        "--language",
        "es",
    )
    bad_mail = _run(
        infra,
        isolation,
        *notifications,
        "add-recipient",
        "--agency",
        agency,
        "--email",
        "not-an-address",
    )
    recipients = _run(infra, isolation, *notifications, "recipients", "--agency", agency)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["secret"].startswith("whsec_")
    assert refused.returncode == 2 and "not globally routable" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert [e["url"] for e in json.loads(listed.stdout)] == ["http://127.0.0.1:9/hooks"]
    assert json.loads(paused.stdout)["paused"] is True
    assert deliveries.returncode == 0 and json.loads(deliveries.stdout) == []
    assert mail.returncode == 0, mail.stderr
    assert bad_mail.returncode == 2 and "Traceback" not in bad_mail.stderr
    assert [(r["address"], r["language"]) for r in json.loads(recipients.stdout)] == [
        ("intake@pantry.example.org", "es")
    ]


def test_dead_letters_are_listed_shown_and_replayed_from_the_shell(infra, isolation):
    import asyncio

    import asyncpg

    from bridges_devstack.samples import service_upserted
    from bridges_kit import db
    from bridges_referrals.bootstrap import MIGRATIONS
    from bridges_schema import event_spec

    schema, namespace = isolation
    event = service_upserted(name="Parked Pantry")
    subject = event_spec(event).subject(namespace)  # a replay checks it as the consumer did

    async def park() -> None:
        dsn = infra.postgres_url("referrals")
        await db.migrate(dsn, schema, db.load_migrations(MIGRATIONS))
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        await conn.execute(
            """INSERT INTO dead_letters (consumer, subject, stream_sequence, event_id, payload,
                   error, deliveries) VALUES ('referrals-programs', $3, 1, $1, $2, 'bug', 5)""",
            event.id,
            event.model_dump_json().encode(),
            subject,
        )
        await conn.close()

    asyncio.run(park())
    listed = _run(infra, isolation, "referrals", "dead-letters", "list", "--open")
    [letter] = json.loads(listed.stdout)
    assert letter["event"]["data"]["name"] == "Parked Pantry" and letter["error"] == "bug"
    replayed = _run(
        infra, isolation, "referrals", "dead-letters", "replay", "--id", str(letter["id"])
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["replayed_at"]
    still_open = _run(infra, isolation, "referrals", "dead-letters", "list", "--open")
    missing = _run(infra, isolation, "referrals", "dead-letters", "show", "--id", "999999")
    assert json.loads(still_open.stdout) == []
    assert missing.returncode == 2 and "no dead letter" in missing.stderr


async def test_bridges_token_is_what_the_development_provider_would_issue(tmp_path, capsys):
    from bridges_devstack import identity
    from bridges_devstack.cli import main
    from bridges_devstack.demo import demo_users, write_demo_users
    from bridges_kit.auth import TokenVerifier, ensure_dev_keypair
    from bridges_kit.settings import ServiceSettings

    _, public_key = ensure_dev_keypair(tmp_path)
    users = demo_users()
    write_demo_users(tmp_path, users)
    issuer = "http://127.0.0.1:8104"
    (tmp_path / "stack.json").write_text(json.dumps({"identity": {"issuer": issuer}}))
    assert main(["token", "--role", "agency_staff", "--run-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    settings = ServiceSettings.from_env(identity.SERVICE_SETTINGS)
    verifier = TokenVerifier(
        public_key_pem=public_key.read_text(),
        issuer=issuer,
        audience=identity.API_AUDIENCE,
        mapping=settings.claim_mapping(),
    )
    staff = next(u for u in users if u.role.value == "agency_staff")
    who = await verifier.verify(f"Bearer {token}")
    assert (who.sub, who.role.value, str(who.agency_id)) == (
        staff.id,
        "agency_staff",
        staff.agency_id,
    )
