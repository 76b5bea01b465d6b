"""An agency keeps its listing true, across the three services: its intake closed "until" a day
reaches officers' search and the referrals service, which refuses a referral with the agency's
reason, and opening again takes referrals again; the monthly "please confirm your listing"
email arrives over real SMTP with a one-tap link that confirms the agency's programs once (and
no token on the bus or in the notifications database)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bridges_devstack.servers import free_port
from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.conftest import start_stack
from tests.scenario import create_program, intake

pytestmark = pytest.mark.e2e


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


def _staff(stack: Any) -> str:
    return str(stack.token(Role.AGENCY_STAFF, name="Lee Chen"))


async def _file(stack: Any, program_id: str) -> Any:
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        return await c.post(
            "/referrals", json=intake([program_id]), headers={"Idempotency-Key": uuid.uuid4().hex}
        )


async def test_a_closed_intake_reaches_search_and_refuses_referrals_with_its_reason(stack):
    program = await create_program(stack)
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    async with stack.directory.client(_staff(stack)) as c:
        closed = await c.patch(
            f"/services/{program['id']}/capacity",
            json={
                "accepting_referrals": False,
                "capacity_status": "full",
                "capacity_until": until,
                "capacity_note": "Kitchen renovation",
            },
        )
        assert closed.status_code == 200, closed.text
    async with stack.directory.client() as c:
        found = await c.get("/services", params={"search": "Riverton Test Food Pantry"})
        [shown] = [s for s in found.json()["contents"] if s["id"] == program["id"]]
        assert shown["x_bridges"]["capacity_until"] == until
        accepting = await c.get(
            "/services", params={"search": "Riverton Test Food Pantry", "accepting": "true"}
        )
        assert program["id"] not in accepting.text

    pool = stack.referrals.runtime.pool

    async def heard() -> bool:
        row = await pool.fetchrow(
            "SELECT accepting_referrals, capacity_note FROM program WHERE service_id = $1",
            uuid.UUID(program["id"]),
        )
        return row is not None and not row["accepting_referrals"] and row["capacity_note"] != ""

    await eventually(heard)
    refused = await _file(stack, program["id"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        f"Riverton Test Food Pantry is not accepting referrals until {until}: Kitchen renovation"
    )

    async with stack.directory.client(_staff(stack)) as c:
        opened = await c.patch(
            f"/services/{program['id']}/capacity",
            json={"accepting_referrals": True, "capacity_status": "available"},
        )
        assert opened.status_code == 200 and "capacity_note" not in opened.json()["x_bridges"]

    async def open_again() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT accepting_referrals FROM program WHERE service_id = $1",
                uuid.UUID(program["id"]),
            )
        )

    await eventually(open_again)
    assert (await _file(stack, program["id"])).status_code == 201


async def test_the_monthly_email_confirms_the_listing_once(infra, services_factory, mailbox):
    stack = await start_stack(
        infra,
        services_factory,
        notifications={
            "BRIDGES_SMTP_PORT": str(mailbox.port),
            "BRIDGES_REFERRAL_LINK_BASE": "https://bridges.example.org/app/",
        },
    )
    program = await create_program(stack)
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        added = await c.post(
            f"/agencies/{stack.agency_id}/email-recipients",
            json={"address": "desk@riverton.example.org", "language": "es"},
        )
        assert added.status_code == 201, added.text
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        asked = await c.post("/listing-reviews", json={"agency_id": str(stack.agency_id)})
        assert asked.status_code == 201, asked.text
        nobody = await c.post("/listing-reviews", json={"agency_id": str(uuid.uuid4())})
        assert nobody.status_code == 404

    await eventually(lambda: _arrived(mailbox), timeout_s=30)
    [mail] = mailbox.messages
    assert mail["To"] == "desk@riverton.example.org" and mail["Subject"].startswith("Confirme")
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    token = re.search(r"https://bridges\.example\.org/app/#/confirm/(\S+)", text)
    assert token is not None, text
    payloads = await stack.notifications.runtime.pool.fetch("SELECT payload FROM delivery")
    assert payloads and all(token[1].encode() not in p["payload"] for p in payloads)

    async with stack.directory.client() as c:
        confirmed = await c.post("/listing-reviews/confirmation", json={"token": token[1]})
        assert confirmed.status_code == 200, confirmed.text
        today = datetime.now(UTC).date()
        [shown] = confirmed.json()["programs"]
        assert shown["id"] == program["id"]
        assert shown["last_verified"] in {str(today), str(today - timedelta(days=1))}
        again = await c.post("/listing-reviews/confirmation", json={"token": token[1]})
        assert again.status_code == 410 and "used" in again.json()["detail"]
        forged = await c.post(
            "/listing-reviews/confirmation", json={"token": token[1][:-3] + "abc"}
        )
        assert forged.status_code == 404
        served = (await c.get(f"/services/{program['id']}")).json()
        assert served["x_bridges"]["last_verified"] == shown["last_verified"]
    async with stack.directory.client(stack.token(Role.ADMIN)) as c:
        log = (await c.get("/audit", params={"service_id": program["id"]})).json()
        assert log["items"][0]["action"] == "confirmed"
        assert log["items"][0]["actor_sub"] == f"review-link:{asked.json()['id']}"


async def _arrived(mailbox: Mailbox) -> bool:
    return bool(mailbox.messages)
