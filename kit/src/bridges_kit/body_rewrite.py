"""An ASGI middleware that rewrites some answers at the edge: for the requests it `matches`, it
may add headers, and the answers it `holds` (by their start message) are buffered whole and
given to `rewrite`, which returns the new body and content type. Everything else streams
through untouched. The FHIR facade turns problems into OperationOutcomes with it, the
directory drops the nulls of its open data."""

from __future__ import annotations

import abc

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyRewrite(abc.ABC):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @abc.abstractmethod
    def matches(self, scope: Scope) -> bool:
        """Whether this request's answer is looked at (an HTTP request)."""

    def extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """Headers set on every matched answer (replacing any of the same name)."""
        return []

    @abc.abstractmethod
    def holds(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        """Whether the answer starting with `headers` is to be rewritten."""

    @abc.abstractmethod
    def rewrite(self, body: bytes) -> tuple[bytes, bytes]:
        """The new body and its content type."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.matches(scope):
            await self.app(scope, receive, send)
            return
        extra = self.extra_headers(scope)
        replaced = {name for name, _ in extra}
        start: Message | None = None
        body = bytearray()

        async def rewriting(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] not in replaced]
                message = {**message, "headers": [*headers, *extra]}
                if self.holds(scope, dict(headers)):
                    start = message  # held until the body is rewritten
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                content, content_type = self.rewrite(bytes(body))
                headers = [
                    h for h in start["headers"] if h[0] not in (b"content-type", b"content-length")
                ]
                headers += [
                    (b"content-type", content_type),
                    (b"content-length", str(len(content)).encode()),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": content})
                return
            await send(message)

        await self.app(scope, receive, rewriting)
