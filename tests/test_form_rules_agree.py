"""The tablet's referral form and the referrals API apply the same rules: thousands of drafts,
drawn from the values a person can give each field (blank, valid, invalid, too long), go through
the app's own checks (node, app/src/referral.js) and through the API's schema (pydantic,
`FileReferral`). Every draft the form would send, the API accepts; every draft the form holds
back, the API refuses. Skip logic included: a field the form hides is neither required nor sent;
and the family's follow-up (the channel, and the safe hours and re-confirmation a message needs
when contacting the family needs care) as the intake decides it.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bridges_referrals import follow_up
from bridges_referrals.follow_up import FollowUpPolicy
from bridges_referrals.intake import plan_follow_up
from bridges_referrals.models import FileReferral

APP = Path(__file__).resolve().parents[1] / "app"
DRAFTS = 3000

# What a person can leave in each field: (values the API takes, values it refuses). Each draft
# takes a refused value in a field now and then, so the drafts fall on both sides of the rules.
NAMES = (["Maria", "Nguyễn Thị", "A" * 100], ["", "  ", "A" * 101])
PHONES = (["503-555-0101", "+1 (503) 555 0102"], ["", "12", "call me", "5" * 31])
EMAILS = (
    ["maria@example.org", "maria.lopez@example.org"],
    ["", "a@b", "x@y.com.", "maria@gmail..com"],
)
AGES = (["", "0", "15", "130"], ["131", "2.5", "abc"])
RELATIONSHIPS = (["mother", "child", "tía abuela", "x" * 40], ["", "x" * 41])
SAFE = ([True, False], [None])
BEST_TIMES = (["", "mornings"], ["x" * 101])
URGENCIES = (["routine", "high", "emergency"], [""])
NEEDS: tuple[list[list[str]], list[list[str]]] = ([["food"], ["food", "youth"]], [[]])
METHODS = (["verbal", "written", "signature"], [""])
SCOPES: tuple[list[list[str]], list[list[str]]] = (
    [["contact"], ["contact", "needs"], ["contact", "situation"]],
    [["needs"]],
)
SITUATIONS = (["", "Needs food tonight."], ["x" * 4001])
CHANNELS = ["phone", "sms", "email", "officer", "in-person"]
WRONG_NOW_AND_THEN = 0.04


def _at(hours_from_now: float) -> str:
    """A datetime-local value, as the form's field holds it (the tablet's own clock)."""
    return (datetime.now() + timedelta(hours=hours_from_now)).strftime("%Y-%m-%dT%H:%M")


def _draft(rng: random.Random) -> dict[str, Any]:
    def pick(values: tuple[list[Any], list[Any]]) -> Any:
        good, bad = values
        return rng.choice(bad if rng.random() < WRONG_NOW_AND_THEN else good)

    members = [
        {
            "key": f"m{i}",
            "givenName": pick(NAMES),
            "familyName": rng.choice(["", "", "Lopez", "A" * 101]),
            "relationship": pick(RELATIONSHIPS),
            "age": pick(AGES),
        }
        for i in range(rng.choice([0, 0, 1, 2]))
    ]
    given_by = rng.choice(["client", "guardian", "guardian"] * 8 + [""])
    guardian_member = rng.choice([None, *(m["key"] for m in members)])
    return {
        "givenName": pick(NAMES),
        "familyName": pick(NAMES),
        "age": pick(AGES),
        "household": members,
        "channel": rng.choice(CHANNELS),
        # a field the channel needs is sometimes left blank (it is in the refused values)
        "phone": pick(PHONES) if rng.random() < 0.7 else "",
        "email": pick(EMAILS) if rng.random() < 0.6 else "",
        "safeToLeaveMessage": pick(SAFE),
        "contactLanguage": rng.choice(["en", "es", "vi"]),
        "interpreter": rng.choice([True, False]),
        "bestTime": pick(BEST_TIMES),
        "officerPhone": pick(PHONES) if rng.random() < 0.5 else "",
        "needs": rng.choice([*NEEDS[0], ["family-violence"], ["food", "family-violence.shelter"]])
        if rng.random() > WRONG_NOW_AND_THEN
        else rng.choice(NEEDS[1]),
        "urgency": pick(URGENCIES),
        "situation": pick(SITUATIONS),
        "safetyConcerns": rng.random() < 0.2,
        "followUp": rng.choice([None, None, "email", "text", "officer", "none"]),
        "safeFrom": rng.choice(["", "17:00", "09:30", "25:00"]),
        "safeTo": rng.choice(["", "20:00", "08:00"]),
        "followUpReconfirmed": rng.random() < 0.6,
        "consent": {
            "givenBy": given_by,
            "guardianMember": guardian_member if given_by == "guardian" else None,
            "guardianName": pick(NAMES),
            "method": pick(METHODS),
            # a day away from now either way: the 5-minute clock allowance is not in play
            "givenAt": pick(([_at(-1), _at(-24)], [_at(24), ""])),
            "language": None,
            "scopes": pick(SCOPES),
            "confirmed": True,  # the officer's own attestation: the app's, not the API's
        },
    }


def _programs(rng: random.Random) -> list[dict[str, str]]:
    count = rng.choice([1, 1, 2, 2, 10] * 6 + [0, 11])
    return [{"id": str(uuid4()), "name": f"Program {i}"} for i in range(count)]


def _app_verdicts(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the app's own checks (Node.js 20.19+)")
    done = subprocess.run(
        [node, str(APP / "tests" / "support" / "form_verdicts.mjs")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    verdicts: list[dict[str, Any]] = json.loads(done.stdout)
    return verdicts


def _api_accepts(body: dict[str, Any]) -> tuple[bool, str]:
    """The API's verdict: its schema, then the intake's follow-up rules (a 422 too)."""
    try:
        request = FileReferral.model_validate(body)
        plan_follow_up(request, FollowUpPolicy(), uuid4(), datetime.now(UTC))
    except ValidationError as error:
        return False, "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        )
    except (follow_up.FollowUpUnreachable, follow_up.FollowUpNotReconfirmed) as refused:
        return False, str(refused)
    return True, ""


def test_the_form_sends_exactly_what_the_api_accepts() -> None:
    rng = random.Random(20261207)
    cases = [{"draft": _draft(rng), "programs": _programs(rng)} for _ in range(DRAFTS)]
    verdicts = _app_verdicts(cases)
    disagreements = []
    sendable = 0
    for case, verdict in zip(cases, verdicts, strict=True):
        accepted, why = _api_accepts(verdict["body"])
        sendable += verdict["sendable"]
        if accepted != verdict["sendable"]:
            disagreements.append(
                {"form": verdict["problems"], "api": why or "accepted", "draft": case["draft"]}
            )
    assert not disagreements, json.dumps(disagreements[:3], indent=1, ensure_ascii=False)
    # the drafts explore both sides: enough that the form would send, and enough it holds back
    assert 50 < sendable < DRAFTS - 50, sendable


def test_a_family_reached_through_the_officer_needs_no_message_answer() -> None:
    """The rule the form's skip logic relies on, at the API."""
    body = {
        "client": {
            "given_name": "Leo",
            "family_name": "Lopez",
            "contact": {"preferred_channel": "officer", "preferred_language": "es"},
        },
        "needs": ["food"],
        "urgency": "high",
        "program_ids": [str(uuid4())],
        "consent": {
            "given_by": "guardian",
            "given_by_name": "Ana Lopez",
            "method": "verbal",
            "given_at": datetime.now().astimezone().isoformat(),
            "scopes": ["contact"],
        },
    }
    assert _api_accepts(body) == (True, "")
    body["client"]["contact"]["preferred_channel"] = "email"
    body["client"]["contact"]["email"] = "ana@example.org"
    accepted, why = _api_accepts(body)
    assert not accepted and "safe_to_leave_message" in why
