"""Sample events for tests and benchmarks (fictional programs, no personal data)."""

from __future__ import annotations

import uuid
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
