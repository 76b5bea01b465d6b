"""A real HTTP webhook receiver for tests and benchmarks: records every request and answers with a
programmable sequence of statuses (and optional delays)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.types import Receive, Scope, Send

from bridges_devstack.servers import free_port


class InProcessServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process (pytest, a benchmark)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


async def read_body(receive: Receive) -> bytes | None:
    """A request's whole body, or None when its sender disconnected before sending all of it."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body"):
            return body


@dataclass
class WebhookReceiver:
    """Serve on 127.0.0.1:<free port>; `script` holds (status, delay_s) answers, then 200s."""

    requests: list[Received] = field(default_factory=list)
    script: deque[tuple[int, float]] = field(default_factory=deque)
    # the senders' (host, port) of requests being answered slowly right now: a delivery in flight
    holding: set[tuple[str, int]] = field(default_factory=set)
    port: int = field(default_factory=free_port)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bridges"

    def answer(self, *statuses: int, delay_s: float = 0.0) -> None:
        self.script.extend((s, delay_s) for s in statuses)

    def ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.requests]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return  # the sender died mid-request: nothing was delivered, as at a real receiver
        status, delay = self.script.popleft() if self.script else (200, 0.0)
        if delay:
            sender = tuple(scope["client"] or ("", 0))
            self.holding.add(sender)
            try:  # a sender that dies meanwhile never learns the outcome: not delivered
                with contextlib.suppress(TimeoutError):
                    if (await asyncio.wait_for(receive(), delay))["type"] == "http.disconnect":
                        return
            finally:
                self.holding.discard(sender)
        self.requests.append(
            Received(
                scope["path"],
                {k.decode(): v.decode() for k, v in scope["headers"]},
                body,
                time.monotonic(),
            )
        )
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> WebhookReceiver:
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._server = InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
