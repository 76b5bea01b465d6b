"""The agency side of the pipeline benchmark, as its own process: a webhook receiver that notes
when each new referral arrives and then accepts it through the referrals API, as agency staff.

It checks each webhook's Standard Webhooks signature, as an agency would, and answers at once;
accepting happens after, from a queue, on BENCH_AGENCY_WORKERS connections. Its own process, so
that arrival times are read by a loop nothing else in the benchmark holds up. `bench.pipeline`
starts it and reads its progress and records over HTTP:

    BENCH_AGENCY_PORT=P BENCH_REFERRALS_URL=URL BENCH_AGENCY_TOKEN=JWT BENCH_AGENCY_SECRET=whsec_.. \
        [BENCH_AGENCY_WORKERS=8] .venv/bin/python -m bench.pipeline_agency serve
    GET /progress -> {"received": n, "accepted": n, "failed": n, "other": n, "unsigned": n}
    GET /records  -> [[referral_id, requested_at, arrived_at, asked_at, accepted_at, status], ...]

`asked_at` is when its accept call went out (once a worker was free). Times are Unix seconds of
this machine's clock, as the referral's own `requested_at` is.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from bridges_devstack.receiver import read_body

REQUESTED = "org.bridges.referral.requested.v1"


@dataclass
class Arrival:
    referral_id: str
    version: int
    requested_at: float
    arrived_at: float
    asked_at: float | None = None
    accepted_at: float | None = None
    status: int = 0

    def row(self) -> list[Any]:
        return [
            self.referral_id,
            self.requested_at,
            self.arrived_at,
            self.asked_at,
            self.accepted_at,
            self.status,
        ]


@dataclass
class Agency:
    """Receives webhooks at any path; `GET /progress`, `GET /records`, `GET /readyz` for the bench."""

    referrals_url: str
    token: str
    secret: bytes
    workers: int
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    other: int = 0
    unsigned: int = 0
    queue: asyncio.Queue[Arrival] = field(default_factory=asyncio.Queue)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        arrived_at = time.time()  # before anything else: the arrival, not our handling of it
        if scope["method"] == "POST":
            if not self._signed(scope, body):
                self.unsigned += 1
                await _answer(send, 401, b"")
                return
            self._note(body, arrived_at)
            await _answer(send, 200, b"")
        elif scope["path"] == "/progress":
            await _answer(send, 200, json.dumps(self.progress()).encode())
        elif scope["path"] == "/records":
            rows = [a.row() for a in self.arrivals.values()]
            await _answer(send, 200, json.dumps(rows).encode())
        else:  # /readyz
            await _answer(send, 200, b"{}")

    def _signed(self, scope: Scope, body: bytes) -> bool:
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode()
        digest = hmac.new(self.secret, signed + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(digest).decode()
        offered = headers.get("webhook-signature", "").split()
        return any(hmac.compare_digest(expected, o) for o in offered)

    def _note(self, body: bytes, arrived_at: float) -> None:
        event = json.loads(body)
        if event.get("type") != REQUESTED:
            self.other += 1  # the status changes our own accepting causes, delivered too
            return
        data = event["data"]
        if data["referral_id"] in self.arrivals:
            return  # a redelivery: the first arrival counts
        arrival = Arrival(
            data["referral_id"],
            int(data["version"]),
            datetime.fromisoformat(data["requested_at"]).timestamp(),
            arrived_at,
        )
        self.arrivals[arrival.referral_id] = arrival
        self.queue.put_nowait(arrival)

    def progress(self) -> dict[str, int]:
        accepted = sum(1 for a in self.arrivals.values() if a.status == 200)
        failed = sum(1 for a in self.arrivals.values() if a.status not in (0, 200))
        return {
            "received": len(self.arrivals),
            "accepted": accepted,
            "failed": failed,
            "other": self.other,
            "unsigned": self.unsigned,
        }

    async def _accept_forever(self, client: httpx.AsyncClient) -> None:
        while True:
            arrival = await self.queue.get()
            arrival.asked_at = time.time()
            try:
                answer = await client.post(
                    f"/referrals/{arrival.referral_id}/transitions",
                    json={"to": "accepted"},
                    headers={"If-Match": f'"{arrival.version}"'},
                )
                arrival.status = answer.status_code
            except httpx.HTTPError:
                arrival.status = -1
            arrival.accepted_at = time.time()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        client: httpx.AsyncClient | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                client = httpx.AsyncClient(
                    base_url=self.referrals_url,
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=30,
                    limits=httpx.Limits(max_connections=self.workers),
                )
                self._tasks = [
                    asyncio.create_task(self._accept_forever(client)) for _ in range(self.workers)
                ]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                if client is not None:
                    await client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    """`serve`, configured by the environment (as `harness.service` starts a service)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.parse_args()
    env = os.environ
    agency = Agency(
        env["BENCH_REFERRALS_URL"],
        env["BENCH_AGENCY_TOKEN"],  # agency staff, with the agency's agency_id
        base64.b64decode(env["BENCH_AGENCY_SECRET"].removeprefix("whsec_")),
        int(env.get("BENCH_AGENCY_WORKERS", "8")),
    )
    uvicorn.run(
        agency,
        host="127.0.0.1",
        port=int(env["BENCH_AGENCY_PORT"]),
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
