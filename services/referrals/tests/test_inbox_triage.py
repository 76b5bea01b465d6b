"""Triage at a glance, over real HTTP and PostgreSQL: each referral's short reference everywhere
it is shown; list rows with exactly what the family agreed to share (one test per consent
scope), audited once per page and never for a 304; the inbox ordered by time left or by
urgency and keyset-paged in every order; search by reference or by the family's name (a blind
index, never revealing a name the agency may not see); filters."""

from __future__ import annotations

import base64
import json
import re
import uuid
from itertools import cycle
from typing import Any

import pytest

from bridges_devstack.samples import consent
from bridges_kit.principal import Principal
from bridges_referrals import intake, references
from bridges_referrals.domain import ReferenceTaken
from bridges_referrals.models import FileReferral
from bridges_schema import REFERENCE_PATTERN, Role

# What the conftest's intake holds beyond the family label: none of it may reach a list.
FAMILY_WORDS = (
    "Quintanilla",
    "Okafor",
    "1988-04-02",
    "555 0142",
    "after 6pm",
    "Tomas",
    "Lost job",
    "toddler",
)


OFFICER = {"name": "Dana Reyes", "phone": "+1 503 555 0100"}


async def _inbox(desk, agency: uuid.UUID | None = None, **params: Any) -> list[dict]:
    async with desk.client(Role.AGENCY_STAFF, agency=agency) as c:
        response = await c.get("/inbox", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _mine(desk, **params: Any) -> list[dict]:
    async with desk.client(Role.OFFICER) as c:
        response = await c.get("/referrals", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _events(desk) -> list[dict]:
    rows = await desk.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [json.loads(bytes(r["payload"])) for r in rows]


async def _listed_entries(desk) -> list[dict]:
    rows = await desk.pool.fetch(
        "SELECT actor_id, detail FROM audit_log WHERE action = 'pii.listed' ORDER BY id"
    )
    return [{"actor": r["actor_id"], **r["detail"]} for r in rows]


# -- the reference ---------------------------------------------------------------------------


async def test_each_referral_gets_its_own_reference_shown_everywhere(desk):
    filed = (await desk.file([desk.program_a, desk.program_b]))["referrals"]
    ours, theirs = filed
    assert ours["reference"] != theirs["reference"]
    assert all(re.fullmatch(REFERENCE_PATTERN, r["reference"]) for r in filed)
    async with desk.client(Role.AGENCY_STAFF) as c:
        seen = (await c.get(f"/referrals/{ours['id']}")).json()
        accepted = await c.post(
            f"/referrals/{ours['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
    async with desk.client(Role.OFFICER) as c:
        officers_view = (await c.get(f"/referrals/{ours['id']}")).json()
    inbox = await _inbox(desk)
    mine = await _mine(desk)
    assert accepted.json()["reference"] == seen["reference"] == ours["reference"]
    assert officers_view["reference"] == ours["reference"]
    assert [r["reference"] for r in inbox] == [ours["reference"]]
    assert {r["reference"] for r in mine} == {ours["reference"], theirs["reference"]}
    events = {(e["type"].split(".")[-2], e["data"]["referral_id"]): e for e in await _events(desk)}
    assert events[("requested", ours["id"])]["data"]["reference"] == ours["reference"]
    assert events[("requested", theirs["id"])]["data"]["reference"] == theirs["reference"]
    assert events[("accepted", ours["id"])]["data"]["reference"] == ours["reference"]


async def test_a_reference_is_found_however_it_is_typed(desk):
    wanted = (await desk.file())["referrals"][0]
    await desk.file()  # another referral of the same agency, not wanted
    ref = wanted["reference"]
    code = ref.removeprefix("BR-")
    for q in (ref, ref.lower(), code, f" br {code} ", f"BR{code}", f"br - {code.lower()}"):
        found = await _inbox(desk, q=q)
        mine = await _mine(desk, q=q)
        elsewhere = await _inbox(desk, agency=desk.agency_b, q=q)
        assert [r["id"] for r in found] == [wanted["id"]] == [r["id"] for r in mine], q
        assert elsewhere == [], q


async def test_a_taken_reference_is_drawn_again_on_either_intake_path(desk):
    runtime = desk.service.runtime
    taken = (await desk.file())["referrals"][0]["reference"]
    officer = Principal(sub=desk.officer, role=Role.OFFICER, name="Dana Reyes")
    targets = runtime.settings.response_targets()
    fresh_program = await desk.add_program(desk.agency_a)  # not read yet: the reading path
    for program in (desk.program_a, fresh_program):  # program_a was read: one statement
        draws = iter([taken, "BR-" + references.new_reference()[3:]])
        request = FileReferral.model_validate(desk.intake([program]))
        result, replayed = await intake.file_referrals(
            runtime.uow(),
            targets,
            officer,
            request,
            uuid.uuid4().hex,
            draw=lambda draws=draws: next(draws),
        )
        assert not replayed and result.referrals[0].reference != taken
    count = await desk.pool.fetchval("SELECT count(*) FROM referral WHERE reference = $1", taken)
    assert count == 1

    always_taken = cycle([taken])
    request = FileReferral.model_validate(desk.intake([desk.program_a]))
    before = await desk.pool.fetchval("SELECT count(*) FROM referral_case")
    with pytest.raises(ReferenceTaken):
        await intake.file_referrals(
            runtime.uow(),
            targets,
            officer,
            request,
            uuid.uuid4().hex,
            draw=lambda: next(always_taken),
        )
    assert await desk.pool.fetchval("SELECT count(*) FROM referral_case") == before


async def test_the_database_default_draws_references_of_the_same_form(desk):
    drawn = [
        r[0]
        for r in await desk.pool.fetch(
            "SELECT new_referral_reference() FROM generate_series(1, 2000)"
        )
    ]
    assert all(re.fullmatch(REFERENCE_PATTERN, ref) for ref in drawn)
    assert len(set(drawn)) >= 1990  # random: 24.3 million to draw from
    assert {c for ref in drawn for c in ref[3:]} == set(references.ALPHABET)


# -- what a list row shows, scope by scope ----------------------------------------------------

SCOPES = {
    "contact": (["contact"], {"label": True, "needs": False}),
    "contact+needs": (["contact", "needs"], {"label": True, "needs": True}),
    "contact+household": (["contact", "household"], {"label": True, "needs": False}),
    "contact+situation": (["contact", "situation"], {"label": True, "needs": False}),
    "all": (["contact", "household", "needs", "situation"], {"label": True, "needs": True}),
    "withdrawn": (["contact", "household", "needs", "situation"], {"label": False, "needs": False}),
}


@pytest.mark.parametrize("case", list(SCOPES), ids=list(SCOPES))
async def test_a_list_row_shows_only_what_the_family_agreed_to_share(desk, case):
    scopes, shows = SCOPES[case]
    filed = (await desk.file(consent=consent(*scopes), officer_contact=OFFICER))["referrals"][0]
    if case == "withdrawn":
        async with desk.client(Role.OFFICER) as c:
            withdrawn = await c.post(f"/cases/{filed['case_id']}/consent/withdrawal", json={})
        assert withdrawn.status_code == 200
    async with desk.client(Role.AGENCY_STAFF) as c:
        answer = await c.get("/inbox", params={"limit": 10})
    [row] = answer.json()["items"]
    assert row["reference"] == filed["reference"] and row["officer_name"] == "Dana Reyes"
    if shows["label"]:
        assert (row["family_label"], row["language"], row["interpreter_needed"]) == (
            "Amara Q.",
            "es",
            True,
        )
    else:
        assert (row["family_label"], row["language"], row["interpreter_needed"]) == (
            None,
            None,
            None,
        )
        assert "Amara" not in answer.text
    assert row["needs"] == (["food.pantry", "housing.rent"] if shows["needs"] else [])
    assert row["client"] is None and row["situation"] is None and row["history"] is None
    assert [word for word in FAMILY_WORDS if word in answer.text] == []


async def test_the_filing_officers_list_shows_their_family_while_its_data_exists(desk):
    kept = (await desk.file(consent=consent("contact")))["referrals"][0]
    withdrawn = (await desk.file())["referrals"][0]
    async with desk.client(Role.OFFICER) as c:
        await c.post(f"/cases/{withdrawn['case_id']}/consent/withdrawal", json={})
        answer = await c.get("/referrals", params={"sort": "newest"})
    rows = {r["id"]: r for r in answer.json()["items"]}
    assert rows[kept["id"]]["family_label"] == "Amara Q."
    assert rows[kept["id"]]["needs"] == ["food.pantry", "housing.rent"]  # the officer's own
    assert rows[withdrawn["id"]]["family_label"] is None  # erased for everyone
    assert [word for word in FAMILY_WORDS if word in answer.text] == []


async def test_a_page_with_family_data_is_audited_once_and_a_304_not_at_all(desk):
    filed = [(await desk.file())["referrals"][0]["id"] for _ in range(3)]
    async with desk.client(Role.AGENCY_STAFF) as c:
        first = await c.get("/inbox")
        unchanged = await c.get("/inbox", headers={"If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304
    entries = await _listed_entries(desk)
    assert len(entries) == 1 and entries[0]["actor"] == "staff-1"
    assert sorted(entries[0]["referrals"]) == sorted(filed)
    assert entries[0]["fields"] == ["family_label", "language", "interpreter_needed"]
    async with desk.client(Role.ADMIN) as c:
        by_referral = (await c.get("/audit", params={"referral_id": filed[1]})).json()
    assert "pii.listed" in [e["action"] for e in by_referral]

    async with desk.client(Role.AGENCY_STAFF, agency=desk.agency_b) as c:
        empty = await c.get("/inbox")  # nothing of anyone's: nothing to record
    assert empty.json()["items"] == [] and len(await _listed_entries(desk)) == 1


# -- order and paging --------------------------------------------------------------------------


async def _triage_set(desk) -> dict[str, str]:
    """An emergency 50 min from its deadline, a high with a day, a routine with 3 days, a high
    overdue by an hour and a routine filed last: their ids by name."""
    made = {}
    for name, urgency, left in (
        ("overdue-high", "high", "-1 hour"),
        ("emergency", "emergency", "50 minutes"),
        ("high", "high", "1 day"),
        ("routine", "routine", "3 days"),
        ("routine-newest", "routine", "2 days 23 hours"),
    ):
        made[name] = (await desk.file(urgency=urgency))["referrals"][0]["id"]
        await desk.pool.execute(
            "UPDATE referral SET respond_by = now() + $2::text::interval WHERE id = $1",
            uuid.UUID(made[name]),
            left,
        )
    return made


async def test_least_time_left_comes_first_with_the_overdue_on_top(desk):
    made = await _triage_set(desk)
    due = await _inbox(desk, status=["requested", "received"], sort="due")
    newest = await _inbox(desk, sort="newest")
    by_urgency = await _inbox(desk, sort="urgency")
    name = {v: k for k, v in made.items()}
    assert [name[r["id"]] for r in due] == [
        "overdue-high",
        "emergency",
        "high",
        "routine-newest",
        "routine",
    ]
    assert due[0]["overdue"] is True and due[1]["overdue"] is False
    assert [name[r["id"]] for r in newest][:2] == ["routine-newest", "routine"]
    assert [name[r["id"]] for r in by_urgency] == [
        "emergency",
        "overdue-high",
        "high",
        "routine-newest",
        "routine",
    ]


@pytest.mark.parametrize("sort", ["due", "urgency", "newest", "oldest", "updated"])
async def test_every_order_pages_by_keyset_without_gaps_or_repeats(desk, sort):
    await _triage_set(desk)
    for _ in range(3):  # equal keys: the id breaks the tie
        await desk.file(urgency="high")
    whole = [r["id"] for r in await _inbox(desk, sort=sort, limit=50)]
    paged, cursor = [], None
    async with desk.client(Role.AGENCY_STAFF) as c:
        while True:
            params = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/inbox", params=params)).json()
            paged += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert paged == whole and len(whole) == 8


async def test_a_cursor_of_another_order_or_forged_is_refused(desk):
    for _ in range(3):
        await desk.file()
    async with desk.client(Role.AGENCY_STAFF) as c:
        cursor = (await c.get("/inbox", params={"sort": "urgency", "limit": 1})).json()
        other = await c.get("/inbox", params={"sort": "due", "cursor": cursor["next_cursor"]})
        forged_rank = json.dumps(["urgency", ["0", "2026-01-01T00:00:00+00:00"], str(uuid.uuid4())])
        forged = await c.get(
            "/inbox",
            params={
                "sort": "urgency",
                "cursor": base64.urlsafe_b64encode(forged_rank.encode()).decode(),
            },
        )
    assert other.status_code == 400 and forged.status_code == 400
    assert forged.headers["content-type"] == "application/problem+json"


# -- search by name ------------------------------------------------------------------------------


NAME_SEARCHES = {
    "amara": True,
    "AMÁRA": True,
    "Quintanilla-Okafor": True,
    "okafor amara": True,
    "quintanillaokafor": True,
    "amara smith": False,  # every word must match
    "Tomas": False,  # a household member: not a search key
    "ama": False,  # whole words only
    "-- !!": False,  # neither a reference nor a word: nothing, not everything
}


async def test_a_family_is_found_by_its_name_case_and_accents_forgiven(desk):
    wanted = (await desk.file())["referrals"][0]
    await desk.file(
        client={**desk.intake([])["client"], "given_name": "Rosa", "family_name": "Delgado"}
    )
    found = {typed: [r["id"] for r in await _inbox(desk, q=typed)] for typed in NAME_SEARCHES}
    assert found == {typed: [wanted["id"]] if hit else [] for typed, hit in NAME_SEARCHES.items()}


async def test_a_name_the_agency_may_not_see_is_never_found_by_it(desk):
    hidden = (await desk.file())["referrals"][0]
    withdrawn = (await desk.file())["referrals"][0]
    async with desk.client(Role.OFFICER) as c:
        await c.post(f"/cases/{withdrawn['case_id']}/consent/withdrawal", json={})
    # a consent that does not share contact details (none can be recorded now; older ones may)
    await desk.pool.execute(
        "UPDATE consent SET scopes = '{needs}' WHERE case_id = $1", uuid.UUID(hidden["case_id"])
    )
    found = await _inbox(desk, q="Amara Quintanilla")
    by_reference = await _inbox(desk, q=hidden["reference"])
    officers = await _mine(desk, q="Amara Quintanilla")
    assert found == []
    assert [r["id"] for r in by_reference] == [hidden["id"]]  # its reference, not its name
    assert by_reference[0]["family_label"] is None
    assert [r["id"] for r in officers] == [hidden["id"]]  # the officer still sees their own
    tokens = await desk.pool.fetchval(
        "SELECT count(*) FROM family_name_token WHERE case_id = $1", uuid.UUID(withdrawn["case_id"])
    )
    assert tokens == 0  # the withdrawal took the name's index with it


async def test_search_combines_with_the_filters(desk):
    program_c = await desk.add_program(desk.agency_a, "youth.mentoring")
    emergency = (await desk.file([program_c], urgency="emergency"))["referrals"][0]
    (await desk.file([desk.program_a], urgency="emergency"))["referrals"][0]
    routine = (await desk.file([program_c], urgency="routine"))["referrals"][0]
    async with desk.client(Role.AGENCY_STAFF) as c:
        await c.post(
            f"/referrals/{routine['id']}/transitions",
            json={"to": "accepted"},
            headers={"If-Match": '"1"'},
        )
        programs = (await c.get("/inbox/programs")).json()
    both = await _inbox(desk, q="amara", urgency="emergency", program_id=str(program_c))
    accepted = await _inbox(desk, q="amara", status="accepted")
    assert [r["id"] for r in both] == [emergency["id"]]
    assert [r["id"] for r in accepted] == [routine["id"]]
    assert {p["id"] for p in programs} == {str(desk.program_a), str(program_c)}


async def test_a_search_too_long_is_a_clear_problem(desk):
    async with desk.client(Role.AGENCY_STAFF) as c:
        answer = await c.get("/inbox", params={"q": "x" * 101})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
