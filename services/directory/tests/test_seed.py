"""The demo county: a realistic directory that loads into a real database, twice without change."""

from __future__ import annotations

from collections import Counter

from bridges_directory import seed
from bridges_directory.hsds import Service

CATEGORIES = {"food", "housing", "mental-health", "youth", "addiction", "family-violence", "legal"}


def test_demo_county_has_thirty_valid_programs_in_every_category():
    data = seed.read_dataset()
    services = [Service.model_validate(raw) for raw in data["services"]]
    assert len(services) >= 30
    assert len({s.id for s in services}) == len(services)
    codes = {t["id"]: t["code"] for t in data["taxonomy_terms"]}
    covered = Counter(
        codes[str(a.taxonomy_term_id)].split(".")[0] for s in services for a in s.attributes
    )
    assert set(covered) >= CATEGORIES
    assert all(s.x_bridges.agency_id for s in services)
    assert any(s.name == "Riverton Community Food Bank" for s in services)
    assert seed.read_dataset() == data  # deterministic ids


async def test_seed_loads_once_and_a_second_load_changes_nothing(directory):
    pool = directory.runtime.pool
    total, changed = await seed.load(directory.runtime.uow())
    assert changed == total >= 30
    events = await pool.fetchval("SELECT count(*) FROM outbox")
    assert events == total

    assert await seed.load(directory.runtime.uow()) == (total, 0)
    assert await pool.fetchval("SELECT count(*) FROM outbox") == events
    async with directory.client() as c:
        page = (await c.get("/services", params={"search": "food bank", "per_page": 50})).json()
    assert "Riverton Community Food Bank" in {s["name"] for s in page["contents"]}
