"""A real HTTP webhook receiver for tests and benchmarks: records every request and answers with a
programmable sequence of statuses (and optional delays).

`python -m bridges_devstack.receiver --host 0.0.0.0 --port 9000` runs one on its own (the
compose test's receiver container): each request is printed as one JSON line (path, headers,
body), so the container's log is the record."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
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
    status: int = 200  # as answered


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
    host: str = "127.0.0.1"
    # called with each request as it is recorded (the standalone receiver prints it)
    on_request: Callable[[Received], None] | None = None
    # an outage: every request is answered 503 until this time (`time.monotonic()`)
    failing_until: float = 0.0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/bridges"

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
        if time.monotonic() < self.failing_until:
            status, delay = 503, 0.0
        else:
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
        received = Received(
            scope["path"],
            {k.decode(): v.decode() for k, v in scope["headers"]},
            body,
            time.monotonic(),
            status,
        )
        self.requests.append(received)
        if self.on_request is not None:
            self.on_request(received)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def start(self) -> WebhookReceiver:
        config = uvicorn.Config(
            self,
            host=self.host,
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


def _print_request(received: Received) -> None:
    line = {
        "path": received.path,
        "headers": received.headers,
        "body_base64": base64.b64encode(received.body).decode(),
    }
    print(json.dumps(line), flush=True)


async def _serve(host: str, port: int) -> None:
    receiver = WebhookReceiver(port=port, host=host, on_request=_print_request)
    server = uvicorn.Server(
        uvicorn.Config(receiver, host=host, port=port, log_config=None, lifespan="off")
    )
    print(f"webhook receiver on {host}:{port}", file=sys.stderr, flush=True)
    await server.serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a webhook receiver printing what it gets")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
