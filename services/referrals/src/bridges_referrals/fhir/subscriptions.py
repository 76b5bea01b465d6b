"""FHIR rest-hook Subscriptions in the R5 backport's shape (pure): what a client may subscribe
to (`Task?owner=Organization/<agency id>`, rest-hook, id-only content), the Subscription as
Bridges shows it, and the id-only notification Bundle (a `subscription-status` Parameters and
the changed Task's URL, no resource: the client reads it with its own token)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from bridges_referrals.fhir import codes
from bridges_referrals.fhir.inbound import InvalidResource, parse_resource

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
PAYLOAD_CONTENT = f"{BACKPORT}/backport-payload-content"
STATUS_PROFILE = f"{BACKPORT}/backport-subscription-status-r4"
TOPIC = f"{codes.BRIDGES}/SubscriptionTopic/task-owner"
SECRET_EXTENSION = f"{codes.BRIDGES}/StructureDefinition/webhook-secret"
_CRITERIA = re.compile(r"^Task\?owner=Organization/([0-9a-fA-F-]{36})$")


@dataclass(frozen=True)
class Wanted:
    """A Subscription as a client asks for it."""

    agency_id: UUID
    endpoint: str


@dataclass(frozen=True)
class Stored:
    id: UUID
    agency_id: UUID
    endpoint: str
    status: str
    events: int
    last_error: str | None = None


def wanted(body: Any, *, https_only: bool) -> Wanted:
    """What a posted Subscription asks for (InvalidResource says why it cannot be had)."""
    resource = parse_resource(body, "Subscription")
    issues = []
    match = _CRITERIA.match(str(resource.get("criteria", "")))
    if match is None:
        issues.append(("Subscription.criteria", "Bridges offers Task?owner=Organization/<id>"))
    channel = resource.get("channel", {})
    if channel.get("type") != "rest-hook":
        issues.append(("Subscription.channel.type", "only rest-hook"))
    endpoint = str(channel.get("endpoint", ""))
    schemes = ("https://",) if https_only else ("https://", "http://")
    if not endpoint.startswith(schemes):
        issues.append(("Subscription.channel.endpoint", f"an {' or '.join(schemes)} URL"))
    content = next(
        (
            e.get("valueCode")
            for e in channel.get("_payload", {}).get("extension", [])
            if e.get("url") == PAYLOAD_CONTENT
        ),
        "id-only",
    )
    if content != "id-only":
        issues.append(("Subscription.channel.payload", "only id-only content (no family data)"))
    if issues or match is None:
        raise InvalidResource(issues)
    try:
        agency_id = UUID(match.group(1))
    except ValueError:
        raise InvalidResource([("Subscription.criteria", "not an Organization id")]) from None
    return Wanted(agency_id, endpoint)


def resource(stored: Stored, secret: str | None = None) -> dict[str, Any]:
    """The Subscription as Bridges keeps it; `secret` only in the answer that created it."""
    subscription: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": str(stored.id),
        "status": stored.status,
        "reason": "Bridges referrals owned by one agency",
        "criteria": f"Task?owner=Organization/{stored.agency_id}",
        "channel": {
            "type": "rest-hook",
            "endpoint": stored.endpoint,
            "payload": codes.FHIR_JSON,
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
        },
    }
    if stored.last_error and stored.status == "error":
        subscription["error"] = stored.last_error
    if secret is not None:  # shown once: it signs every notification (Standard Webhooks)
        subscription["extension"] = [{"url": SECRET_EXTENSION, "valueString": secret}]
    return subscription


def notification(
    base_url: str, subscription: Stored, event_number: int, task_id: UUID, at: datetime
) -> dict[str, Any]:
    """The id-only event notification for one changed Task."""
    task_url = f"{base_url}/Task/{task_id}"
    status = {
        "resourceType": "Parameters",
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": [
            {
                "name": "subscription",
                "valueReference": {"reference": f"Subscription/{subscription.id}"},
            },
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": subscription.status},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event_number)},
                    {"name": "timestamp", "valueInstant": at.isoformat()},
                    {"name": "focus", "valueReference": {"reference": task_url}},
                ],
            },
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "history",
        "timestamp": at.isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{UUID(int=event_number)}",
                "resource": status,
                "request": {
                    "method": "GET",
                    "url": f"{base_url}/Subscription/{subscription.id}/$status",
                },
                "response": {"status": "200"},
            },
            {
                "fullUrl": task_url,
                "request": {"method": "PUT", "url": f"Task/{task_id}"},
                "response": {"status": "200"},
            },
        ],
    }
