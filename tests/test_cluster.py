"""`bridges up --nats-cluster 3 --replicas 2` (`make up-cluster`) as a fault probe treats it: three
nats-servers as one JetStream cluster and two processes of each service. Referrals are filed
through both referrals processes while the referral stream's leader node and one notifications
process are killed (SIGKILL): every referral is stored once, every one reaches the agency's
webhook (a receiver may see an event again, under the same webhook-id), no outbox row is left
behind, and every process is back by itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from bridges_devstack.ports import Ports
from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port, port_open
from bridges_devstack.testing import eventually
from bridges_schema import Streams
from bridges_schema.subjects import Domain
from tests.scenario import intake
from tests.test_make_up import _hooked_referrals, _interrupt, _pid, _ready, _start, _wait_for_stack

pytestmark = pytest.mark.timeout(300)
NODES, REPLICAS = 3, 2


def _cluster_ports() -> Ports:
    """Free ports, and free too where the cluster's other nodes and replicas go (base + k)."""
    for _ in range(50):
        ports = Ports(**{name: free_port() for name in asdict(Ports())})
        derived = [
            base + k
            for base in (ports.nats, ports.nats_monitor, ports.nats_route)
            for k in range(NODES)
        ]
        derived += [ports.service(s, 1) for s in ("directory", "referrals", "notifications")]
        if len(set(derived)) == len(derived) and not any(port_open(p) for p in derived):
            return ports
    raise AssertionError("no room for the cluster's ports")


async def _leader(nats_url: str, stream: str) -> str:
    connection = await nats.connect(nats_url.split(","))
    try:
        info = await connection.jetstream(timeout=5).stream_info(stream)
        assert info.config.num_replicas == NODES and info.cluster is not None
        return str(info.cluster.leader)
    finally:
        await connection.close()


async def _stuck_outbox_rows(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        stuck: int = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        return stuck
    finally:
        await connection.close()


async def test_the_cluster_loses_nothing_when_the_stream_leader_and_a_replica_die(
    tmp_path: Path,
) -> None:
    ports = _cluster_ports()
    extra = ("--nats-cluster", str(NODES), "--replicas", str(REPLICAS))
    process = _start(tmp_path, ports, extra=extra)
    receiver = await WebhookReceiver().start()
    try:
        stack = await asyncio.to_thread(_wait_for_stack, process, tmp_path)
        assert [node["name"] for node in stack["nats"]] == ["node-1", "node-2", "node-3"]
        for name in ("directory", "referrals", "notifications"):
            assert {f"{name}-1", f"{name}-2"} <= set(stack["processes"])
        referrals = [f"http://127.0.0.1:{ports.service('referrals', r)}" for r in range(REPLICAS)]
        urls, tokens = stack["urls"], stack["tokens"]
        officer = {"Authorization": f"Bearer {tokens['officer']}"}
        filed: list[str] = []
        async with httpx.AsyncClient(timeout=15) as http:
            endpoint = await http.post(
                f"{urls['notifications']}/agencies/{stack['demo_agency_id']}/endpoints",
                json={"url": receiver.url},
                headers={"Authorization": f"Bearer {tokens['admin']}"},
            )
            assert endpoint.status_code == 201, endpoint.text
            found = await http.get(
                f"{urls['directory']}/services", params={"search": "Riverton Community Food Bank"}
            )
            program = found.json()["contents"][0]["id"]

            async def file_through(replica: int) -> Any:
                answer = await http.post(
                    f"{referrals[replica]}/referrals",
                    json=intake([program]),
                    headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
                )
                if answer.status_code == 422 and "not in the directory" in answer.text:
                    return None  # this replica's read-model is still catching up with the seed
                assert answer.status_code == 201, answer.text
                filed.append(answer.json()["referrals"][0]["id"])
                return True

            for n in range(4):  # both referrals processes take intake
                await eventually(lambda r=n % REPLICAS: file_through(r), timeout_s=60)

            leader = await _leader(stack["nats_url"], Streams().stream(Domain.REFERRAL).name)
            killed = {f"nats-{leader}": _pid(tmp_path, f"nats-{leader}")}
            killed["notifications-2"] = _pid(tmp_path, "notifications-2")
            for pid in killed.values():
                os.kill(pid, signal.SIGKILL)
            for n in range(4):  # filed while the cluster elects a new leader
                await eventually(lambda r=n % REPLICAS: file_through(r), timeout_s=60)

            async def all_back() -> bool:
                pids = json.loads((tmp_path / "stack.json").read_text())["processes"]
                return all(pids[name] != pid for name, pid in killed.items())

            await eventually(all_back, timeout_s=90, interval_s=0.2)
            for n in range(4):
                await eventually(lambda r=n % REPLICAS: file_through(r), timeout_s=60)

            async def all_delivered() -> bool:
                return set(_hooked_referrals(receiver)) >= set(filed)

            await eventually(all_delivered, timeout_s=120, interval_s=0.2)
            inbox = await http.get(
                f"{urls['referrals']}/inbox",
                params={"limit": 200},
                headers={"Authorization": f"Bearer {tokens['agency_staff']}"},
            )
            stored = [item["id"] for item in inbox.json()["items"]]
            for replica in range(REPLICAS):  # every process is ready again
                for name in ("directory", "referrals", "notifications"):
                    url = f"http://127.0.0.1:{ports.service(name, replica)}"
                    await eventually(lambda u=url: _ready(u), timeout_s=60, interval_s=0.2)

        assert sorted(stored) == sorted(filed) and len(set(filed)) == 12  # each stored once
        by_webhook_id: dict[str, str] = {}
        for request in receiver.requests:  # a repeat carries the same webhook-id
            referral = json.loads(request.body)["data"]["referral_id"]
            assert by_webhook_id.setdefault(request.headers["webhook-id"], referral) == referral
        assert sorted(set(by_webhook_id.values())) == sorted(filed)
        referrals_db = stack["databases"]["referrals"]
        await eventually(lambda: _no_stuck(referrals_db), timeout_s=30, interval_s=0.2)
    finally:
        await receiver.stop()
        if process.poll() is None:
            await asyncio.to_thread(_interrupt, process, tmp_path)


async def _no_stuck(database_url: str) -> bool:
    return await _stuck_outbox_rows(database_url) == 0
