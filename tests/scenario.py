"""Steps the end-to-end tests share: a program, an endpoint, an intake (fictional family)."""

from __future__ import annotations

import uuid
from typing import Any

from bridges_devstack.samples import intake_body
from bridges_devstack.testing import eventually
from bridges_schema import Role

FAMILY_NAME = "Quintanilla-Okafor"
NEED = "food.pantry"
PANTRY = {
    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bridges-test/term/{NEED}")),
    "code": NEED,
    "name": "Food Pantry",
}
PHONE = "+1 503 555 0142"


def program(agency_id: uuid.UUID, *, accepting: bool = True) -> dict[str, Any]:
    org_id, service_id, loc_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return {
        "id": str(service_id),
        "name": "Riverton Test Food Pantry",
        "description": "Weekly groceries for families.",
        "status": "active",
        "organization": {"id": str(org_id), "name": "Riverton Test Org", "description": "x"},
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": {
                    "id": str(loc_id),
                    "name": "Main St",
                    "latitude": 45.5,
                    "longitude": -122.6,
                },
            }
        ],
        # the need intakes name: the directory's taxonomy is what makes a need code known
        "attributes": [
            {
                "id": str(uuid.uuid4()),
                "taxonomy_term_id": str(PANTRY["id"]),
                "taxonomy_term": PANTRY,
            }
        ],
        "x_bridges": {"agency_id": str(agency_id), "accepting_referrals": accepting},
    }


def intake(program_ids: list[str], **overrides: Any) -> dict[str, Any]:
    fields = {"needs": [NEED], **overrides}
    given = fields.pop("client", {})
    contact = {"phone": PHONE, "preferred_language": "es", **given.get("contact", {})}
    family = {"family_name": FAMILY_NAME, **given, "contact": contact}
    return intake_body(program_ids, client=family, **fields)


async def create_program(stack: Any, **kwargs: Any) -> dict[str, Any]:
    """Create a program in the directory and wait until the referrals read-model has it."""
    body = program(stack.agency_id, **kwargs)
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        r = await c.post("/services", json=body)
        assert r.status_code == 201, r.text
    pool = stack.referrals.runtime.pool

    async def known() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT 1 FROM program WHERE service_id = $1", uuid.UUID(body["id"])
            )
        )

    await eventually(known)
    return body


async def register_endpoint(stack: Any, url: str) -> dict[str, Any]:
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        r = await c.post(f"/agencies/{stack.agency_id}/endpoints", json={"url": url})
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created


async def file_referral(stack: Any, program_ids: list[str]) -> dict[str, Any]:
    """The officer files `intake` to the programs: the server's answer (the case and referrals)."""
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post(
            "/referrals", json=intake(program_ids), headers={"Idempotency-Key": uuid.uuid4().hex}
        )
    assert filed.status_code == 201, filed.text
    answer: dict[str, Any] = filed.json()
    return answer
