"""Who may call each route: a service's access table, checked against its app's routes when the
app is built and enforced on every request before the route runs.

A table maps (method, path template) to a `Rule` — a valid token (else 401) of one of its roles
(else 403) —, to `Public` (no token), or to `Internal`: another Bridges service, presenting the
key the services share (`BRIDGES_SERVICE_KEY`) as its bearer token; a person's token is 403. Ownership (an officer reaches only the referrals they
filed, agency staff only their agency's) is enforced where the data is, in use cases and
queries, and answered 404 as if the object did not exist; the table names it with `Owner`, so the
whole policy reads in one place and the authorization matrix test (tests/test_authorization.py)
can prove every cell of it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from bridges_kit import throttling
from bridges_kit.principal import Principal
from bridges_kit.problems import Forbidden
from bridges_schema import Role


@dataclass(frozen=True)
class Owner:
    """Callers of `role` reach only the objects that are theirs (`scope`, in the domain's
    words); another's is answered 404. Enforced by the use case or query, declared here."""

    role: Role
    scope: str


@dataclass(frozen=True)
class Rule:
    """A token of one of `roles`; callers of an `owners` role reach only their own objects."""

    roles: frozenset[Role]
    owners: tuple[Owner, ...] = ()

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("a rule names at least one role (or the route is Public)")
        strangers = {o.role for o in self.owners} - self.roles
        if strangers:
            raise ValueError(f"an ownership rule for a role the rule does not allow: {strangers}")


@dataclass(frozen=True)
class Public:
    """No token needed (`why` says who it is for). `ops` marks an operations surface (health,
    metrics, API documentation), which a deployment may close to all but ops."""

    why: str
    ops: bool = False


@dataclass(frozen=True)
class Internal:
    """Another Bridges service only (`why` says which and for what), with the services' shared
    key as its bearer token (`BRIDGES_SERVICE_KEY`): a route that hands it what no person's
    role may have (e.g. a family's address, to send the family its message)."""

    why: str


Entry = Rule | Public | Internal
Table = Mapping[tuple[str, str], Entry]
"""(method, path template as declared, e.g. "/referrals/{referral_id}") -> who may call it."""


def allow(*roles: Role, owners: Iterable[Owner] = ()) -> Rule:
    return Rule(frozenset(roles), tuple(owners))


# Every service's view for ops: its flow figures now, and what ops and admins did there.
OPS_VIEWS: Table = {
    ("GET", "/ops/summary"): allow(Role.OPS, Role.ADMIN),
    ("GET", "/ops/actions"): allow(Role.OPS, Role.ADMIN),
}
# The kit's own routes, for services to list in their tables.
OPERATIONS: Table = {
    ("GET", "/healthz"): Public("liveness probes", ops=True),
    ("GET", "/readyz"): Public("readiness probes", ops=True),
    ("GET", "/metrics"): Public("the Prometheus scraper", ops=True),
    ("GET", "/openapi.json"): Public("API clients and their developers", ops=True),
    ("GET", "/docs"): Public("developers (Swagger UI)", ops=True),
    ("GET", "/docs/oauth2-redirect"): Public("Swagger UI's sign-in callback", ops=True),
    ("GET", "/redoc"): Public("developers (ReDoc)", ops=True),
    **OPS_VIEWS,
}
DEAD_LETTERS: Table = {
    ("GET", "/events/dead-letters"): allow(Role.OPS, Role.ADMIN),
    ("POST", "/events/dead-letters/replay"): allow(Role.OPS, Role.ADMIN),
    ("GET", "/events/dead-letters/{letter_id}"): allow(Role.OPS, Role.ADMIN),
    ("POST", "/events/dead-letters/{letter_id}/replay"): allow(Role.OPS, Role.ADMIN),
}


class AccessTableMismatch(ValueError):
    """The access table and the app's routes disagree (the app refuses to start)."""


@dataclass(frozen=True)
class ServedRoute:
    """A route as the app serves it: one method, its path template, whether FastAPI runs it
    (only those can be guarded: a Starlette route must be public)."""

    method: str
    path: str
    guarded: bool


def served_routes(app: FastAPI) -> list[ServedRoute]:
    """Every (method, path) the app answers; HEAD is GET's (Starlette answers it alike)."""
    served: list[ServedRoute] = []
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if path is None:
            raise AccessTableMismatch(f"a route without a path cannot be checked: {route!r}")
        if isinstance(route, APIRoute) and route.path != path:
            # the guard looks routes up by their own path: a prefix added by include_router
            # would make the table name a path the guard never sees
            raise AccessTableMismatch(f"{path}: include routers without a prefix")
        methods = set(context.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")
        guarded = isinstance(route, APIRoute)
        served.extend(ServedRoute(m, path, guarded) for m in sorted(methods))
    return served


def check(table: Table, served: Iterable[ServedRoute]) -> None:
    """Raise AccessTableMismatch naming every route without an entry, every entry naming no
    route, and every rule on a route the guard cannot reach."""
    served = list(served)
    keys = {(r.method, r.path) for r in served}
    problems = [f"no access rule for {m} {p}" for m, p in sorted(keys - set(table))]
    problems += [  # an operations surface may be closed by the deployment (ops-only docs)
        f"the access rule for {m} {p} names no route"
        for m, p in sorted(set(table) - keys)
        if not (isinstance(entry := table[(m, p)], Public) and entry.ops)
    ]
    problems += [
        f"{r.method} {r.path} is served outside FastAPI: it can only be Public"
        for r in served
        if not r.guarded and isinstance(table.get((r.method, r.path)), Rule | Internal)
    ]
    if problems:
        raise AccessTableMismatch("; ".join(problems))


def install(app: FastAPI, table: Table) -> None:
    """Check `table` against every route of `app` and guard them with it (call once every
    router is included)."""
    check(table, served_routes(app))
    app.state.access = dict(table)


def entry_for(request: Request) -> Entry:
    """The access entry of the route serving `request`."""
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    table: dict[tuple[str, str], Entry] = request.app.state.access
    entry = table.get((method, getattr(route, "path", "")))
    if entry is None:  # `install` makes this impossible; refuse rather than let it through
        raise Forbidden("this route has no access rule")
    return entry


async def verified_caller(request: Request) -> Principal:
    """The caller its bearer token names (401 without a valid one)."""
    principal: Principal = await request.app.state.runtime.verifier.verify(
        request.headers.get("authorization")
    )
    structlog.contextvars.bind_contextvars(actor=principal.sub, role=principal.role.value)
    return principal


async def authorize(request: Request) -> Principal | None:
    """A dependency of every route: the caller the route's entry lets in (None on a public or
    internal route); 401 without a valid token, 403 for a role the entry does not name. A write
    is counted against the caller's rate limit here, where the token is verified once."""
    entry = entry_for(request)
    if isinstance(entry, Public):
        return None
    if isinstance(entry, Internal):
        await _check_service(request)
        return None
    principal = (await verified_caller(request)).require(*entry.roles)
    throttling.charge_writer(request, principal.sub)
    return principal


async def _check_service(request: Request) -> None:
    """The shared service key, or 401 (no token, or neither the key nor a valid token) / 403
    (a person's valid token: not theirs to call)."""
    scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
    key = request.app.state.runtime.settings.service_key
    if (
        key is not None
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), key.get_secret_value().encode())
    ):
        structlog.contextvars.bind_contextvars(actor="service", role="service")
        return
    await verified_caller(request)  # 401 unless a person's valid token
    raise Forbidden("this route is for Bridges' own services")


async def _caller(principal: Annotated[Principal | None, Depends(authorize)]) -> Principal:
    if principal is None:
        raise TypeError("a public route asked for its caller: give it a Rule in the access table")
    return principal


Caller = Annotated[Principal, Depends(_caller)]
"""A route's dependency: the caller its access rule let in (`authorize` runs once a request)."""
