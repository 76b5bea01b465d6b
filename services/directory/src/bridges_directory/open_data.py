"""The directory's public HSDS reads as the Open Referral UK rules want them: readable from any
web page (`Access-Control-Allow-Origin: *`: open data, no credentials) and without empty
optional fields (a field with no value is left out, never `null`). Applied at the edge to the
GET routes the access table makes public, so no query has to remember it; the streamed
`/export` gets the header only (it is a download, not an API answer)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Scope

from bridges_kit.body_rewrite import BodyRewrite

ANY_ORIGIN = (b"access-control-allow-origin", b"*")
STREAMED = frozenset({"/export"})


def without_nulls(value: Any) -> Any:
    """`value` with every null member of every object left out (arrays keep their items)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


class OpenData(BodyRewrite):
    """ASGI middleware for the public read routes named by `templates` (path templates)."""

    def __init__(self, app: ASGIApp, templates: Iterable[str]) -> None:
        super().__init__(app)
        self.patterns = [(_pattern(t), t in STREAMED) for t in templates]

    def _streamed(self, scope: Scope) -> bool | None:
        """None when the request is not a public read; else whether its answer is streamed."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        return next((streamed for p, streamed in self.patterns if p.match(scope["path"])), None)

    def matches(self, scope: Scope) -> bool:
        return self._streamed(scope) is not None

    def extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        return [ANY_ORIGIN]

    def holds(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        json_answer = headers.get(b"content-type", b"") == b"application/json"
        return json_answer and not self._streamed(scope)

    def rewrite(self, body: bytes) -> tuple[bytes, bytes]:
        if b"null" not in body:
            # nothing to leave out (no null, not even inside a text): served as written. The
            # stored documents hold no nulls, so a search's page (PostgreSQL's JSON text,
            # 60 KB and more) is not parsed and written again: that was half the service's
            # CPU per search.
            return body, b"application/json"
        answer = json.dumps(without_nulls(json.loads(body)), separators=(",", ":"))
        return answer.encode(), b"application/json"
