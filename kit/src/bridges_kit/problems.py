"""RFC 9457 problem details: the one error shape every Bridges endpoint answers with.

Exception tree:
    Problem                      an error with an HTTP status, title and detail
    ├── BadRequest (400)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Gone (410)
    ├── PreconditionFailed (412)
    ├── PreconditionRequired (428)
    ├── Unprocessable (422)
    └── ServiceUnavailable (503)
Services raise these (or map their domain errors onto them in one table, see `ErrorMap`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://bridges.example.org/problems/"


class Problem(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            self.status, self.title, self.detail, self.slug, instance, **self.extensions
        )


def problem_body(
    status: int,
    title: str,
    detail: str,
    slug: str,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


class BadRequest(Problem):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(Problem):
    status, title, slug = 401, "Authentication required", "unauthorized"


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class Gone(Problem):
    status, title, slug = 410, "Gone", "gone"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PreconditionRequired(Problem):
    status, title, slug = 428, "Precondition required", "precondition-required"


class Unprocessable(Problem):
    status, title, slug = 422, "Unprocessable content", "unprocessable"


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "unavailable"


ErrorMap = Mapping[type[Exception], type[Problem]]
"""A service's table from its domain exceptions to problem types (the exception text is the detail)."""
