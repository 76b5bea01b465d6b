"""Conditional requests: for what a client polls, a strong ETag over the JSON body and 304
without a body when the client already holds it; for a write, `If-Match` with the ETag the
client last read (a write over someone else's change is refused: 412, see `versions`)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel

from bridges_kit.versions import weakly_names

# Polled lists hold personal data: no cache, shared or private, may keep them. The client keeps
# the last body and its ETag itself and sends If-None-Match.
CACHE_CONTROL = "no-store, private"

IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="the ETag of the last answer: 304 if unchanged"),
]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="the ETag last read: refused (412) if it changed since; none: unconditional",
    ),
]

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is current (no body)"}
}
"""The 304 answer, for a route's `responses=` (OpenAPI)."""


def etag_of(body: bytes) -> str:
    """A strong ETag: the same bytes, the same tag."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match value names `etag` (weak comparison, as RFC 9110 asks for it)."""
    return if_none_match is not None and weakly_names(if_none_match, etag)


class Conditional:
    """A conditional GET in two steps, for an answer whose making records something (e.g. an
    audit entry) only when the client does not hold it yet: `held(model)`, then `response`."""

    def __init__(self, if_none_match: str | None) -> None:
        self._if_none_match = if_none_match
        self._model: BaseModel | None = None
        self._body = b""
        self._etag = ""

    def held(self, model: BaseModel) -> bool:
        """Whether the client already holds `model` (its If-None-Match names its ETag)."""
        if model is not self._model:
            self._model, self._body = model, model.model_dump_json(by_alias=True).encode()
            self._etag = etag_of(self._body)
        return none_match(self._if_none_match, self._etag)

    def response(self, model: BaseModel) -> Response:
        """`model` as JSON with its ETag, or 304 when the client holds it."""
        held = self.held(model)
        headers = {"ETag": self._etag, "Cache-Control": CACHE_CONTROL}
        if held:
            return Response(status_code=304, headers=headers)
        return Response(self._body, media_type="application/json", headers=headers)


def conditional_json(model: BaseModel, if_none_match: str | None) -> Response:
    """`model` as JSON with its ETag, or 304 when `if_none_match` names that ETag."""
    return Conditional(if_none_match).response(model)
