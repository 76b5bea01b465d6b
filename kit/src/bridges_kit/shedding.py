"""Load shedding: at most `max_in_flight` requests at once in one process. One more is refused
at once with 503 and `Retry-After` rather than queued behind a saturated database, so the process
stays responsive and clients back off (the tablet's outbox retries a 503 by itself). Probes and
metrics are never shed: ops must see an overloaded process, not a dead one."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from bridges_kit.edge import refuse
from bridges_kit.problems import ServiceUnavailable

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlightLimit:
    """Pure ASGI middleware counting the requests this process is answering."""

    def __init__(self, app: ASGIApp, max_in_flight: int, retry_after_s: int = 1) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            busy = ServiceUnavailable(
                f"this process is answering {self.in_flight} requests already; retry shortly",
                retry_after_s=self.retry_after_s,
            )
            await refuse(scope, send, busy)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
