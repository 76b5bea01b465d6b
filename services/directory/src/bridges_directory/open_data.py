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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class OpenData:
    """ASGI middleware for the public read routes named by `templates` (path templates)."""

    def __init__(self, app: ASGIApp, templates: Iterable[str]) -> None:
        self.app = app
        self.patterns = [(_pattern(t), t in STREAMED) for t in templates]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = (
            next((streamed for p, streamed in self.patterns if p.match(scope["path"])), None)
            if scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            else None
        )
        if matched is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != ANY_ORIGIN[0]]
                message = {**message, "headers": [*headers, ANY_ORIGIN]}
                content_type = dict(headers).get(b"content-type", b"")
                if not matched and content_type == b"application/json":
                    start = message  # held until the body is rewritten
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                answer = json.dumps(without_nulls(json.loads(body)), separators=(",", ":"))
                encoded = answer.encode()
                headers = [h for h in start["headers"] if h[0] != b"content-length"]
                headers.append((b"content-length", str(len(encoded)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": encoded})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
