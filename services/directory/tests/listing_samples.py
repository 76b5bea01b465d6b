"""A program of an agency as the listing tests write it: one location in Riverton (with its
time zone and street address), a phone, weekday hours, checked at the start of the year."""

from __future__ import annotations

import uuid
from typing import Any


def agency_program(agency: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": "Riverton Diaper Bank",
        "description": "Diapers and wipes for families",
        "status": "active",
        "organization": {"id": str(uuid.uuid4()), "name": "Riverton Food Bank"},
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": {
                    "id": str(uuid.uuid4()),
                    "latitude": 45.0085,
                    "longitude": -123.0345,
                    "x_bridges": {"timezone": "America/Los_Angeles"},
                    "addresses": [
                        {
                            "id": str(uuid.uuid4()),
                            "address_1": "214 Mill Street",
                            "city": "Riverton",
                            "state_province": "OR",
                            "postal_code": "97910",
                            "country": "US",
                        }
                    ],
                },
            }
        ],
        "phones": [{"id": str(uuid.uuid4()), "number": "503-555-0100"}],
        "schedules": [
            {
                "id": str(uuid.uuid4()),
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR",
                "opens_at": "10:00",
                "closes_at": "18:00",
            }
        ],
        "x_bridges": {"agency_id": str(agency), "last_verified": "2026-01-05"},
    }
    body.update(overrides)
    return body
