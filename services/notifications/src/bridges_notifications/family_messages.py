"""A family's follow-up message, fetched from the referrals service at the moment it is sent
(`GET /follow-ups/{id}/message`, with the services' shared key): the address and the words
never travel on the bus and are never stored here, and a follow-up cancelled meanwhile (consent
withdrawn, already answered) is not sent.

What the fetch can say, and what the delivery makes of it (an `AttemptResult`, never raised):
- the message: sent now by its channel's transport;
- 410: no longer to be sent: given up at once (a 4xx), not retried;
- 425: not in the family's safe hours: tried again after its `Retry-After`;
- anything else (referrals away, a wrong key): tried again on the retry schedule. None of these
  is the receiver's fault: they never count toward its circuit breaker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from bridges_notifications import retry
from bridges_notifications.domain import AttemptResult, ClaimedDelivery


class FamilyMessage(BaseModel):
    """As the referrals service answers it (see its `FamilyMessage`)."""

    follow_up_id: UUID
    channel: str
    to: str
    language: str
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class NotSent:
    """Why the message was not fetched, as the attempt's result."""

    result: AttemptResult


class FamilyMessages:
    """Fetches families' messages from the referrals service (one kept-alive client)."""

    def __init__(self, referrals_url: str, service_key: str | None, timeout_s: float) -> None:
        self._url = referrals_url.rstrip("/")
        self._key = service_key
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch(self, delivery: ClaimedDelivery) -> FamilyMessage | NotSent:
        started = time.perf_counter()

        def not_sent(status: int | None, error: str, retry_after: float | None = None) -> NotSent:
            ms = int((time.perf_counter() - started) * 1000)
            return NotSent(AttemptResult(status, ms, error, retry_after, receivers_fault=False))

        if not self._key:
            return not_sent(None, "no BRIDGES_SERVICE_KEY: the family's message cannot be fetched")
        try:
            response = await self._client.get(
                f"{self._url}/follow-ups/{delivery.target}/message",
                headers={"Authorization": f"Bearer {self._key}"},
            )
        except httpx.HTTPError as exc:
            return not_sent(None, f"referrals service: {type(exc).__name__}")
        if response.status_code == 410:
            return not_sent(410, "the follow-up is no longer to be sent (cancelled or answered)")
        if response.status_code == 425:
            wait = retry.parse_retry_after(response.headers.get("retry-after"))
            return not_sent(None, "not in the family's safe hours", wait)
        if response.status_code != 200:
            return not_sent(None, f"referrals service answered {response.status_code}")
        try:
            return FamilyMessage.model_validate_json(response.content)
        except ValidationError:
            return not_sent(None, "referrals service: a message it should not have sent")
