"""The bus is not trusted by reachability. On a nats-server configured as `bridges up` and compose
configure it (bridges_devstack.bus_users): an anonymous client is refused; a service's user may
not publish another's events, nor read another's consumer; the three services work end to end
as their own users; the ops tools sign in with the ops key. And whoever holds a key, the
consumers still refuse what no producer sends: the probe's forged `service.upserted` (an existing
program, version 1001, another agency) changes nothing, and real updates still apply after it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from bridges_devstack import bus_users
from bridges_devstack.samples import service_upserted
from bridges_devstack.servers import EmbeddedNats, free_port
from bridges_devstack.testing import Infra, RunningService, eventually, fresh_name
from bridges_kit.bus import BusLogin
from bridges_schema import SERVICE_UPSERTED, Role, Streams
from tests.conftest import Stack, start_stack
from tests.scenario import create_program, intake, program, register_endpoint
from tests.test_ops_cli import SERVICES, bridges, deployment

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class SecuredBus:
    """A nats-server that admits the Bridges users of `namespace` only."""

    server: EmbeddedNats
    keys: Path
    namespace: str

    def login(self, user: str) -> BusLogin:
        return BusLogin(user, nkey_seed_file=bus_users.seed_file(self.keys, user))

    def settings(self, user: str) -> dict[str, str]:
        return {
            "BRIDGES_NATS_URL": self.server.url,
            "BRIDGES_NATS_NAMESPACE": self.namespace,
            "BRIDGES_NATS_NKEY_SEED_FILE": str(bus_users.seed_file(self.keys, user)),
        }


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBus]:
    base = tmp_path_factory.mktemp("secured-bus")
    namespace = fresh_name()
    users = bus_users.ensure_users(base / "keys", Streams(namespace))
    server = EmbeddedNats(base / "nats", free_port(), authorization=users)
    server.start()
    try:
        yield SecuredBus(server, base / "keys", namespace)
    finally:
        server.stop()


class Errors:
    """What the server told a client asynchronously (a refused publish or subscription)."""

    def __init__(self) -> None:
        self.said: list[str] = []

    async def heard(self, error: Exception) -> None:
        self.said.append(str(error))

    async def wait_for(self, words: str) -> str:
        async def said() -> str | None:
            return next((s for s in self.said if words.lower() in s.lower()), None)

        try:
            found: str = await eventually(said, timeout_s=5)
        except AssertionError:
            raise AssertionError(f"the server never said {words!r}: {self.said}") from None
        return found


async def test_an_anonymous_client_is_refused(secured: SecuredBus, tmp_path: Path):
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(secured.server.url, allow_reconnect=False, connect_timeout=2)
    # a key the server does not name is no better than none
    stranger = BusLogin("referrals", nkey_seed_file=tmp_path / "stranger.nk")
    from bridges_kit.bus_access import ensure_seed

    ensure_seed(tmp_path / "stranger.nk")
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            secured.server.url, allow_reconnect=False, connect_timeout=2, **stranger.options()
        )


async def test_a_service_may_not_speak_for_another_nor_read_its_consumer(secured: SecuredBus):
    errors = Errors()
    client = await nats.connect(
        secured.server.url, error_cb=errors.heard, **secured.login("referrals").options()
    )
    try:
        js = client.jetstream(timeout=2)
        forged = service_upserted(version=1001)
        subject = SERVICE_UPSERTED.subject(secured.namespace)
        with pytest.raises(nats.errors.TimeoutError):  # the server drops it: no stream acks it
            await js.publish(subject, forged.model_dump_json().encode())
        said = await errors.wait_for("ermissions")
        assert "publish" in said and subject in said
        # nor may it listen in on the events themselves, or on another user's replies
        await client.subscribe(f"{secured.namespace}.>")
        await errors.wait_for(f'subscription to "{secured.namespace}.>"')
        await client.subscribe("_INBOX.notifications.>")
        await errors.wait_for('subscription to "_INBOX.notifications.>"')
        # nor pull from the notifications service's durable consumer
        streams = Streams(secured.namespace)
        with pytest.raises(nats.errors.TimeoutError):
            await client.request(
                f"$JS.API.CONSUMER.MSG.NEXT.{streams.stream(SERVICE_UPSERTED.domain).name}"
                f".{secured.namespace}-notifications-referrals",
                b"",
                timeout=1,
            )
        await errors.wait_for("CONSUMER.MSG.NEXT")
    finally:
        await client.close()


async def _delivered(stack: Stack, referral_id: str) -> bool:
    status = await stack.notifications.runtime.pool.fetchval(
        "SELECT status FROM delivery WHERE referral_id = $1", uuid.UUID(referral_id)
    )
    return status == "succeeded"


async def test_each_service_works_end_to_end_as_its_own_user_and_ops_tools_as_ops(
    infra: Infra,
    secured: SecuredBus,
    services_factory: Callable[..., Awaitable[RunningService]],
    receiver: Any,
    tmp_path: Path,
):
    stack = await start_stack(
        infra, services_factory, **{name: secured.settings(name) for name in SERVICES}
    )
    created = await create_program(stack)  # the directory's event reached referrals' read-model
    await register_endpoint(stack, receiver.url)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals", json=intake([created["id"]]), headers={"Idempotency-Key": "bus-trust-1"}
        )
    assert filed.status_code == 201, filed.text
    referral_id = filed.json()["referrals"][0]["id"]
    # referrals published, notifications consumed and delivered, referrals read the delivery
    await eventually(lambda: _delivered(stack, referral_id), timeout_s=30)

    async def told() -> bool:
        answer = await stack.referrals.runtime.pool.fetchval(
            "SELECT count(*) FROM processed_events WHERE consumer = 'referrals-delivery'"
        )
        return bool(answer)

    await eventually(told, timeout_s=30)

    # the ops tools sign in with the ops key: doctor sees the streams and consumers...
    env = {
        **deployment(infra, stack),
        **secured.settings("ops"),
        "BRIDGES_NATS_NAMESPACE": secured.namespace,
    }
    done = await asyncio.to_thread(bridges, env, "--json", "doctor")
    findings = {f["area"]: f for f in json.loads(done.stdout)}
    assert findings["NATS"]["status"] == "ok", findings["NATS"]
    streams = [f for area, f in findings.items() if area.startswith("stream ")]
    assert streams and all(f["status"] == "ok" for f in streams), streams
    # ... backup saves the events a consumer has not read yet (notifications is stopped) and
    # restore puts them back, both through the ops user's grant
    await stack.notifications.stop()
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        waiting = await c.post(
            "/referrals", json=intake([created["id"]]), headers={"Idempotency-Key": "bus-trust-2"}
        )
    assert waiting.status_code == 201, waiting.text

    async def published() -> bool:
        left = await stack.referrals.runtime.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        return left == 0

    await eventually(published)
    folder = tmp_path / "backups"
    made = await asyncio.to_thread(
        bridges, env, "--json", "backup", "--to", str(folder), "--keys-to", str(tmp_path / "vault")
    )
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert manifest["streams"]["events"] >= 1
    await asyncio.gather(stack.directory.stop(), stack.referrals.stop())
    restored = await asyncio.to_thread(
        bridges,
        env,
        "--json",
        "restore",
        "--from",
        manifest["backup_folder"],
        "--keys-from",
        manifest["key_ring_file"],
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["events_republished"] == manifest["streams"]["events"]

    # ... and say plainly what is wrong without the key
    env.pop("BRIDGES_NATS_NKEY_SEED_FILE")
    done = await asyncio.to_thread(bridges, env, "--json", "doctor")
    nats_finding = {f["area"]: f for f in json.loads(done.stdout)}["NATS"]
    assert nats_finding["status"] == "fail" and "Authorization Violation" in nats_finding["says"]
    assert "BRIDGES_NATS_NKEY_SEED_FILE" in nats_finding["fix"]


async def test_the_probes_forged_program_version_changes_nothing(stack: Stack):
    """The forger holds a key that may publish on the directory's subject (the directory's,
    stolen): the read-model still refuses a version no directory makes, and is not frozen."""
    body = await create_program(stack)
    pool = stack.referrals.runtime.pool
    service_id = uuid.UUID(body["id"])
    before = await pool.fetchrow("SELECT * FROM program WHERE service_id = $1", service_id)
    forged = service_upserted(
        service_id=service_id,
        version=1001,
        agency_id=uuid.uuid4(),  # another agency: the next referrals, family details, to it
        name=body["name"],
        organization_id=uuid.UUID(body["organization"]["id"]),
    )
    await stack.referrals.runtime.js.publish(
        SERVICE_UPSERTED.subject(stack.namespace), forged.model_dump_json().encode()
    )

    async def parked() -> Any:
        return await pool.fetchrow(
            "SELECT error, deliveries FROM dead_letters WHERE event_id = $1", forged.id
        )

    letter = await eventually(parked)
    assert f"from version {before['version']} to 1001" in letter["error"]
    assert letter["deliveries"] == 1  # refused at once, not retried
    after = await pool.fetchrow("SELECT * FROM program WHERE service_id = $1", service_id)
    assert dict(after) == dict(before)
    refused = stack.referrals.runtime.metrics.consumer_messages(
        consumer="referrals-programs", outcome="refused"
    )
    assert refused._value.get() == 1  # what the BridgesEventsRefused alert counts

    # the directory's next real change still applies: the program is not frozen
    renamed = {**program(stack.agency_id), "id": body["id"], "name": "Riverton Renamed Pantry"}
    renamed["organization"] = body["organization"]
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        answer = await c.put(f"/services/{body['id']}", json=renamed)
    assert answer.status_code == 200, answer.text

    async def renamed_in_read_model() -> bool:
        name = await pool.fetchval("SELECT name FROM program WHERE service_id = $1", service_id)
        return name == "Riverton Renamed Pantry"

    await eventually(renamed_in_read_model)
    now = await pool.fetchrow("SELECT * FROM program WHERE service_id = $1", service_id)
    assert now["version"] == before["version"] + 1 and now["agency_id"] == before["agency_id"]
