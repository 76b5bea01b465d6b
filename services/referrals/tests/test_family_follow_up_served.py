"""The family's follow-up served over real HTTP on PostgreSQL: intake (both write paths) stores
it, the sender makes its link, the notifications service fetches the message with the
services' key, the family answers on its page once, the officer sees it, withdrawal and
retention erase the link and the words, and the page is limited per link and per address."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from bridges_devstack.testing import eventually
from bridges_referrals import privacy
from bridges_schema import Role

SERVICE_KEY = "k" * 40
FAST = {
    "BRIDGES_FOLLOWUP_DELAY_S": "0",
    "BRIDGES_FOLLOWUP_SWEEP_INTERVAL_S": "0.2",
    "BRIDGES_FOLLOWUP_HOURS": "00:00-00:00",
    "BRIDGES_SERVICE_KEY": SERVICE_KEY,
    "BRIDGES_FOLLOWUP_LINK_BASE": "https://bridges.test/family",
}
EMAIL = {"channel": "email"}


def _intake(desk: Any, follow_up: dict[str, Any] | None = None, **overrides: Any) -> dict:
    body = desk.intake([desk.program_a], **overrides)
    body["client"]["contact"].update(
        email="amara@example.org", preferred_channel="email", safe_to_leave_message=True
    )
    if follow_up is not None:
        body["follow_up"] = follow_up
    return body


async def _file(desk: Any, service: Any, body: dict) -> dict:
    async with service.client(desk.token(Role.OFFICER)) as c:
        filed = await c.post("/referrals", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert filed.status_code == 201, filed.text
    result: dict = filed.json()
    return result


async def _sent(service: Any, case_id: str) -> uuid.UUID:
    async def sent() -> Any:
        return await service.runtime.pool.fetchval(
            "SELECT id FROM follow_up WHERE case_id = $1 AND status = 'sent'", uuid.UUID(case_id)
        )

    follow_up_id: uuid.UUID = await eventually(sent)
    return follow_up_id


async def _message(service: Any, follow_up_id: uuid.UUID, key: str | None = SERVICE_KEY) -> Any:
    async with service.client(key) as c:
        return await c.get(f"/follow-ups/{follow_up_id}/message")


def _token(text: str) -> str:
    found = re.search(r"https://bridges\.test/family/([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


@pytest.fixture
async def served(desk, start_referrals):
    """The desk's referrals service again, sending follow-ups at once, any time of day."""
    return await start_referrals(FAST)


async def test_the_family_answers_once_by_its_link_and_the_officer_sees_it(desk, served):
    first = await _file(desk, served, _intake(desk, EMAIL))  # programs not read yet: reads first
    second = await _file(desk, served, _intake(desk, {"channel": "text"}))  # one statement
    for filed in (first, second):
        follow_up_id = await _sent(served, filed["case_id"])
    outbox = await served.runtime.pool.fetch(
        "SELECT convert_from(payload, 'UTF8') AS p FROM outbox WHERE subject LIKE '%follow_up_due'"
    )
    assert len(outbox) == 2 and all("amara" not in r["p"] and "0142" not in r["p"] for r in outbox)

    follow_up_id = await _sent(served, first["case_id"])
    message = await _message(served, follow_up_id)
    assert message.status_code == 200, message.text
    words = message.json()
    assert words["to"] == "amara@example.org" and words["language"] == "es"
    assert words["subject"] == "Sobre la ayuda que pidió" and "Quintanilla" not in words["text"]
    token = _token(words["text"])
    assert len(token) >= 22 and first["referrals"][0]["id"] not in words["text"]
    texted = (await _message(served, await _sent(served, second["case_id"]))).json()
    assert texted["to"] == "+1 503 555 0142" and texted["html"] is None

    async with served.client() as family:
        page = await family.get(f"/family/{token}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<html lang="es">' in page.text and "¿Recibió ayuda?" in page.text
        assert "Sí, recibí ayuda" in page.text and "Quintanilla" not in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-store"
        english = await family.get(f"/family/{token}", params={"lang": "en"})
        assert "Yes, I got help" in english.text and '<html lang="en">' in english.text
        answered = await family.post(
            f"/family/{token}",
            content="answer=got-help&comment=Muy+amables&lang=es",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answered.status_code == 200 and "Gracias. Recibimos su respuesta." in answered.text
        again = await family.post(
            f"/family/{token}",
            content="answer=not-yet",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert again.status_code == 409 and "ya fue respondida" in again.text
        assert (await family.get(f"/family/{token}")).status_code == 409

    referral_id = first["referrals"][0]["id"]
    async with desk.client(Role.OFFICER) as c:
        c.base_url = served.url
        view = (await c.get(f"/referrals/{referral_id}")).json()
        listed = (await c.get("/referrals", params={"mine": "true"})).json()["items"]
    assert view["family_feedback"]["answer"] == "got-help"
    assert view["family_feedback"]["comment"] == "Muy amables"
    assert view["family_feedback"]["via"] == "link" and view["follow_up"]["status"] == "answered"
    mine = next(item for item in listed if item["id"] == referral_id)
    assert (
        mine["family_feedback"]["answer"] == "got-help"
        and mine["family_feedback"]["comment"] is None
    )
    # the link's secret is in the database only as its hash and sealed
    row = await served.runtime.pool.fetchrow(
        "SELECT token, token_hash, safe_window FROM follow_up WHERE id = $1", follow_up_id
    )
    assert row["token"] is None and row["token_hash"] is not None  # answered: not to be resent
    assert token.encode() not in bytes(row["token_hash"]) and b"00:00" not in row["safe_window"]
    assert await _message(served, follow_up_id) is not None
    assert (await _message(served, follow_up_id)).status_code == 410


async def test_only_the_services_key_fetches_a_familys_message(desk, served):
    filed = await _file(desk, served, _intake(desk, EMAIL))
    follow_up_id = await _sent(served, filed["case_id"])
    assert (await _message(served, follow_up_id, key=None)).status_code == 401
    assert (await _message(served, follow_up_id, key="x" * 40)).status_code == 401
    for role in Role:
        refused = await _message(served, follow_up_id, key=desk.token(role))
        assert refused.status_code == 403, role
    assert (await _message(served, uuid.uuid4())).status_code == 410


async def test_withdrawal_cancels_the_follow_up_and_erases_its_link_and_hours(desk, served):
    sent = await _file(desk, served, _intake(desk, EMAIL))
    follow_up_id = await _sent(served, sent["case_id"])
    token = _token((await _message(served, follow_up_id)).json()["text"])
    async with served.client(desk.token(Role.OFFICER)) as c:
        withdrawn = await c.post(f"/cases/{sent['case_id']}/consent/withdrawal", json={"note": "x"})
        assert withdrawn.status_code == 200, withdrawn.text
    row = await served.runtime.pool.fetchrow(
        "SELECT status, token, token_hash, safe_window FROM follow_up WHERE id = $1", follow_up_id
    )
    assert dict(row) == {
        "status": "cancelled",
        "token": None,
        "token_hash": None,
        "safe_window": None,
    }
    assert (await _message(served, follow_up_id)).status_code == 410
    async with served.client() as family:
        gone = await family.get(f"/family/{token}")
        assert gone.status_code == 404 and "ya no funciona" not in gone.text  # English: unknown
        assert "This link does not work any more" in gone.text


async def test_through_the_officer_the_list_asks_and_the_officer_records(desk, served):
    filed = await _file(desk, served, _intake(desk, {"channel": "officer"}))
    referral_id = filed["referrals"][0]["id"]
    async with served.client(desk.token(Role.OFFICER)) as c:
        asked = (await c.get("/referrals", params={"ask_family": "true"})).json()["items"]
        assert [r["id"] for r in asked] == [referral_id] and asked[0]["ask_family"]
        recorded = await c.post(
            f"/referrals/{referral_id}/family-feedback",
            json={"answer": "could-not-reach", "comment": "They never called back"},
        )
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["family_feedback"]["via"] == "officer"
        again = await c.post(
            f"/referrals/{referral_id}/family-feedback", json={"answer": "not-yet"}
        )
        assert again.status_code == 409
        assert (await c.get("/referrals", params={"ask_family": "true"})).json()["items"] == []
        bad = await c.post(f"/referrals/{referral_id}/family-feedback", json={"answer": "maybe"})
        assert bad.status_code == 422
    async with served.client(desk.token(Role.OFFICER, sub="another-officer")) as c:
        other = await c.post(
            f"/referrals/{referral_id}/family-feedback", json={"answer": "not-yet"}
        )
        assert other.status_code == 404
    event = await served.runtime.pool.fetchval(
        "SELECT convert_from(payload, 'UTF8') FROM outbox WHERE subject LIKE '%family_feedback_received'"
    )
    assert '"could-not-reach"' in event and "never called" not in event


async def test_a_family_violence_need_gets_no_follow_up_unless_reconfirmed(desk, served):
    violence = {"needs": ["family-violence.shelter"]}
    refused_body = _intake(desk, EMAIL, **violence)
    async with served.client(desk.token(Role.OFFICER)) as c:
        refused = await c.post(
            "/referrals", json=refused_body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
    assert refused.status_code == 422 and "reconfirmed" in refused.json()["detail"]
    silent = await _file(desk, served, _intake(desk, None, **violence))
    chosen = await _file(
        desk,
        served,
        _intake(
            desk,
            {**EMAIL, "reconfirmed": True, "safe_hours": {"from": "00:00", "to": "00:00"}},
            **violence,
        ),
    )
    await _sent(served, chosen["case_id"])
    row = await served.runtime.pool.fetchrow(
        "SELECT channel, status, due_at FROM follow_up WHERE case_id = $1",
        uuid.UUID(silent["case_id"]),
    )
    assert dict(row) == {"channel": "none", "status": "off", "due_at": None}
    async with served.client(desk.token(Role.OFFICER)) as c:
        view = (await c.get(f"/referrals/{silent['referrals'][0]['id']}")).json()
    assert view["follow_up"]["channel"] == "none" and view["follow_up"]["chosen"] is False


async def test_retention_erases_the_link_and_the_familys_words(desk, served):
    filed = await _file(desk, served, _intake(desk, {"channel": "officer"}))
    referral_id = filed["referrals"][0]["id"]
    async with served.client(desk.token(Role.OFFICER)) as c:
        told = {"answer": "got-help", "comment": "Lk-secret-words"}
        assert (await c.post(f"/referrals/{referral_id}/family-feedback", json=told)).is_success
        cancelled = await c.post(
            f"/referrals/{referral_id}/transitions",
            json={"to": "cancelled", "reason": "need-resolved"},
            headers={"If-Match": '"1"'},
        )
        assert cancelled.status_code == 200, cancelled.text
    assert await privacy.purge_all(served.runtime.uow, timedelta(0)) >= 1
    row = await served.runtime.pool.fetchrow(
        "SELECT answer, comment FROM family_feedback WHERE case_id = $1",
        uuid.UUID(filed["case_id"]),
    )
    assert dict(row) == {"answer": "got-help", "comment": None}  # statistics keep the answer


async def test_the_page_refuses_what_is_not_its_form_politely_and_never_fails(desk, served):
    async with served.client() as family:
        for token in ("short", "x" * 100, "no%20spaces%20here%20at%20all"):
            assert (await family.get(f"/family/{token}")).status_code == 404
        made_up = "A" * 24
        assert (await family.get(f"/family/{made_up}")).status_code == 404
        for body in (b"answer=maybe", b"\xff\xfe", b"answer=got-help%00", b"a=" + b"x" * 9000, b""):
            refused = await family.post(
                f"/family/{made_up}",
                content=body,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert refused.status_code in (400, 404), (body[:20], refused.status_code)
            assert refused.headers["content-type"].startswith("text/html")
        css = await family.get("/family/assets/page.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert (await family.get("/family/assets/other.js")).status_code == 404


async def test_the_page_is_limited_per_link_and_per_address(desk, start_referrals):
    limited = await start_referrals(
        {
            **FAST,
            "BRIDGES_FOLLOWUP_RATE_PER_TOKEN": '{"per_minute": 1, "burst": 2}',
            "BRIDGES_FOLLOWUP_RATE_PER_ADDRESS": '{"per_minute": 1, "burst": 4}',
        }
    )
    async with limited.client() as family:
        family.headers["accept-language"] = "es"
        same = "B" * 24
        answers = [(await family.get(f"/family/{same}")).status_code for _ in range(3)]
        assert answers == [404, 404, 429]
        others = [(await family.get(f"/family/{n}" + "C" * 23)).status_code for n in range(3)]
        assert others[-1] == 429  # the address's burst is spent
        refused = await family.get(f"/family/{'D' * 24}")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Demasiados intentos" in refused.text


async def test_public_statistics_count_what_families_say_and_hide_small_counts(desk, served):
    async def told(answer: str) -> None:
        filed = await _file(desk, served, _intake(desk, {"channel": "officer"}))
        async with served.client(desk.token(Role.OFFICER)) as c:
            recorded = await c.post(
                f"/referrals/{filed['referrals'][0]['id']}/family-feedback",
                json={"answer": answer, "comment": "Lk-not-public"},
            )
            assert recorded.status_code == 200, recorded.text

    async def reported() -> Any:
        async with served.client() as public:
            return (await public.get("/stats")).json()["family_reported"]

    for _ in range(5):
        await told("got-help")
    counts = await reported()
    assert counts["families"] == 5
    assert {r["answer"]: r["families"] for r in counts["by_answer"]} == {
        "got-help": 5,
        "not-yet": 0,
        "could-not-reach": 0,
        "no-longer-needed": 0,
    }
    await told("not-yet")  # 6 - 5 would give the one family back: the rows are withheld
    assert await reported() == {"families": 6, "by_answer": []}
    async with served.client() as public:
        exported = (await public.get("/stats.csv")).text
    reported = next(row for row in csv.reader(io.StringIO(exported)) if row[0] == "family_reported")
    assert reported[1] == "all" and reported[-1] == "6" and set(reported[2:-1]) == {""}
    assert "Lk-not-public" not in exported
