"""Samples for tests and benchmarks: events (fictional programs, no personal data) and the
officer's intake body (a fictional family)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bridges_schema import SERVICE_UPSERTED, CapacityStatus, CloudEvent, ServiceUpserted, new_event


def service_upserted(**fields: Any) -> CloudEvent[ServiceUpserted]:
    """A `service.upserted` event as the directory publishes it; `fields` override the data."""
    data: dict[str, Any] = {
        "service_id": uuid.uuid4(),
        "version": 1,
        "organization_id": uuid.uuid4(),
        "organization_name": "Riverton Aid",
        "agency_id": uuid.uuid4(),
        "name": "Riverton Pantry",
        "status": "active",
        "accepting_referrals": True,
        "capacity_status": CapacityStatus.AVAILABLE,
        "modified_at": datetime.now(UTC),
        **fields,
    }
    return new_event(SERVICE_UPSERTED, ServiceUpserted(**data), source="/bridges/directory")


def consent(*scopes: str, **fields: Any) -> dict[str, Any]:
    """The family's consent as an intake gives it: given now by the client, verbally, to share
    `scopes` (contact and needs when none are named); `fields` override."""
    return {
        "given_by": "client",
        "method": "verbal",
        "given_at": datetime.now(UTC).isoformat(),
        "scopes": list(scopes or ("contact", "needs")),
        **fields,
    }


def intake_body(
    program_ids: Sequence[uuid.UUID | str],
    *,
    client: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An officer's intake (`POST /referrals`) for `program_ids`: a fictional family (Amara
    Diallo and her son), consent to share contact and needs given now. `client`'s entries are
    laid over the family's (its `contact` over the family's contact); any other field replaces
    the intake's own (`needs`, `consent`, `urgency`, `follow_up` ...). The one builder the tests
    and benchmarks file with."""
    family: dict[str, Any] = {
        "given_name": "Amara",
        "family_name": "Diallo",
        "date_of_birth": "1988-04-02",
        "contact": {"phone": "+1 503 555 0142", "safe_to_leave_message": False},
        "household": [{"given_name": "Tomas", "relationship": "child", "age": 3}],
    }
    given = dict(client or {})
    family["contact"] = {**family["contact"], **given.pop("contact", {})}
    family.update(given)
    return {
        "client": family,
        "needs": ["food.pantry"],
        "situation": "Lost job last month; toddler at home.",
        "urgency": "high",
        "program_ids": [str(p) for p in program_ids],
        "consent": consent(),
        **fields,
    }
