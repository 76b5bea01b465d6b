"""Real objects for every route of every service to point at: a program of agency X (its
organization, its location, a taxonomy term), a referral officer A filed to it, X's webhook
endpoint and email recipient and the delivery that told X; and the callers who own them
(officer A, X's staff) or do not (officer B, agency Y's staff)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bridges_devstack.testing import RunningService, eventually
from bridges_directory import access as directory_access
from bridges_kit.access import Owner, Table
from bridges_notifications import access as notifications_access
from bridges_referrals import access as referrals_access
from bridges_schema import Role
from tests.scenario import create_program, file_referral, register_endpoint

SERVICES = ("directory", "referrals", "notifications")


def tables() -> dict[str, Table]:
    """Each service's access table, as its app installs it (no development sign-in here)."""
    return {
        "directory": directory_access.TABLE,
        "referrals": referrals_access.TABLE,
        "notifications": notifications_access.TABLE,
    }


@dataclass
class World:
    stack: Any
    ids: dict[str, str]  # path parameter -> a real id
    officer_b: str
    agency_y: uuid.UUID

    def service(self, name: str) -> RunningService:
        running: RunningService = getattr(self.stack, name)
        return running

    def token(self, role: Role) -> str:
        """A caller of `role` who owns the world's objects (officer A, agency X's staff)."""
        return str(self.stack.token(role))

    def stranger(self, owner: Owner) -> str:
        """A caller of the owner's role who does not own them (officer B, agency Y's staff)."""
        if owner.role is Role.OFFICER:
            return str(self.stack.token(Role.OFFICER, sub=self.officer_b))
        if owner.role is Role.AGENCY_STAFF:
            return str(self.stack.token(Role.AGENCY_STAFF, agency_id=self.agency_y))
        raise AssertionError(f"no stranger of role {owner.role} to try")

    def path(self, template: str) -> str:
        """`template` with each parameter replaced by its real id (KeyError names a new one)."""
        parts = []
        for segment in template.split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                segment = self.ids[segment[1:-1].split(":")[0]]
            parts.append(segment)
        return "/".join(parts)


async def build(stack: Any, webhook_url: str) -> World:
    """Create the objects, then wait until every event about them has been handled, so that
    nothing changes in the background while a test compares states."""
    program = await create_program(stack)
    endpoint = await register_endpoint(stack, webhook_url)
    term_id, recipient_id = await _term(stack), await _recipient(stack)
    filed = await file_referral(stack, [program["id"]])
    case_id, referral_id = filed["case_id"], filed["referrals"][0]["id"]
    delivery_id = await _delivered(stack, referral_id)
    await _settled(stack)
    follow_up_id = await stack.referrals.runtime.pool.fetchval(
        "SELECT id FROM follow_up WHERE case_id = $1", uuid.UUID(case_id)
    )
    return World(
        stack,
        ids={
            "service_id": program["id"],
            "organization_id": program["organization"]["id"],
            "location_id": program["service_at_locations"][0]["location"]["id"],
            "term_id": term_id,
            "recipient_id": recipient_id,
            "agency_id": str(stack.agency_id),
            "endpoint_id": endpoint["id"],
            "referral_id": referral_id,
            "case_id": case_id,
            "delivery_id": delivery_id,
            "follow_up_id": str(follow_up_id),  # internal: no role may fetch its message
            "subscription_id": str(uuid.uuid4()),  # admins' only: no owner to prove
            "letter_id": "1",  # none is parked: no dead-letter route has an owner to prove
            "path": "index.html",
        },
        officer_b=f"officer-b-{stack.namespace}",
        agency_y=uuid.uuid4(),
    )


async def _term(stack: Any) -> str:
    term = {"id": str(uuid.uuid4()), "code": f"world.{uuid.uuid4().hex[:8]}", "name": "World"}
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        answer = await c.put(f"/taxonomy_terms/{term['id']}", json=term)
        assert answer.status_code == 201, answer.text
    return term["id"]


async def _recipient(stack: Any) -> str:
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        answer = await c.post(
            f"/agencies/{stack.agency_id}/email-recipients",
            # disabled: no email is planned, so nothing changes behind the tests' backs
            json={"address": "intake@agency-x.example.org", "enabled": False},
        )
        assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def _delivered(stack: Any, referral_id: str) -> str:
    pool = stack.notifications.runtime.pool

    async def succeeded() -> str | None:
        row = await pool.fetchrow(
            "SELECT id, status FROM delivery WHERE referral_id = $1", uuid.UUID(referral_id)
        )
        return str(row["id"]) if row and row["status"] == "succeeded" else None

    return await eventually(succeeded)


async def _settled(stack: Any) -> None:
    """Every outbox published, and the referrals service has heard that the agency was told."""

    async def quiet() -> bool:
        for name in SERVICES:
            pool = getattr(stack, name).runtime.pool
            if await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                return False
        heard = await stack.referrals.runtime.pool.fetchval(
            "SELECT count(*) FROM processed_events WHERE consumer = 'referrals-delivery'"
        )
        return bool(heard)

    await eventually(quiet)


async def fingerprint(stack: Any) -> dict[str, str]:
    """Every table of every service, summed up: equal fingerprints, nothing written."""
    prints: dict[str, str] = {}
    for name in SERVICES:
        async with getattr(stack, name).runtime.pool.acquire() as conn:
            tables = await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
            for row in tables:
                table = row["table_name"]
                prints[f"{name}.{table}"] = await conn.fetchval(
                    f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' "
                    f"ORDER BY t::text)), '') FROM \"{table}\" t"
                )
    return prints
