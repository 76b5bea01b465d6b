"""The leak test. Marker strings go in every field that holds family data. The test drives them
through the whole lifecycle: an agency accepts and completes one referral and declines another
with a reason, a family withdraws consent, and the retention purge runs. A webhook receiver and
an SMTP server take what Bridges sends. Then these are searched:
- every log line;
- every message of every JetStream stream of the test's namespace;
- every webhook (body and headers) and every email;
- every row of the directory's and notifications' tables;
- every row of the referrals tables, and the PostgreSQL server's own files (heap and WAL) after
  a checkpoint.

No marker may be found anywhere. The referrals database holds the family's words only as
ciphertext."""

from __future__ import annotations

import logging
import secrets
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
import structlog

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.testing import Infra, eventually, fresh_name
from bridges_referrals import privacy
from bridges_schema import Role, Streams
from tests.conftest import BUILDERS, FAST_RETRIES, Mailbox, Stack
from tests.scenario import create_program, register_endpoint

pytestmark = pytest.mark.e2e


def _marker(field: str) -> str:
    """A word that exists nowhere else: letters only (every name field accepts it)."""
    return (
        "Lk" + field.capitalize() + "".join(secrets.choice(string.ascii_letters) for _ in range(10))
    )


@dataclass(frozen=True)
class Markers:
    """One per place a family's words can be written."""

    given: str = field(default_factory=lambda: _marker("given"))
    family: str = field(default_factory=lambda: _marker("family"))
    member: str = field(default_factory=lambda: _marker("member"))
    member_family: str = field(default_factory=lambda: _marker("kin"))
    email_user: str = field(default_factory=lambda: _marker("mail"))
    best_time: str = field(default_factory=lambda: _marker("time"))
    situation: str = field(default_factory=lambda: _marker("situation"))
    guardian: str = field(default_factory=lambda: _marker("guardian"))
    accept_note: str = field(default_factory=lambda: _marker("accept"))
    decline_note: str = field(default_factory=lambda: _marker("decline"))
    complete_note: str = field(default_factory=lambda: _marker("complete"))
    withdrawal_note: str = field(default_factory=lambda: _marker("withdrawal"))
    phone_digits: str = field(
        default_factory=lambda: "".join(secrets.choice(string.digits) for _ in range(7))
    )

    @property
    def phone(self) -> str:
        return f"+1 971 {self.phone_digits}"

    def all(self) -> list[str]:
        words = [v for k, v in vars(self).items() if k != "phone_digits"]
        return [*words, self.phone_digits, self.email_user.lower()]

    def found_in(self, text: str | bytes) -> list[str]:
        data = text.encode() if isinstance(text, str) else text
        lowered = data.lower()
        return [m for m in self.all() if m.lower().encode() in lowered]


@pytest.fixture
async def leaky_stack(infra: Infra, services_factory: Any, mailbox: Mailbox) -> Stack:
    """The three services logging at debug level, and real mail."""
    namespace = fresh_name()
    verbose = {"BRIDGES_LOG_LEVEL": "debug"}
    extra = {
        "directory": verbose,
        "referrals": verbose,
        "notifications": {
            **verbose,
            **FAST_RETRIES,
            "BRIDGES_SMTP_HOST": "127.0.0.1",
            "BRIDGES_SMTP_PORT": str(mailbox.port),
            "BRIDGES_REFERRAL_LINK_BASE": "https://bridges.test/app/",
        },
    }
    started = {
        name: await services_factory(
            name, build, schema=namespace, namespace=namespace, extra_env=extra[name]
        )
        for name, build in BUILDERS.items()
    }
    return Stack(infra, namespace, agency_id=uuid.uuid4(), **started)


def _intake(marks: Markers, program_ids: list[str]) -> dict[str, Any]:
    return {
        "client": {
            "given_name": marks.given,
            "family_name": marks.family,
            "date_of_birth": "1988-04-02",
            "contact": {
                "phone": marks.phone,
                "email": f"{marks.email_user}@example.org",
                "best_time": f"mornings, ask for {marks.best_time}",
                "preferred_language": "es",
                "safe_to_leave_message": False,
            },
            "household": [
                {
                    "given_name": marks.member,
                    "family_name": marks.member_family,
                    "relationship": "child",
                    "age": 3,
                }
            ],
        },
        "needs": ["food-pantry"],
        "situation": f"Lost job last month; {marks.situation} at home.",
        "urgency": "high",
        "program_ids": program_ids,
        "consent": {
            "given_by": "guardian",
            "given_by_name": marks.guardian,
            "method": "verbal",
            "given_at": datetime.now(UTC).isoformat(),
            "scopes": ["contact", "household", "needs", "situation"],
        },
    }


async def _move(stack: Stack, referral: dict[str, Any], to: str, **body: Any) -> dict[str, Any]:
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        current = (await c.get(f"/referrals/{referral['id']}")).json()
        moved = await c.post(
            f"/referrals/{referral['id']}/transitions",
            json={"to": to, **body},
            headers={"If-Match": f'"{current["version"]}"'},
        )
    assert moved.status_code == 200, moved.text
    result: dict[str, Any] = moved.json()
    return result


async def _live_the_whole_lifecycle(stack: Stack, marks: Markers, receiver: WebhookReceiver) -> int:
    """Accept and complete one, decline one with a reason, withdraw consent on another case,
    then purge: the webhooks that must have arrived."""
    first, second = await create_program(stack), await create_program(stack)
    await register_endpoint(stack, receiver.url)
    async with stack.notifications.client(stack.token(Role.ADMIN)) as c:
        added = await c.post(
            f"/agencies/{stack.agency_id}/email-recipients",
            json={"address": "intake@pantry.example.org", "language": "es"},
        )
        assert added.status_code == 201, added.text
    officer = stack.token(Role.OFFICER, email="officer77@police.example.org")
    async with stack.notifications.client(officer) as c:
        assert (
            await c.put("/officers/me/notifications", json={"language": "en"})
        ).status_code == 200
    async with stack.referrals.client(officer) as c:
        filed = await c.post(
            "/referrals",
            json=_intake(marks, [first["id"], second["id"]]),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert filed.status_code == 201, filed.text
        withdrawn_case = await c.post(
            "/referrals",
            json=_intake(marks, [first["id"]]),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert withdrawn_case.status_code == 201, withdrawn_case.text
        still_open = await c.post(  # its family data stays: stored, sealed, readable by the agency
            "/referrals",
            json=_intake(marks, [second["id"]]),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert still_open.status_code == 201, still_open.text
    accepted, declined = filed.json()["referrals"]
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        seen = (await c.get(f"/referrals/{accepted['id']}")).json()
    # the markers are real data the agency reads, not strings nobody stored
    assert seen["client"]["family_name"] == marks.family and marks.situation in seen["situation"]
    await _move(stack, accepted, "accepted", note=f"Call {marks.accept_note} first")
    await _move(stack, accepted, "completed", note=f"Food box given to {marks.complete_note}")
    await _move(
        stack, declined, "rejected", reason="at-capacity", note=f"Full: {marks.decline_note}"
    )
    async with stack.referrals.client(officer) as c:
        case_id = withdrawn_case.json()["referrals"][0]["case_id"]
        withdrawal = await c.post(
            f"/cases/{case_id}/consent/withdrawal",
            json={"note": f"Moving to {marks.withdrawal_note}'s"},
        )
        assert withdrawal.status_code == 200, withdrawal.text
    runtime = stack.referrals.runtime
    purged = await privacy.purge_all(runtime.uow, timedelta(0))
    assert purged >= 1  # the closed case's family data is gone, not merely hidden
    return 4  # a webhook per referral filed, at least


async def _stream_messages(stack: Stack) -> list[bytes]:
    """Every message (with its headers) of every stream of the test's namespace."""
    connection = await nats.connect(stack.infra.nats_url)
    try:
        js = connection.jetstream()
        found: list[bytes] = []
        for stream in Streams(stack.namespace).all():
            try:
                info = await js.stream_info(stream.name)
            except nats.js.errors.NotFoundError:
                continue
            if not info.state.messages:
                continue
            for sequence in range(info.state.first_seq, info.state.last_seq + 1):
                try:
                    message = await js.get_msg(stream.name, seq=sequence)
                except nats.js.errors.NotFoundError:  # deleted in between
                    continue
                headers = repr(message.headers or {}).encode()
                found.append(bytes(message.data or b"") + b"\n" + headers)
        assert found, "no event at all: the scan would prove nothing"
        return found
    finally:
        await connection.close()


async def _rows(url: str, schema: str) -> list[str]:
    """Every row of every table of `schema`, as text."""
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        rows: list[str] = []
        for table in tables:
            quoted = f'"{schema}"."{table["table_name"]}"'
            rows += [r[0] for r in await connection.fetch(f"SELECT t::text FROM {quoted} t")]
        return rows
    finally:
        await connection.close()


def _raw_files(data_dir: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_bytes()
            except OSError:  # a file the server removed while we walked
                continue


async def test_no_marker_of_the_family_is_found_anywhere_but_as_ciphertext(
    leaky_stack: Stack,
    receiver: WebhookReceiver,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack, marks = leaky_stack, Markers()
    caplog.set_level(logging.DEBUG)  # what goes through the standard library (uvicorn, asyncpg)
    with structlog.testing.capture_logs() as entries:  # every structlog event, unrendered
        webhooks = await _live_the_whole_lifecycle(stack, marks, receiver)
        await eventually(lambda: _at_least(receiver, webhooks), timeout_s=30)
        await eventually(lambda: _mail_arrived(mailbox), timeout_s=30)
        await _quiet(stack)

    leaks: dict[str, list[str]] = {}

    def check(where: str, content: str | bytes) -> None:
        found = marks.found_in(content)
        if found:
            leaks.setdefault(where, []).extend(found)

    for request in receiver.requests:
        check("webhook", request.body + repr(request.headers).encode())
    for raw in mailbox.messages:
        mail: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
        check(f"email to {mail['To']}", raw)
    for message in await _stream_messages(stack):
        check("JetStream", message)
    for service in ("directory", "notifications", "referrals"):
        url = stack.infra.postgres_url(service)
        for row in await _rows(url, stack.namespace):
            check(f"{service} database row", row)

    postgres = stack.infra.postgres
    if postgres is not None:  # an external server's files are out of reach
        connection = await asyncpg.connect(stack.infra.postgres_url("referrals"))
        try:
            await connection.execute("CHECKPOINT")
        finally:
            await connection.close()
        control = 0
        for path, content in _raw_files(postgres.data_dir):
            check(f"PostgreSQL file {path.relative_to(postgres.data_dir)}", content)
            control += b"Riverton Test Food Pantry" in content
        assert control, "the program's public name is not in the server's files: wrong directory?"

    logs = "\n".join(repr(entry) for entry in entries) + caplog.text
    assert len(entries) > 5, f"too few log lines captured: {entries}"
    check("logs", logs)
    assert not leaks, "\n".join(f"{where}: {sorted(set(found))}" for where, found in leaks.items())


async def _quiet(stack: Stack) -> None:
    """Every delivery settled (what would still be logged is logged)."""
    async with stack.notifications.client(stack.token(Role.OPS)) as c:

        async def settled() -> bool:
            deliveries = (await c.get("/deliveries", params={"limit": 200})).json()
            items = (
                deliveries.get("items", deliveries) if isinstance(deliveries, dict) else deliveries
            )
            return bool(items) and all(d.get("status") != "pending" for d in items)

        await eventually(settled, timeout_s=30)


async def _at_least(receiver: WebhookReceiver, count: int) -> bool:
    return len(receiver.requests) >= count


async def _mail_arrived(mailbox: Mailbox) -> bool:
    return len(mailbox.messages) >= 1
