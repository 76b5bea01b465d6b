"""The OpenAPI document a service publishes: every status each operation can answer and, for
errors, the problem+json `type`s it may carry. The kit adds what every route shares — derived
from the access table (401, 403, 404 for ownership) and from the edge (400, 413, 422, 503) — and
a route adds its own with `responses=problem_responses(...)`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bridges_kit.access import Entry, Internal, Public, Rule, Table
from bridges_kit.edge import (
    WRITE_METHODS,
    MalformedJson,
    MalformedRequest,
    PayloadTooLarge,
    UnstorableText,
)
from bridges_kit.problems import (
    PROBLEM_BASE,
    PROBLEM_JSON,
    Forbidden,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unauthorized,
)
from bridges_kit.rate_limits import RateLimited

WRITE_PROBLEMS: tuple[type[Problem], ...] = (RateLimited,)
"""What every write may answer besides: the rate limits' 429 (`bridges_kit.throttling`)."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists each invalid field when there are any",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
_PROBLEMS = "x-bridges-problems"  # carries a route's own problems until `document` merges them
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")  # never answered: ours is 422


def problem_responses(*problems: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problems it answers beyond the kit's (see `kit_problems`)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for problem in problems:
        response = responses.setdefault(
            problem.status, {"description": problem.title, _PROBLEMS: []}
        )
        response[_PROBLEMS].append(problem.slug)
    return responses


def kit_problems(method: str, entry: Entry, operation: dict[str, Any]) -> list[type[Problem]]:
    """What any route may answer, by what it takes and who may call it."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    found: list[type[Problem]] = [MalformedRequest, ServiceUnavailable]  # the URL; an outage
    if parameters or has_body:
        found.append(UnstorableText)  # 422 "validation", as FastAPI's own refusals are
    if has_body:
        found += [MalformedJson, PayloadTooLarge]
    if isinstance(entry, Rule | Internal):
        found += [Unauthorized, Forbidden]
    if any(p.get("in") == "path" for p in parameters) or (isinstance(entry, Rule) and entry.owners):
        found.append(NotFound)
    if method in WRITE_METHODS:
        found += WRITE_PROBLEMS
    return found


def who(entry: Entry) -> str:
    """The access rule in words, for the operation's description."""
    if isinstance(entry, Public):
        return f"Public: {entry.why}."
    if isinstance(entry, Internal):
        return f"Internal: {entry.why} (bearer: the services' key, BRIDGES_SERVICE_KEY)."
    owned = {o.role: o.scope for o in entry.owners}
    roles = [
        f"{role.value} (only {owned[role]})" if role in owned else role.value
        for role in sorted(entry.roles)
    ]
    return "Roles: " + ", ".join(roles) + "."


def _problem_response(slugs: Iterable[str], status: int, description: str) -> dict[str, Any]:
    schema = {
        "allOf": [{"$ref": "#/components/schemas/Problem"}],
        "properties": {
            "type": {"enum": sorted({PROBLEM_BASE + s for s in slugs})},
            "status": {"enum": [status]},
        },
    }
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def _document_operation(method: str, operation: dict[str, Any], entry: Entry) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    slugs: dict[int, list[str]] = {}
    titles: dict[int, str] = {}
    for problem in kit_problems(method, entry, operation):
        slugs.setdefault(problem.status, []).append(problem.slug)
        titles.setdefault(problem.status, problem.title)
    for status, response in responses.items():
        if _PROBLEMS in response:
            slugs.setdefault(int(status), []).extend(response.pop(_PROBLEMS))
            titles.setdefault(int(status), response["description"])
    if "422" in responses and 422 not in slugs:  # FastAPI's guess: our 422s are problems
        slugs[422] = [UnstorableText.slug]
    for code in sorted(slugs):
        responses[str(code)] = _problem_response(slugs[code], code, titles.get(code, ""))
    operation["responses"] = dict(sorted(responses.items()))  # by status, as a reader looks
    if isinstance(entry, Rule | Internal):
        operation["security"] = [{"bearer": []}]
    operation["description"] = "\n\n".join(filter(None, (operation.get("description"), who(entry))))


def document(app: FastAPI, table: Table) -> None:
    """Publish `app`'s OpenAPI with every operation's statuses and problems (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _document_operation(method.upper(), operation, table[(method.upper(), path)])
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name in _FASTAPI_VALIDATION:
                schemas.pop(name, None)
            schemas["Problem"] = PROBLEM_SCHEMA
            components["securitySchemes"] = {"bearer": BEARER}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
