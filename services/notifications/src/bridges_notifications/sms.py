"""Text messages to families, through a pluggable sender behind the same delivery machinery as
webhooks and email (retries, dead letters, the circuit breaker of its channel):
- `FileSink`: each message a file in a folder (`make up` writes `.bridges/sms/`, as mail lands
  in `.bridges/mail/`), for development and tests;
- `HttpSmsProvider`: an SMS provider's HTTP API, configured by its URL and key. It POSTs
  `{"to", "from", "text", "reference"}` as JSON with `Authorization: Bearer <key>`; a 2xx is
  sent, a 4xx other than 408/429 is a refusal not retried (a number that takes no texts), and
  5xx, 408, 429 and timeouts are retried, honouring `Retry-After`. A provider with another
  shape is put behind a small relay speaking this one.
Errors never carry the number or the words: the attempt log is not family data."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID

import httpx

from bridges_notifications import retry
from bridges_notifications.domain import AttemptResult, ClaimedDelivery
from bridges_notifications.family_messages import FamilyMessage, FamilyMessages, NotSent


class SmsSender(Protocol):
    async def send(self, to: str, text: str, reference: UUID) -> AttemptResult: ...

    async def close(self) -> None: ...


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class FileSink:
    """Writes each message to `<folder>/<time>-<reference>.txt` (readable by its owner only)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def close(self) -> None:
        return None

    async def send(self, to: str, text: str, reference: UUID) -> AttemptResult:
        started = time.perf_counter()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self._folder / f"{stamp}-{reference}.txt"
        content = f"To: {to}\nReference: {reference}\n\n{text}\n"
        try:
            await asyncio.to_thread(_write_private, path, content)
        except OSError as exc:
            return AttemptResult(None, _ms(started), f"SMS sink: {type(exc).__name__}")
        return AttemptResult(200, _ms(started), None)


def _write_private(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(content)
    partial.replace(path)  # a reader never sees half a message


class HttpSmsProvider:
    """An SMS provider's HTTP API (see the module's docstring for the shape)."""

    def __init__(self, url: str, key: str, sender: str, timeout_s: float) -> None:
        self._url = url
        self._key = key
        self._sender = sender
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, to: str, text: str, reference: UUID) -> AttemptResult:
        started = time.perf_counter()
        try:
            response = await self._client.post(
                self._url,
                json={"to": to, "from": self._sender, "text": text, "reference": str(reference)},
                headers={"Authorization": f"Bearer {self._key}"},
            )
        except httpx.TimeoutException:
            return AttemptResult(None, _ms(started), "SMS provider: timeout")
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms(started), f"SMS provider: {type(exc).__name__}")
        status = response.status_code
        error = None if 200 <= status < 300 else f"SMS provider answered {status}"
        wait = retry.parse_retry_after(response.headers.get("retry-after"))
        return AttemptResult(status, _ms(started), error, wait)


class NoSmsSender:
    """Neither a provider nor a sink is configured: every text message waits, then is parked."""

    async def close(self) -> None:
        return None

    async def send(self, to: str, text: str, reference: UUID) -> AttemptResult:
        return AttemptResult(
            None, 0, "no SMS sender: set BRIDGES_SMS_PROVIDER_URL (or BRIDGES_SMS_SINK_DIR)"
        )


class SmsTransport:
    """A family's follow-up by text: its message fetched, then handed to the sender."""

    def __init__(self, messages: FamilyMessages, sender: SmsSender) -> None:
        self._messages = messages
        self._sender = sender

    async def close(self) -> None:
        await self._sender.close()
        await self._messages.close()

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        message: FamilyMessage | NotSent = await self._messages.fetch(delivery)
        if isinstance(message, NotSent):
            return message.result
        return await self._sender.send(message.to, message.text, delivery.id)
