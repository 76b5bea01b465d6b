"""How a delivery goes out: a signed webhook POST or an email, behind one small protocol (text
messages: `sms`). A transport never raises for what the receiving side does: every outcome is
an `AttemptResult`, which the retry policy reads."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx

from bridges_kit.signed_links import LinkSigner
from bridges_kit.signing import signature_headers
from bridges_notifications import listing_reviews, messages, netguard, retry
from bridges_notifications.domain import AttemptResult, AudienceKind, ClaimedDelivery
from bridges_notifications.family_messages import FamilyMessages, NotSent
from bridges_notifications.receiver_connections import ReceiverConnections
from bridges_schema import ListingReviewRequested, parse_event

MAX_ANSWER_BYTES = 64 * 1024  # read to reuse the connection; receivers answer with little


class Transport(Protocol):
    async def send(self, delivery: ClaimedDelivery) -> AttemptResult: ...

    async def close(self) -> None: ...


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


class WebhookTransport:
    """Standard Webhooks: the event as the body, signed with every secret in use; connects to the
    address the SSRF guard checked; never follows redirects. Connections are kept alive between
    deliveries (`receiver_connections`): a receiver's answer is read, up to `MAX_ANSWER_BYTES`,
    so its connection can carry the next one."""

    def __init__(
        self,
        timeout_s: float,
        allowed_networks: tuple[netguard.Network, ...],
        max_connections: int,
    ) -> None:
        self._allowed = allowed_networks
        self._timeout_s = timeout_s
        self._connections = ReceiverConnections(timeout_s, max_connections)

    async def close(self) -> None:
        await self._connections.close()

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        started = time.perf_counter()
        if delivery.url is None or not delivery.secrets:
            return AttemptResult(None, 0, "refused: the endpoint is gone")
        try:
            target = await netguard.pin(delivery.url, self._allowed)
        except netguard.UnsafeUrl as exc:
            return AttemptResult(None, _ms(started), f"refused: {exc}"[:300])
        body = delivery.payload.decode()
        headers = signature_headers(delivery.event_id, datetime.now(UTC), body, delivery.secrets)
        tls_name = target.server_name if target.url.startswith("https:") else None
        try:
            async with (
                self._connections.client(tls_name) as client,
                client.stream(
                    "POST",
                    target.url,  # the checked address itself: no second DNS answer is used
                    content=body,
                    headers={**headers, "host": target.host_header},
                    extensions={"sni_hostname": target.server_name},
                ) as response,
            ):
                status, retry_after = response.status_code, response.headers.get("retry-after")
                await _read_answer(response, started + self._timeout_s)
        except httpx.TimeoutException:
            return AttemptResult(None, _ms(started), "timeout")
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms(started), f"{type(exc).__name__}: {exc}"[:300])
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return AttemptResult(status, _ms(started), error, retry.parse_retry_after(retry_after))


async def _read_answer(response: httpx.Response, deadline: float) -> None:
    """Read the (ignored) answer so the connection can be reused; an answer that is long, or
    slow to come, is left unread: the connection is then closed, the status stands."""
    read = 0
    try:
        async with asyncio.timeout(max(deadline - time.perf_counter(), 0.0)):
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > MAX_ANSWER_BYTES:
                    return
    except (TimeoutError, httpx.HTTPError):
        return


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "Bridges <no-reply@bridges.example.org>"
    timeout_s: float = 10.0


class EmailTransport:
    """A short notice with a link, in the recipient's language (see `messages`; an agency's
    listing review: `listing_reviews`, its link signed with `listing_links`); or a family's
    follow-up message, fetched when it is sent (`family_messages`)."""

    def __init__(
        self,
        mail: MailSettings,
        link_base: str,
        family: FamilyMessages | None = None,
        listing_links: LinkSigner | None = None,
    ) -> None:
        self._mail = mail
        self._link_base = link_base
        self._family = family
        self._listing_links = listing_links

    async def close(self) -> None:
        if self._family is not None:
            await self._family.close()

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        if delivery.audience is AudienceKind.FAMILY:
            return await self._send_family(delivery)
        event, language = parse_event(delivery.payload), delivery.language or "en"
        if isinstance(event.data, ListingReviewRequested):
            notice = listing_reviews.compose(event, language, self._link_base, self._listing_links)
        else:
            notice = messages.compose(event, language, self._link_base, delivery.audience)
        sender = self._mail.sender
        return await self._send(messages.message(notice, sender, delivery.target, str(delivery.id)))

    async def _send_family(self, delivery: ClaimedDelivery) -> AttemptResult:
        if self._family is None:
            return AttemptResult(None, 0, "families' messages are not configured here")
        fetched = await self._family.fetch(delivery)
        if isinstance(fetched, NotSent):
            return fetched.result
        notice = messages.Notice(fetched.subject, fetched.text, fetched.html or "")
        mail = messages.message(notice, self._mail.sender, fetched.to, str(delivery.id))
        mail["Content-Language"] = fetched.language
        # the address may be in an exception's text: the attempt log keeps the kind only
        return await self._send(mail, private=True)

    async def _send(self, message: EmailMessage, *, private: bool = False) -> AttemptResult:
        started = time.perf_counter()
        mail = self._mail
        try:
            await aiosmtplib.send(
                message,
                hostname=mail.host,
                port=mail.port,
                start_tls=mail.starttls,
                use_tls=mail.use_tls,
                username=mail.username,
                password=mail.password,
                timeout=mail.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            # a permanent SMTP refusal is the receiver's 4xx: not retried
            return AttemptResult(400 if permanent else None, _ms(started), f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            said = type(exc).__name__ if private else f"{type(exc).__name__}: {exc}"
            return AttemptResult(None, _ms(started), said[:300])
        return AttemptResult(250, _ms(started), None)
