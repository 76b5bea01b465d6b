"""Errors under `/fhir` as FHIR clients expect them: an OperationOutcome (application/fhir+json)
with the same status. Every refusal Bridges makes elsewhere as problem+json (the access table's
401/403, a 404, the lifecycle's 409, a stale version's 412, validation's 422, a 429, a 503) is
turned into one here, at the edge, so the rules stay in one place. The problem's `type` is kept
as the issue's `details` coding (system: the problem base), its `errors` as one issue each."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import Scope

from bridges_kit.body_rewrite import BodyRewrite
from bridges_kit.problems import PROBLEM_BASE, PROBLEM_JSON
from bridges_referrals.fhir.codes import FHIR_JSON

PREFIX = "/fhir"

# OperationOutcome.issue.code (IssueType) by HTTP status
ISSUE_TYPE = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    422: "invalid",
    428: "required",
    429: "throttled",
    503: "transient",
}
BUSINESS_RULE_SLUGS = frozenset({"unprocessable"})  # a domain rule refused (consent missing, …)

OPERATION_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "FHIR OperationOutcome: the issue's details coding carries the problem type",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "required": ["severity", "code"]},
        },
    },
}


def operation_outcome(problem: dict[str, Any]) -> dict[str, Any]:
    """The OperationOutcome saying what `problem` (an RFC 9457 body) says."""
    status = int(problem.get("status", 500))
    slug = str(problem.get("type", "")).removeprefix(PROBLEM_BASE) or "internal"
    code = "business-rule" if slug in BUSINESS_RULE_SLUGS else ISSUE_TYPE.get(status, "exception")
    details = {
        "coding": [{"system": PROBLEM_BASE, "code": slug}],
        "text": str(problem.get("title", "")),
    }
    issues: list[dict[str, Any]] = []
    for error in problem.get("errors") or []:
        issue: dict[str, Any] = {
            "severity": "error",
            "code": code,
            "details": details,
            "diagnostics": str(error.get("message", "")),
        }
        where = error.get("expression") or error.get("path") or error.get("location")
        if where:
            where = where if isinstance(where, str) else ".".join(str(p) for p in where)
            issue["expression"] = [where]
        issues.append(issue)
    if not issues:
        issues.append(
            {
                "severity": "error",
                "code": code,
                "details": details,
                "diagnostics": str(problem.get("detail", "")),
            }
        )
    return {"resourceType": "OperationOutcome", "issue": issues}


class OperationOutcomes(BodyRewrite):
    """ASGI middleware: a problem+json answer to a request under `/fhir` becomes an
    OperationOutcome (other answers and other paths pass untouched, unbuffered)."""

    def matches(self, scope: Scope) -> bool:
        return bool(scope["path"].startswith(PREFIX))

    def holds(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        return headers.get(b"content-type", b"").startswith(PROBLEM_JSON.encode())

    def rewrite(self, body: bytes) -> tuple[bytes, bytes]:
        outcome = operation_outcome(json.loads(body))
        return json.dumps(outcome).encode(), FHIR_JSON.encode()


def document(app: FastAPI) -> None:
    """The OpenAPI document says so: `/fhir` operations answer errors as OperationOutcome."""
    built: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = built()
        if "OperationOutcome" in schema["components"]["schemas"]:
            return schema
        schema["components"]["schemas"]["OperationOutcome"] = OPERATION_OUTCOME_SCHEMA
        outcome = {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
        for path, operations in schema["paths"].items():
            if not path.startswith(PREFIX):
                continue
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    if PROBLEM_JSON in response.get("content", {}):
                        response["content"] = outcome
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
