"""Turn a referral event into deliveries: one per interested webhook endpoint and email
recipient of the receiving agency, and an email to the filing officer when a referral they
filed changes status (if they asked for it). At most one per (event, channel, target)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import structlog

from bridges_schema import REFERRAL_REQUESTED, CloudEvent, DeliveryChannel

log = structlog.get_logger(__name__)

WAKE_CHANNEL = "bridges_deliveries"
AGENCY_EMAIL_TYPES = frozenset({REFERRAL_REQUESTED.type, "org.bridges.referral.overdue.v1"})
OFFICER_EMAIL_STATUSES = frozenset(
    {"accepted", "rejected", "completed", "failed", "cancelled", "on-hold"}
)


async def on_referral_event(event: CloudEvent[Any], conn: asyncpg.Connection) -> None:
    data = event.data
    rows: list[tuple[Any, ...]] = []

    def add(
        channel: DeliveryChannel, target: str, endpoint: Any, lang: str | None, who: str
    ) -> None:
        rows.append(
            (
                uuid.uuid4(),
                event.id,
                event.type,
                data.referral_id,
                data.agency_id,
                endpoint,
                channel.value,
                target,
                lang,
                who,
            )
        )

    for endpoint in await conn.fetch(
        """SELECT id FROM endpoint WHERE agency_id = $1 AND enabled
           AND (cardinality(event_types) = 0 OR $2 = ANY(event_types))""",
        data.agency_id,
        event.type,
    ):
        add(DeliveryChannel.WEBHOOK, str(endpoint["id"]), endpoint["id"], None, "agency")
    if event.type in AGENCY_EMAIL_TYPES:
        for recipient in await conn.fetch(
            "SELECT address, language FROM email_recipient WHERE agency_id = $1 AND enabled",
            data.agency_id,
        ):
            add(DeliveryChannel.EMAIL, recipient["address"], None, recipient["language"], "agency")
    status = getattr(data, "status", None)
    if status is not None and str(status) in OFFICER_EMAIL_STATUSES:
        officer = await conn.fetchrow(
            "SELECT email, language FROM officer_preference WHERE officer_id = $1 AND enabled",
            data.officer_id,
        )
        if officer is not None:
            add(DeliveryChannel.EMAIL, officer["email"], None, officer["language"], "officer")
    if not rows:
        log.info("nobody_to_notify", agency_id=str(data.agency_id), event_type=event.type)
        return
    payload = event.model_dump_json().encode()
    await conn.executemany(
        """INSERT INTO delivery (id, event_id, event_type, referral_id, agency_id, endpoint_id,
               channel, target, language, audience, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (event_id, channel, target) DO NOTHING""",
        [(*row, payload) for row in rows],
    )
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
