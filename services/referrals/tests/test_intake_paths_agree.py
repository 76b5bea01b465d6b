"""The two intake paths agree (issue 19): every kind of intake, filed once in one statement and
once by the path that reads first, gives the same answer, stores the same rows (the sealed
family opened the same) and emits the same events; a retry, a reused key and a refusal are
answered alike; and in one statement `uow.intakes` is the only repository there."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bridges_devstack.samples import consent
from bridges_kit.principal import Principal
from bridges_kit.sql_uow import RepositoryUnavailable
from bridges_referrals import intake
from bridges_referrals.domain import IdempotencyKeyReused, ProgramNotAccepting
from bridges_referrals.models import FileReferral
from bridges_schema import REFERENCE_PATTERN, Role

NOW = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
PATHS = {"one statement": True, "read first": False}
OFFICER = {"name": "Dana Reyes", "phone": "+1 503 555 0100"}

# Every kind of intake the API takes (the fields that change what is stored or emitted).
KINDS: dict[str, Any] = {
    "one program": lambda d: d.intake([d.program_a]),
    "two programs of two agencies": lambda d: d.intake([d.program_a, d.program_b]),
    "with the officer's contact": lambda d: d.intake([d.program_a], officer_contact=OFFICER),
    "a guardian consents, contact only": lambda d: d.intake(
        [d.program_a], consent=consent("contact", given_by="guardian", given_by_name="Ana Ruiz")
    ),
    "a follow-up by text": lambda d: d.intake(
        [d.program_a, d.program_b],
        follow_up={
            "channel": "text",
            "safe_hours": {"from": "10:00", "to": "12:00"},
            "time_zone": "America/Los_Angeles",
            "reconfirmed": True,
        },
    ),
    "safety concerns, no follow-up": lambda d: d.intake([d.program_b], safety_concerns=True),
    "no situation, routine": lambda d: d.intake([d.program_a], situation=None, urgency="routine"),
}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Names:
    """Gives each id and reference a name by order of first sight: two runs that made the same
    rows in the same order read the same."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, frozenset | set):
            return sorted(self(v) for v in value)
        if isinstance(value, uuid.UUID):
            value = str(value)
        if isinstance(value, bytes):
            return f"<{len(value)} bytes>"  # sealed: fresh nonces; the opened case is compared
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            if UUID_TEXT.fullmatch(value) or re.fullmatch(REFERENCE_PATTERN, value):
                return self._names.setdefault(value, f"<{len(self._names)}>")
            return UUID_TEXT.sub(lambda m: self(m.group(0)), value)
        return value


async def _stored(desk, case_id: uuid.UUID, key: str) -> dict[str, Any]:
    """What the intake stored and emitted, in an order both paths share (by program)."""
    pool = desk.pool
    referrals = await pool.fetch(
        "SELECT * FROM referral WHERE case_id = $1 ORDER BY program_id", case_id
    )
    ids = [r["id"] for r in referrals]
    history = await pool.fetch(
        """SELECT h.* FROM referral_history h JOIN referral r ON r.id = h.referral_id
           WHERE r.case_id = $1 ORDER BY r.program_id, h.version""",
        case_id,
    )
    outbox = await pool.fetch(
        """SELECT subject, payload FROM outbox
           WHERE convert_from(payload, 'UTF8') LIKE ANY($1::text[])""",
        [f"%{i}%" for i in ids],
    )
    events = []
    for row in outbox:
        event = json.loads(row["payload"])
        del event["id"], event["time"]  # the envelope's own: fresh per event
        events.append({"nats_subject": row["subject"], **event})
    events.sort(key=lambda e: (e["nats_subject"], e["data"].get("program_id", "")))
    uow = desk.service.runtime.uow()
    async with uow:
        opened = await uow.cases.get(case_id, personal=True)
    answer_row = await pool.fetchrow(
        "SELECT request_hash, response FROM idempotency_key WHERE officer_id = $1 AND key = $2",
        desk.officer,
        key,
    )
    by_case = "SELECT * FROM {} WHERE case_id = $1"
    return {
        "case": dict(await pool.fetchrow("SELECT * FROM referral_case WHERE id = $1", case_id)),
        "opened": dataclasses.asdict(opened),
        "consent": [dict(r) for r in await pool.fetch(by_case.format("consent"), case_id)],
        "follow_up": [dict(r) for r in await pool.fetch(by_case.format("follow_up"), case_id)],
        "referrals": [dict(r) for r in referrals],
        "history": [{k: v for k, v in r.items() if k != "id"} for r in history],  # serial
        "name_tokens": sorted(
            r["token"].hex() for r in await pool.fetch(by_case.format("family_name_token"), case_id)
        ),
        "key": dict(answer_row),
        "events": events,
    }


async def _file(desk, body: dict[str, Any], key: str, one_statement: bool) -> Any:
    runtime = desk.service.runtime
    return await intake.file_referrals(
        runtime.uow(),
        runtime.settings.response_targets(),
        Principal(sub=desk.officer, role=Role.OFFICER, name="Dana Reyes"),
        FileReferral.model_validate(body),
        key,
        clock=lambda: NOW,
        follow_ups=runtime.settings.follow_ups(),
        one_statement=one_statement,
    )


async def _read_lately(desk) -> None:
    """Through the service, as an officer's first intake does: both programs are then known."""
    await desk.file([desk.program_a, desk.program_b])


@pytest.mark.parametrize("kind", list(KINDS))
async def test_both_paths_answer_store_and_emit_the_same(desk, careful_intakes, kind):
    await _read_lately(desk)
    body = KINDS[kind](desk)
    seen = {}
    for path, one_statement in PATHS.items():
        key = f"{path}-{uuid.uuid4().hex}"
        result, replayed = await _file(desk, body, key, one_statement)
        assert not replayed
        assert (key in careful_intakes) == (not one_statement), path  # the path it says
        names = Names()
        answer = names(result.model_dump(mode="json"))
        seen[path] = {"answer": answer, **names(await _stored(desk, result.case_id, key))}
    assert seen["one statement"] == seen["read first"]
    assert len(seen["one statement"]["events"]) == len(body["program_ids"])


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_retry_gets_the_first_answer_and_a_reused_key_is_refused_on_either_path(desk, path):
    await _read_lately(desk)
    body, key = desk.intake([desk.program_a, desk.program_b]), uuid.uuid4().hex
    first, replayed = await _file(desk, body, key, PATHS[path])
    cases = await desk.pool.fetchval("SELECT count(*) FROM referral_case")
    again, replayed = await _file(desk, body, key, PATHS[path])
    assert replayed and again == first
    with pytest.raises(IdempotencyKeyReused):
        await _file(desk, {**body, "urgency": "routine"}, key, PATHS[path])
    assert await desk.pool.fetchval("SELECT count(*) FROM referral_case") == cases


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_program_that_stopped_taking_referrals_is_refused_alike(desk, path):
    await _read_lately(desk)  # read while it still took them
    await desk.pool.execute(
        """UPDATE program SET accepting_referrals = false, version = version + 1
           WHERE service_id = $1""",
        desk.program_b,
    )
    before = await desk.pool.fetchval("SELECT count(*) FROM outbox")
    with pytest.raises(ProgramNotAccepting):
        await _file(desk, desk.intake([desk.program_a, desk.program_b]), "x" * 12, PATHS[path])
    assert await desk.pool.fetchval("SELECT count(*) FROM outbox") == before


REPOSITORIES = [
    "programs",
    "cases",
    "referrals",
    "history",
    "intake_keys",
    "follow_ups",
    "feedback",
    "listings",
    "audit",
]


@pytest.mark.parametrize("used_before", [False, True], ids=["fresh", "after a transaction"])
async def test_in_one_statement_intakes_is_the_only_repository(desk, used_before):
    uow = desk.service.runtime.uow()
    if used_before:
        async with uow:
            assert await uow.programs.get_many([desk.program_a])
    async with uow.in_one_statement():
        assert uow.intakes.read_lately([]) == {}
        for name in REPOSITORIES:
            with pytest.raises(RepositoryUnavailable, match=rf"uow\.{name} is not available"):
                getattr(uow, name).add  # noqa: B018 (the lookup is what raises)
    async with uow:
        assert await uow.programs.get_many([desk.program_a])
        with pytest.raises(RepositoryUnavailable, match=r"uow\.intakes is not available"):
            uow.intakes.add  # noqa: B018
