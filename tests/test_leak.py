"""The leak test. Marker strings go in every field that holds family data. The test drives them
through the whole lifecycle: families are followed up by email and by text and answer on their
page with a comment, an officer records what another family told them, an agency accepts and
completes one referral and declines another with a reason, a family withdraws consent, and the
retention purge runs; then the agency and the officer search by the family's name (its blind
index) and list with the family's label. A webhook receiver, an SMTP server and the SMS sink
take what Bridges sends. Then these are searched:
- every log line;
- every message of every JetStream stream of the test's namespace;
- every webhook (body and headers), every email and every text message (a message to the
  family carries its own address as its recipient, and nothing else of it: no name, nothing in
  its words or its link), and the family's page;
- every trace span the services export (OTLP, as a collector receives them);
- every row of the directory's and notifications' tables;
- every row of the referrals tables, and the PostgreSQL server's own files (heap and WAL) after
  a checkpoint.

No marker may be found anywhere. The referrals database holds the family's words only as
ciphertext."""

from __future__ import annotations

import logging
import re
import secrets
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
import structlog

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.samples import consent, intake_body
from bridges_devstack.testing import Infra, eventually
from bridges_referrals import privacy
from bridges_schema import Role, Streams
from tests.conftest import FOLLOW_UPS_AT_ONCE, Mailbox, Stack, start_stack
from tests.otlp import OtlpReceiver, exporting_to, polled, serving
from tests.scenario import NEED, create_program, register_endpoint

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
    family_comment: str = field(default_factory=lambda: _marker("comment"))
    told_officer: str = field(default_factory=lambda: _marker("told"))
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
def sms_sink(tmp_path: Path) -> Path:
    return tmp_path / "sms"


@pytest.fixture
async def traces() -> AsyncIterator[OtlpReceiver]:
    async with serving() as receiver:
        yield receiver


@pytest.fixture
async def leaky_stack(
    infra: Infra, services_factory: Any, mailbox: Mailbox, sms_sink: Path, traces: OtlpReceiver
) -> Stack:
    """The three services logging at debug level, tracing every request, real mail, texts as
    files, and families' follow-ups sent as soon as they are filed."""
    verbose = {"BRIDGES_LOG_LEVEL": "debug"}
    with exporting_to(traces):
        return await start_stack(
            infra,
            services_factory,
            directory=verbose,
            referrals={
                **verbose,
                **FOLLOW_UPS_AT_ONCE,
                "BRIDGES_FOLLOWUP_LINK_BASE": "https://bridges.test/family",
            },
            notifications={
                **verbose,
                "BRIDGES_SMTP_HOST": "127.0.0.1",
                "BRIDGES_SMTP_PORT": str(mailbox.port),
                "BRIDGES_REFERRAL_LINK_BASE": "https://bridges.test/app/",
                "BRIDGES_SMS_SINK_DIR": str(sms_sink),
            },
        )


def _follow_up(channel: str) -> dict[str, Any]:
    """A message although no message may be left: the family named it and its hours, again."""
    return {
        "channel": channel,
        "reconfirmed": True,
        "safe_hours": {"from": "00:00", "to": "00:00"},
        "time_zone": "America/Los_Angeles",
    }


def _intake(
    marks: Markers, program_ids: list[str], follow_up: dict[str, Any] | None = None
) -> dict[str, Any]:
    chosen = {"follow_up": follow_up} if follow_up else {}
    family = {
        "given_name": marks.given,
        "family_name": marks.family,
        "contact": {
            "phone": marks.phone,
            "email": f"{marks.email_user}@example.org",
            "best_time": f"mornings, ask for {marks.best_time}",
            "preferred_language": "es",
        },
        "household": [
            {
                "given_name": marks.member,
                "family_name": marks.member_family,
                "relationship": "child",
                "age": 3,
            }
        ],
    }
    return intake_body(
        program_ids,
        client=family,
        needs=[NEED],
        situation=f"Lost job last month; {marks.situation} at home.",
        consent=consent(
            "contact",
            "household",
            "needs",
            "situation",
            given_by="guardian",
            given_by_name=marks.guardian,
        ),
        **chosen,
    )


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


@dataclass
class Families:
    """Where families get their messages, and what their page showed them."""

    mailbox: Mailbox
    sms_sink: Path
    pages: list[str] = field(default_factory=list)


async def _live_the_whole_lifecycle(
    stack: Stack, marks: Markers, receiver: WebhookReceiver, families: Families
) -> int:
    """Families answer their follow-up, by email and by text, with a comment; accept and complete one referral, decline one with a reason,
    withdraw consent on another case, then purge: the webhooks that must have arrived."""
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
            json=_intake(marks, [first["id"], second["id"]], _follow_up("email")),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert filed.status_code == 201, filed.text
        withdrawn_case = await c.post(  # followed up through the officer (the default here)
            "/referrals",
            json=_intake(marks, [first["id"]]),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert withdrawn_case.status_code == 201, withdrawn_case.text
        still_open = await c.post(  # its family data stays: stored, sealed, readable by the agency
            "/referrals",
            json=_intake(marks, [second["id"]], _follow_up("text")),
            headers={"Idempotency-Key": f"leak-{uuid.uuid4()}"},
        )
        assert still_open.status_code == 201, still_open.text
        told = await c.post(
            f"/referrals/{withdrawn_case.json()['referrals'][0]['id']}/family-feedback",
            json={"answer": "not-yet", "comment": f"Ask {marks.told_officer} again"},
        )
        assert told.status_code == 200, told.text
    await _answer_the_follow_ups(stack, marks, families)
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
    await _search_and_list(stack, marks, officer, still_open.json()["referrals"][0])
    return 4  # a webhook per referral filed, at least


async def _answer_the_follow_ups(stack: Stack, marks: Markers, families: Families) -> None:
    """Each family opens the link its message brought (by email, by text) and answers it."""
    mailbox, sink, pages = families.mailbox, families.sms_sink, families.pages

    async def links() -> list[str]:
        found = [
            _link(raw.decode(errors="replace"))
            for raw in mailbox.messages
            if marks.email_user.lower().encode() in raw.lower()
        ]
        found += [_link(text) for text in _texts(sink)]
        return found if len(found) == 2 else []

    for n, token in enumerate(await eventually(links, timeout_s=30)):
        async with stack.referrals.client() as family:
            pages.append((await family.get(f"/family/{token}")).text)
            answered = await family.post(
                f"/family/{token}",
                content=f"answer={'got-help' if n else 'not-yet'}&comment={marks.family_comment}",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert answered.status_code == 200, answered.text
            pages.append(answered.text)


def _link(text: str) -> str:
    found = re.search(r"https://bridges\.test/family/([A-Za-z0-9_-]+)", text)
    assert found is not None, text
    return found.group(1)


def _texts(sink: Path) -> list[str]:
    return [path.read_text() for path in sorted(sink.glob("*.txt"))]


async def _search_and_list(
    stack: Stack, marks: Markers, officer: str, kept: dict[str, Any]
) -> None:
    """The agency and the officer search by name (its blind index) and by reference, and list
    with the family's label: only the case whose data remains is found, by either."""
    name = f"{marks.given.upper()} {marks.family}"
    async with stack.referrals.client(stack.token(Role.AGENCY_STAFF)) as c:
        by_name = (await c.get("/inbox", params={"q": name})).json()["items"]
        by_reference = (await c.get("/inbox", params={"q": kept["reference"]})).json()["items"]
        listed = (await c.get("/inbox", params={"sort": "due"})).json()["items"]
    async with stack.referrals.client(officer) as c:
        mine = (await c.get("/referrals", params={"q": marks.family})).json()["items"]
    assert [r["id"] for r in by_name] == [r["id"] for r in by_reference] == [kept["id"]]
    assert [r["id"] for r in mine] == [kept["id"]]
    label = f"{marks.given} {marks.family[0].upper()}."
    assert {r["family_label"] for r in listed} == {label, None}  # erased for the others
    tokens = await stack.referrals.runtime.pool.fetchval(
        "SELECT count(*) FROM family_name_token WHERE case_id = $1", uuid.UUID(kept["case_id"])
    )
    assert tokens >= 2  # the index is stored (as keyed hashes): the scan below covers it


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
    sms_sink: Path,
    traces: OtlpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack, marks = leaky_stack, Markers()
    families = Families(mailbox, sms_sink)
    caplog.set_level(logging.DEBUG)  # what goes through the standard library (uvicorn, asyncpg)
    with structlog.testing.capture_logs() as entries:  # every structlog event, unrendered
        webhooks = await _live_the_whole_lifecycle(stack, marks, receiver, families)
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
    family_address = f"{marks.email_user}@example.org".lower().encode()
    for raw in mailbox.messages:
        mail: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
        # the message to the family is addressed to it: its address, there and only there
        check(f"email to {mail['To']}", raw.lower().replace(family_address, b"", 1))
    texts = _texts(sms_sink)
    assert len(texts) == 1 and marks.phone in texts[0].splitlines()[0]
    for text in texts:
        check("text message", "\n".join(text.splitlines()[1:]))  # after its "To:" line
    assert len(families.pages) == 4 and "¿Recibió ayuda?" in families.pages[0]
    for page in families.pages:
        check("the family's page", page)
    for message in await _stream_messages(stack):
        check("JetStream", message)
    await eventually(polled(lambda: len(traces.spans) > 20), timeout_s=20)
    assert {s.service for s in traces.spans} >= {"bridges-referrals", "bridges-notifications"}
    check("trace spans", b"".join(traces.raw))
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

    logs = "\n".join(repr(entry) for entry in entries) + "\n".join(
        caplog.handler.format(r) for r in caplog.records if not _tests_own(r)
    )
    assert len(entries) > 5, f"too few log lines captured: {entries}"
    check("logs", logs)
    assert not leaks, "\n".join(f"{where}: {sorted(set(found))}" for where, found in leaks.items())


def _tests_own(record: logging.LogRecord) -> bool:
    """This test's own HTTP client logs each URL it asks for, searches by name included (no
    Bridges service asks the referrals API for a list); its own SMTP server ("mail.log") logs
    the recipients it gets, the family's address included, as any mail server does."""
    message = record.getMessage()
    searched = record.name == "httpx" and ("/inbox?" in message or "/referrals?" in message)
    return searched or record.name == "mail.log"


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
