"""`bridges up --nats-cluster 3 --replicas 2` (`make up-cluster`) as a fault probe treats it: three
nats-servers as one JetStream cluster and two processes of each service. Tablets file referrals
through both referrals processes (retrying with the same Idempotency-Key, as the app does) while
the referral stream's leader node, one process of each service and the notifications process
that is in the middle of a webhook delivery are killed (SIGKILL) at once: every referral is
stored once, every one reaches the agency's webhook (a receiver may see an event again, under
the same webhook-id), no outbox row is left behind, and every process is back by itself.

BRIDGES_CLUSTER_REFERRALS (default 24) sets how many are filed; the README gives a larger run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import psutil
import pytest

from bridges_devstack import bus_users
from bridges_devstack.ports import Ports
from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.servers import free_port, port_open
from bridges_devstack.testing import eventually
from bridges_kit.bus import BusLogin
from bridges_schema import Streams
from bridges_schema.subjects import Domain
from tests.scenario import intake
from tests.test_make_up import _hooked_referrals, _interrupt, _pid, _ready, _start, _wait_for_stack

pytestmark = [pytest.mark.timeout(300), pytest.mark.integration]
NODES, REPLICAS = 3, 2
REFERRALS = int(os.environ.get("BRIDGES_CLUSTER_REFERRALS", "24"))
TABLETS = 4  # referrals filed at once
HOLD_S = 3.0  # how long the receiver keeps the delivery that is in flight when its sender dies


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


async def _leader(nats_url: str, stream: str, run_dir: Path) -> str:
    """The stream's leader node, asked as the ops user (`bridges up` admits its users only)."""
    ops = BusLogin("ops", nkey_seed_file=bus_users.seed_file(run_dir / bus_users.KEYS_DIR, "ops"))
    connection = await nats.connect(nats_url.split(","), **ops.options())
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


def _owner_of(sender: tuple[str, int], pids: dict[str, int]) -> str | None:
    """Which of `pids` holds the loopback TCP socket bound to `sender`'s port (psutil)."""
    for name, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            sockets = psutil.Process(pid).net_connections(kind="tcp")
            if any(s.laddr and s.laddr.port == sender[1] for s in sockets):
                return name
    return None


class Tablets:
    """`REFERRALS` referrals filed by `TABLETS` at once, each through referrals process i % 2;
    a refused connection or a 5xx is retried with the same Idempotency-Key through the other."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str], token: str, program: str):
        self.http, self.urls, self.program = http, urls, program
        self.headers = {"Authorization": f"Bearer {token}"}
        self.filed: dict[str, str] = {}  # Idempotency-Key -> referral id
        self.retries = 0

    async def file(self, index: int) -> None:
        key, body = str(uuid.uuid4()), intake([self.program])  # a retry resends the same
        for attempt in range(600):
            url = self.urls[(index + attempt) % len(self.urls)]
            try:
                answer = await self.http.post(
                    f"{url}/referrals",
                    json=body,
                    headers={**self.headers, "Idempotency-Key": key},
                )
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code in (200, 201):  # 200: a replay
                self.filed[key] = answer.json()["referrals"][0]["id"]
                return
            if answer is not None and answer.status_code < 500:
                # a replica's read-model may still be catching up with the seed
                assert "not in the directory" in answer.text, answer.text
            self.retries += 1
            await asyncio.sleep(0.1)
        raise AssertionError(f"referral {index} was never filed")

    async def file_all(self, started: asyncio.Event) -> None:
        queue = iter(range(REFERRALS))

        async def tablet() -> None:
            for index in queue:
                await self.file(index)
                if len(self.filed) >= REFERRALS // 3:
                    started.set()

        await asyncio.gather(*(tablet() for _ in range(TABLETS)))


async def test_the_cluster_loses_nothing_when_a_node_a_replica_of_each_and_a_delivery_die(
    tmp_path: Path,
) -> None:
    ports = _cluster_ports()
    extra = ("--nats-cluster", str(NODES), "--replicas", str(REPLICAS))
    # a delivery whose process died is taken up again once its lease ends (10 s by default,
    # renewed while the holder lives)
    process = _start(tmp_path, ports, extra=extra)
    receiver = await WebhookReceiver().start()
    try:
        stack = await asyncio.to_thread(_wait_for_stack, process, tmp_path)
        assert [node["name"] for node in stack["nats"]] == ["node-1", "node-2", "node-3"]
        for name in ("directory", "referrals", "notifications"):
            assert {f"{name}-1", f"{name}-2"} <= set(stack["processes"])
        referrals = [f"http://127.0.0.1:{ports.service('referrals', r)}" for r in range(REPLICAS)]
        urls, tokens = stack["urls"], stack["tokens"]
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
            tablets = Tablets(http, referrals, tokens["officer"], program)
            a_third_filed = asyncio.Event()
            filing = asyncio.create_task(tablets.file_all(a_third_filed))

            await asyncio.wait_for(a_third_filed.wait(), timeout=120)
            receiver.answer(200, delay_s=HOLD_S)  # the next delivery stays in flight a while

            async def delivering() -> str | None:
                names = [f"notifications-{r + 1}" for r in range(REPLICAS)]
                senders = {name: _pid(tmp_path, name) for name in names}
                return next(
                    (name for s in list(receiver.holding) if (name := _owner_of(s, senders))),
                    None,
                )

            mid_delivery = await eventually(delivering, timeout_s=60, interval_s=0.02)
            leader = await _leader(
                stack["nats_url"], Streams().stream(Domain.REFERRAL).name, tmp_path
            )
            victims = {f"nats-{leader}", "directory-2", "referrals-2", mid_delivery}
            killed = {name: _pid(tmp_path, name) for name in victims}
            for pid in killed.values():
                os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()

            async def all_back() -> bool:
                pids = json.loads((tmp_path / "stack.json").read_text())["processes"]
                return all(pids[name] != pid for name, pid in killed.items())

            await eventually(all_back, timeout_s=90, interval_s=0.2)
            back_s = time.monotonic() - killed_at
            await asyncio.wait_for(filing, timeout=240)
            filed = set(tablets.filed.values())

            async def all_delivered() -> bool:
                return set(_hooked_referrals(receiver)) >= filed

            await eventually(all_delivered, timeout_s=120, interval_s=0.2)
            delivered_s = time.monotonic() - killed_at
            stored = await _inbox(http, urls["referrals"], tokens["agency_staff"])
            for replica in range(REPLICAS):  # every process is ready again
                for name in ("directory", "referrals", "notifications"):
                    url = f"http://127.0.0.1:{ports.service(name, replica)}"
                    await eventually(lambda u=url: _ready(u), timeout_s=60, interval_s=0.2)

        assert len(filed) == REFERRALS and sorted(stored) == sorted(filed)  # each stored once
        by_webhook_id: dict[str, str] = {}
        for request in receiver.requests:  # a repeat carries the same webhook-id
            referral = json.loads(request.body)["data"]["referral_id"]
            assert by_webhook_id.setdefault(request.headers["webhook-id"], referral) == referral
        assert sorted(set(by_webhook_id.values())) == sorted(filed)
        referrals_db = stack["databases"]["referrals"]
        await eventually(lambda: _no_stuck(referrals_db), timeout_s=30, interval_s=0.2)
        print(  # the figures a larger run reports (pytest -s)
            f"cluster faults: {len(filed)} filed, {tablets.retries} retried, "
            f"{len(receiver.requests)} webhooks for {len(by_webhook_id)} events, killed "
            f"{sorted(killed)}; all back {back_s:.1f} s and all delivered {delivered_s:.1f} s "
            "after the kill"
        )
    finally:
        await receiver.stop()
        if process.poll() is None:
            await asyncio.to_thread(_interrupt, process, tmp_path)


async def _inbox(http: httpx.AsyncClient, url: str, token: str) -> list[str]:
    """Every referral in the agency's inbox, page by page."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await http.get(
            f"{url}/inbox", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        if not page.json()["next_cursor"]:
            return ids
        params["cursor"] = page.json()["next_cursor"]


async def _no_stuck(database_url: str) -> bool:
    return await _stuck_outbox_rows(database_url) == 0
