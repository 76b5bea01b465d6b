"""Rate limits at the HTTP edge (see `bridges_kit.rate_limits` for the algorithm):
- writes (POST, PUT, PATCH, DELETE) per client address: `WriteLimits`, a pure ASGI middleware,
  before the body is read or a token verified;
- writes per verified token subject: `charge_writer`, called once the token is verified (by
  `bridges_kit.access.authorize`), so a token is never verified twice;
Each refusal is a 429 problem+json with `Retry-After` and changes nothing. (The development
OpenID provider limits sign-ins with the same `RateLimiter`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bridges_kit.edge import WRITE_METHODS, refuse
from bridges_kit.rate_limits import IpNetwork, RateLimited, RateLimiter, client_address
from bridges_kit.settings import ServiceSettings


@dataclass(frozen=True)
class ClientAddresses:
    """Who a request comes from: the socket peer, or the client a trusted proxy names."""

    trusted_proxies: tuple[IpNetwork, ...] = ()

    def of(self, scope: Scope) -> str:
        client = scope.get("client")
        forwarded = b",".join(
            value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
        )
        return client_address(
            client[0] if client else None,
            forwarded.decode("latin-1") if forwarded else None,
            self.trusted_proxies,
        )


@dataclass(frozen=True)
class RateLimits:
    """One app's limits; a limit that is None is off."""

    addresses: ClientAddresses
    token_writes: RateLimiter | None = None
    address_writes: RateLimiter | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> RateLimits:
        addresses = ClientAddresses(tuple(settings.trusted_proxies))
        if not settings.rate_limits:
            return cls(addresses)
        keys = settings.rate_limit_max_keys
        return cls(
            addresses,
            token_writes=RateLimiter(
                "writes per token", settings.rate_limit_token_writes, max_keys=keys
            ),
            address_writes=RateLimiter(
                "writes per address", settings.rate_limit_address_writes, max_keys=keys
            ),
        )


def install(app: FastAPI, limits: RateLimits) -> None:
    """Limit `app`'s writes (call before the edge middleware wraps it). Each write route
    documents the 429 (`bridges_kit.openapi.WRITE_PROBLEMS`)."""
    app.state.rate_limits = limits
    if limits.address_writes is not None:
        app.add_middleware(WriteLimits, limits=limits)


def limits_of(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def charge_writer(request: Request, subject: str) -> None:
    """Count a write by the verified token `subject` (raises `RateLimited`); reads are free."""
    limiter = limits_of(request).token_writes
    if limiter is not None and request.method in WRITE_METHODS:
        limiter.check(subject)


class WriteLimits:
    """Refuse a write over the per-address limit before anything is read (pure ASGI)."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limits.address_writes
        if limiter is not None and scope["type"] == "http" and scope["method"] in WRITE_METHODS:
            try:
                limiter.check(self.limits.addresses.of(scope))
            except RateLimited as refused:
                await refuse(scope, send, refused)
                return
        await self.app(scope, receive, send)
