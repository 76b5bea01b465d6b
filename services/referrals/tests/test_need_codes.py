"""Needs come from the directory's taxonomy, over real HTTP and PostgreSQL: a code no program
made known (with the codes above its own) is refused by its place in the request, on both intake
paths, with nothing stored or sent; a code above a program's is known; statistics group only
known needs."""

from __future__ import annotations

import uuid

from bridges_referrals import need_codes
from bridges_schema import Role

FREE_TEXT = "qxzmneed-amara-diallo-hiv"


def test_a_code_makes_the_codes_above_it_known():
    assert need_codes.known_from(["food.pantry", "youth.mentoring.after-school"]) == {
        "food",
        "food.pantry",
        "youth",
        "youth.mentoring",
        "youth.mentoring.after-school",
    }


async def _stored(desk) -> dict[str, int]:
    counts = {}
    for table in ("referral_case", "referral", "outbox", "idempotency_key"):
        counts[table] = await desk.pool.fetchval(f"SELECT count(*) FROM {table}")
    return counts


async def test_a_need_not_in_the_directorys_taxonomy_is_refused_and_nothing_is_stored(desk):
    await desk.file()  # program_a read lately: a new intake for it is one statement
    fresh = await desk.add_program(desk.agency_a)  # not read yet: the path that reads first
    before = await _stored(desk)
    async with desk.client(Role.OFFICER) as c:
        for program in (desk.program_a, fresh):
            body = desk.intake([program], needs=["food.pantry", FREE_TEXT])
            refused = await c.post(
                "/referrals", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            problem = refused.json()
            assert [e["location"] for e in problem["errors"]] == [["body", "needs", 1]]
            assert FREE_TEXT not in refused.text  # free text may be personal: not echoed
    assert await _stored(desk) == before


async def test_a_need_above_a_programs_code_and_a_new_programs_code_are_known(desk):
    async with desk.client(Role.OFFICER) as c:
        refused = await c.post(
            "/referrals",
            json=desk.intake([desk.program_a], needs=["youth"]),
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert refused.status_code == 422, refused.text
    await desk.add_program(desk.agency_b, "youth.mentoring")  # as its event would
    filed = await desk.file([desk.program_a], needs=["food", "youth", "youth.mentoring"])
    async with desk.client(Role.OFFICER) as c:
        view = (await c.get(f"/referrals/{filed['referrals'][0]['id']}")).json()
    assert view["needs"] == ["food", "youth", "youth.mentoring"]


async def test_statistics_group_only_known_needs(desk):
    filed = [await desk.file(needs=["food.pantry"]) for _ in range(6)]
    # intakes from before needs were checked may hold anything
    await desk.pool.execute(
        "UPDATE referral_case SET need_codes = ARRAY[$1, 'food.meals'] WHERE id = $2",
        FREE_TEXT,
        uuid.UUID(filed[0]["case_id"]),
    )
    async with desk.service.client() as c:
        stats = await c.get("/stats")
        exported = await c.get("/stats.csv")
    assert stats.status_code == exported.status_code == 200
    assert {row["need"] for row in stats.json()["by_need"]} == {"food"}
    assert FREE_TEXT not in stats.text and FREE_TEXT not in exported.text
