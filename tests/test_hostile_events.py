"""Hostile and malformed messages on the bus, on the real stack (three services, one NATS
namespace): each consumer parks every one of them in its dead_letters table with a reason it
also logs, applies none, and goes on: a valid event published after them is still applied."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from bridges_devstack.samples import service_upserted
from bridges_devstack.testing import eventually
from bridges_kit.text import storable
from bridges_schema import (
    DELIVERY_SUCCEEDED,
    REFERRAL_REQUESTED,
    CloudEvent,
    DeliveryChannel,
    DeliverySucceeded,
    ReferralRequested,
    Urgency,
    event_spec,
    new_event,
)

pytestmark = pytest.mark.e2e

NUL = "\u0000"


def _delivery(**fields: Any) -> CloudEvent[Any]:
    data: dict[str, Any] = {
        "delivery_id": uuid.uuid4(),
        "channel": DeliveryChannel.EMAIL,
        "agency_id": None,  # an officer's notice: nothing to record, but applied all the same
        "endpoint_id": None,
        "source_event_id": str(uuid.uuid4()),
        "source_event_type": REFERRAL_REQUESTED.type,
        "attempts": 1,
        "delivered_at": datetime.now(UTC),
        **fields,
    }
    return new_event(DELIVERY_SUCCEEDED, DeliverySucceeded(**data), source="/bridges/notifications")


def _referral(agency_id: uuid.UUID) -> CloudEvent[Any]:
    now = datetime.now(UTC)
    data = ReferralRequested(
        referral_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        program_id=uuid.uuid4(),
        agency_id=agency_id,
        urgency=Urgency.HIGH,
        need_codes=("food.pantry",),
        officer_id="badge-1234",
        version=1,
        requested_at=now,
        respond_by=now + timedelta(days=1),
    )
    return new_event(REFERRAL_REQUESTED, data, source="/bridges/referrals")


@dataclass(frozen=True)
class Target:
    """A consumer, a valid event of its stream, and fields of that event to tamper with."""

    service: str
    durable: str
    valid: CloudEvent[Any]
    text_field: str  # a string with a length limit
    uuid_field: str


def _targets(agency_id: uuid.UUID) -> list[Target]:
    return [
        Target("referrals", "referrals-programs", service_upserted(), "name", "service_id"),
        Target("referrals", "referrals-delivery", _delivery(), "source_event_type", "delivery_id"),
        Target(
            "notifications",
            "notifications-referrals",
            _referral(agency_id),
            "officer_id",
            "referral_id",
        ),
    ]


def _tampered(event: CloudEvent[Any], **changes: Any) -> bytes:
    envelope = json.loads(event.model_dump_json())
    envelope["id"] = str(uuid.uuid4())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = envelope
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return json.dumps(envelope).encode()


def _hostile(target: Target, namespace: str) -> list[tuple[str, str, bytes, str]]:
    """(label, subject, payload, the reason expected) for each hostile message."""
    valid, subject = target.valid, event_spec(target.valid).subject(namespace)
    domain = event_spec(valid).domain.value
    messages = [
        ("not JSON", subject, b"this is not JSON {", r"^not JSON"),
        ("invalid UTF-8", subject, b'{"specversion": "1.0", "id": "\xff\xfe"}', r"^not JSON"),
        ("a JSON array", subject, b"[1, 2, 3]", r"^not a valid event: \$: "),
        (
            "an envelope of the wrong shape",
            subject,
            json.dumps({"id": 5, "type": valid.type, "data": "x"}).encode(),
            r"^not a valid event: .*\$\.id: ",
        ),
        (
            "nesting 5000 deep",
            subject,
            b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            r"^not (JSON|a valid event)",
        ),
        (
            "an unknown event type",
            subject,
            _tampered(valid, type=f"org.bridges.{domain}.exploded.v1"),
            r"^unknown event type 'org\.bridges\.\w+\.exploded\.v1'",
        ),
        (
            "a NUL in the data",
            subject,
            _tampered(valid, **{f"data__{target.text_field}": f"x{NUL}y"}),
            rf"^unstorable text at \$\.data\.{target.text_field}: NUL",
        ),
        (
            "a NUL in the event id",
            subject,
            _tampered(valid, id=f"evt{NUL}1"),
            r"^unstorable text at \$\.id: NUL",
        ),
        (
            "a huge string",
            subject,
            _tampered(valid, **{f"data__{target.text_field}": "A" * 50_000}),
            rf"^not a valid event: \$\.data\.{target.text_field}: String should have at most",
        ),
        (
            "an id that is no UUID",
            subject,
            _tampered(valid, **{f"data__{target.uuid_field}": "../../etc/passwd"}),
            rf"^not a valid event: \$\.data\.{target.uuid_field}: Input should be a valid UUID",
        ),
        (
            "an oversized message",
            subject,
            _tampered(valid, padding="P" * 200_000),
            r"^oversized: \d+ bytes",
        ),
        (
            "another service speaking for this domain",
            subject,
            _tampered(
                valid,
                source="/bridges/directory" if domain != "directory" else "/bridges/referrals",
            ),
            rf"^source '/bridges/\w+' may not speak for the {domain} domain, only /bridges/\w+$",
        ),
        (
            "a subject its type never travels on",
            f"{namespace}.{domain}.v1.forged",
            _tampered(valid),
            rf"^a {re.escape(valid.type)} event on {namespace}\.{domain}\.v1\.forged, not on",
        ),
    ]
    if target.durable == "referrals-delivery":
        never_filed = uuid.uuid4()
        messages.append(
            (
                "a delivery of a referral that does not exist",
                subject,
                _delivery(agency_id=uuid.uuid4(), referral_id=never_filed)
                .model_dump_json()
                .encode(),
                rf"^ReferralNotFound: no referral {never_filed}$",
            )
        )
    return messages


async def test_hostile_events_are_parked_with_a_reason_and_the_consumers_go_on(stack):
    targets = _targets(stack.agency_id)
    services = {"referrals": stack.referrals, "notifications": stack.notifications}
    js = stack.referrals.runtime.js
    sent: dict[str, dict[int, tuple[str, str]]] = {t.durable: {} for t in targets}
    with capture_logs() as logs:
        for target in targets:
            for label, subject, payload, reason in _hostile(target, stack.namespace):
                ack = await js.publish(subject, payload)
                sent[target.durable][ack.seq] = (label, reason)
        for target in targets:  # after all the hostile ones
            await js.publish(
                event_spec(target.valid).subject(stack.namespace),
                target.valid.model_dump_json().encode(),
            )

        async def all_settled() -> bool:
            for target in targets:
                pool = services[target.service].runtime.pool
                applied = await pool.fetchval(
                    "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = $2",
                    target.durable,
                    target.valid.id,
                )
                parked = await pool.fetchval(
                    "SELECT count(*) FROM dead_letters WHERE consumer = $1", target.durable
                )
                if (applied, parked) != (1, len(sent[target.durable])):
                    return False
            return True

        await eventually(all_settled, timeout_s=20)

    logged = {
        (entry["consumer"].split("-", 1)[1], storable(entry["error"]))
        for entry in logs
        if entry["event"] == "consumer_dead_letter"
    }
    for target in targets:
        pool = services[target.service].runtime.pool
        letters = {
            row["stream_sequence"]: row
            for row in await pool.fetch(
                "SELECT stream_sequence, error, deliveries, event_id FROM dead_letters "
                "WHERE consumer = $1",
                target.durable,
            )
        }
        assert set(letters) == set(sent[target.durable])
        for sequence, (label, reason) in sent[target.durable].items():
            letter = letters[sequence]
            assert re.search(reason, letter["error"]), (target.durable, label, letter["error"])
            assert letter["deliveries"] == 1, (label, "parked at once, not retried")
            assert (target.durable, letter["error"]) in logged, (label, "the reason is logged")
    # none of them was applied: the read-model holds the valid program only
    assert await stack.referrals.runtime.pool.fetchval("SELECT count(*) FROM program") == 1
