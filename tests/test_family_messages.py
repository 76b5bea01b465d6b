"""Families' follow-up messages across the three services, over real HTTP, PostgreSQL, NATS and
SMTP: a text through an SMS provider's HTTP API (a local stand-in that records what it gets and
answers as scripted) with the same retries, dead letters and circuit breaker as webhooks; the
file sink; what became of a message reaching the officer's screen; and the officer's email
alert when a family has not got help while its referral is open."""

from __future__ import annotations

import json
import re
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from bridges_devstack.receiver import WebhookReceiver
from bridges_devstack.testing import eventually
from bridges_schema import Role
from tests.conftest import FOLLOW_UPS_AT_ONCE, Mailbox, Stack, start_stack
from tests.scenario import create_program, intake

pytestmark = pytest.mark.e2e

PROVIDER_KEY = "provider-key-123"


async def _stack(infra: Any, services_factory: Any, notifications: dict[str, str]) -> Stack:
    """The three services, referrals sending follow-ups at once."""
    return await start_stack(
        infra, services_factory, referrals=FOLLOW_UPS_AT_ONCE, notifications=notifications
    )


def _provider_env(provider: WebhookReceiver, **more: str) -> dict[str, str]:
    return {
        "BRIDGES_SMS_PROVIDER_URL": provider.url,
        "BRIDGES_SMS_PROVIDER_KEY": PROVIDER_KEY,
        "BRIDGES_SMS_SENDER": "Bridges",
        **more,
    }


async def _file_texted(stack: Stack, program_id: str, **contact: Any) -> dict[str, Any]:
    body = intake([program_id], follow_up={"channel": "text"})
    body["client"]["contact"].update(safe_to_leave_message=True, **contact)
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        filed = await c.post("/referrals", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert filed.status_code == 201, filed.text
    result: dict[str, Any] = filed.json()
    return result


async def _follow_up_status(stack: Stack, case_id: str) -> str | None:
    status: str | None = await stack.referrals.runtime.pool.fetchval(
        "SELECT status FROM follow_up WHERE case_id = $1", uuid.UUID(case_id)
    )
    return status


def _sms_files(folder: Path, count: int) -> list[Path]:
    """The texts the sink wrote, once there are `count` of them."""
    found = sorted(folder.glob("*.txt"))
    return found if len(found) == count else []


async def _texts(provider: WebhookReceiver, count: int) -> bool:
    return len(provider.requests) >= count


async def test_a_text_goes_through_the_sms_provider_retried_like_a_webhook(
    infra, services_factory, receiver
):
    provider = receiver
    provider.answer(503, 503)  # the provider is down for two attempts
    stack = await _stack(infra, services_factory, _provider_env(provider))
    program = await create_program(stack)
    filed = await _file_texted(stack, program["id"])
    await eventually(lambda: _texts(provider, 3), timeout_s=30)
    sent = json.loads(provider.requests[-1].body)
    assert provider.requests[-1].headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert sent["to"] == "+1 503 555 0142" and sent["from"] == "Bridges"
    assert sent["text"].startswith("¿Recibió la ayuda que pidió?")  # the family's language
    assert re.search(r"/family/[A-Za-z0-9_-]{24}$", sent["text"])
    assert "Quintanilla" not in sent["text"] and "Riverton" not in sent["text"]

    async def delivered() -> bool:
        return await _follow_up_status(stack, filed["case_id"]) == "delivered"

    await eventually(delivered, timeout_s=20)
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        log = (await c.get("/deliveries", params={"channel": "sms"})).json()
    assert [(d["status"], d["attempts"]) for d in log] == [("succeeded", 3)]
    assert "0142" not in json.dumps(log)  # the log names the follow-up, never the number


async def test_a_refused_text_is_dead_lettered_at_once_and_the_officer_is_asked_instead(
    infra, services_factory, receiver
):
    receiver.answer(400)  # a number that takes no texts
    stack = await _stack(infra, services_factory, _provider_env(receiver))
    program = await create_program(stack)
    filed = await _file_texted(stack, program["id"])

    async def undeliverable() -> bool:
        return await _follow_up_status(stack, filed["case_id"]) == "undeliverable"

    await eventually(undeliverable, timeout_s=20)
    assert len(receiver.requests) == 1  # not retried
    async with stack.referrals.client(stack.token(Role.OFFICER)) as c:
        listed = (await c.get("/referrals", params={"ask_family": "true"})).json()["items"]
    assert [r["id"] for r in listed] == [filed["referrals"][0]["id"]]
    async with stack.notifications.client(stack.token(Role.OPS)) as c:
        dead = (await c.get("/dead-letters")).json()
    assert [d["channel"] for d in dead] == ["sms"] and "400" in dead[0]["last_error"]


async def test_a_failing_sms_provider_rests_and_one_text_probes_it(
    infra, services_factory, receiver
):
    receiver.answer(503, 503)  # two failures in a row: the provider rests
    env = _provider_env(
        receiver,
        BRIDGES_BREAKER_FAILURES="2",
        BRIDGES_BREAKER_FIRST_REST_S="3",
        BRIDGES_WEBHOOK_RETRY_SCHEDULE_S="[0.2, 0.2, 0.2, 0.2, 0.2, 0.2]",
    )
    stack = await _stack(infra, services_factory, env)
    program = await create_program(stack)
    pool = stack.notifications.runtime.pool
    first = await _file_texted(stack, program["id"])  # its text fails, is retried, fails

    async def resting() -> Any:
        return await pool.fetchrow(
            "SELECT consecutive_failures, circuit_open_until FROM channel_circuit "
            "WHERE channel = 'sms' AND circuit_open_until > now()"
        )

    rest = await eventually(resting, timeout_s=20)
    assert rest["consecutive_failures"] == 2 and len(receiver.requests) == 2
    others = [
        await _file_texted(stack, program["id"], phone=f"+1 503 555 01{n:02d}") for n in range(2)
    ]

    async def due_and_waiting() -> bool:  # the others' texts are queued, and not sent
        waiting = await pool.fetchval(
            "SELECT count(*) FROM delivery WHERE channel = 'sms' AND status = 'pending'"
        )
        return waiting == 3

    await eventually(due_and_waiting, timeout_s=20)
    assert len(receiver.requests) == 2 and await resting()  # nothing goes out while it rests

    async def all_delivered() -> bool:
        statuses = [await _follow_up_status(stack, f["case_id"]) for f in (first, *others)]
        return statuses == ["delivered"] * 3

    await eventually(all_delivered, timeout_s=30)
    probe, *rest_of_them = receiver.requests[2:]
    assert len(rest_of_them) == 2 and probe.at - receiver.requests[1].at >= 2.5
    assert all(r.at >= probe.at for r in rest_of_them)  # the probe went alone, first
    assert not await pool.fetchval(
        "SELECT consecutive_failures FROM channel_circuit WHERE channel = 'sms'"
    )


async def test_texts_land_as_files_in_the_sink(infra, services_factory, tmp_path: Path):
    sink = tmp_path / "sms"
    stack = await _stack(infra, services_factory, {"BRIDGES_SMS_SINK_DIR": str(sink)})
    program = await create_program(stack)
    await _file_texted(stack, program["id"])

    async def landed() -> list[Path]:
        return _sms_files(sink, 1)

    [text] = await eventually(landed, timeout_s=20)
    content = text.read_text()
    assert content.startswith("To: +1 503 555 0142\n") and "/family/" in content
    assert oct(text.stat().st_mode & 0o777) == "0o600"


async def test_a_family_not_helped_yet_alerts_its_officer_by_email(
    infra, services_factory, mailbox: Mailbox, tmp_path: Path
):
    stack = await _stack(
        infra,
        services_factory,
        {
            "BRIDGES_SMS_SINK_DIR": str(tmp_path),
            "BRIDGES_SMTP_HOST": "127.0.0.1",
            "BRIDGES_SMTP_PORT": str(mailbox.port),
            "BRIDGES_REFERRAL_LINK_BASE": "https://bridges.test/app/",
        },
    )
    program = await create_program(stack)
    officer = stack.token(Role.OFFICER, email="officer9@police.example.org")
    async with stack.notifications.client(officer) as c:
        notices = await c.put("/officers/me/notifications", json={"language": "en"})
        assert notices.status_code == 200, notices.text
    answered = await _file_texted(stack, program["id"])
    helped = await _file_texted(stack, program["id"], phone="+1 503 555 0199")

    async def texts() -> list[Path]:
        return _sms_files(tmp_path, 2)

    links = {}
    for text in await eventually(texts, timeout_s=20):
        content = text.read_text()
        token = re.search(r"/family/([A-Za-z0-9_-]{24})", content)
        assert token is not None
        links["0199" in content] = token.group(1)
    async with stack.referrals.client() as family:
        form = {"content-type": "application/x-www-form-urlencoded"}
        not_yet = await family.post(
            f"/family/{links[False]}", content="answer=not-yet", headers=form
        )
        assert not_yet.status_code == 200, not_yet.text
        got_help = await family.post(
            f"/family/{links[True]}", content="answer=got-help", headers=form
        )
        assert got_help.status_code == 200

    async def alerted() -> bool:
        return len(mailbox.messages) >= 1

    await eventually(alerted, timeout_s=20)
    mail = message_from_bytes(mailbox.messages[0], policy=policy.default)
    referral_id = answered["referrals"][0]["id"]
    assert mail["To"] == "officer9@police.example.org"
    assert "has not got help yet" in mail["Subject"]
    assert f"#/mine/{referral_id}" in mail.get_body(("plain",)).get_content()
    assert "Quintanilla" not in mailbox.messages[0].decode(errors="replace")
    assert len(mailbox.messages) == 1  # "got help" alerts nobody
    assert helped["case_id"] != answered["case_id"]
