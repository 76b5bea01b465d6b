"""Common words looked for among the first programs before the index (`search_sql.words_probe`,
`queries.WordShares`): when to, and that the answer is the one the index gives, over a
generated region through PostgreSQL and real HTTP."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bridges_directory import catalog, queries, search_sql
from bridges_directory.corrections import Corrections
from bridges_directory.lexicon import LEXICON
from bridges_directory.matching import Concept
from bridges_directory.search_sql import SearchQuery, words_probe, words_share
from bridges_directory.seed import generator

LEGAL, AID = LEXICON.concepts("legal aid")


def test_a_concepts_share_takes_its_stems_as_alternatives_and_the_concepts_together():
    one = Concept("legal", "legal", frozenset({"lawyer"}))
    other = Concept("aid", "aid")
    shares = {"legal": 0.5, "lawyer": 0.5, "aid": 0.4}
    assert words_share([one], shares) == pytest.approx(0.75)
    assert words_share([one, other], shares) == pytest.approx(0.3)
    assert words_share([one, Concept("rare", "rare")], shares) == 0  # not among the common


def test_words_are_probed_for_when_common_together_and_alone():
    common = {stem: 0.5 for c in (LEGAL, AID) for stem in c.stems}
    words = SearchQuery(text="legal aid")
    assert words_probe(words, [LEGAL, AID], common)
    assert not words_probe(words, [LEGAL, AID], {})  # rare: the index
    assert not words_probe(SearchQuery(text="legal"), [LEGAL], common)  # one word: in turn already
    # a third more than the cap expected among the first programs
    just = (search_sql.RANKED_CAP * 4 / 3 / search_sql.WORDS_PROBE_ROWS) ** 0.5 * 1.001
    assert words_probe(words, [Concept("a", "a"), Concept("b", "b")], {"a": just, "b": just})
    below = just * 0.95
    assert not words_probe(words, [Concept("a", "a"), Concept("b", "b")], {"a": below, "b": below})
    # sorted by name, the cap is the larger one: more must be expected
    assert not words_probe(
        replace(words, sort="name"), [Concept("a", "a"), Concept("b", "b")], {"a": just, "b": just}
    )
    for other_filter in (
        {"language": "es"},
        {"lat": 45.0, "lon": -123.0, "radius_km": 10.0},
        {"accepting": True},
        {"age": 7.0},
        {"service_area": "alder county"},
    ):
        assert not words_probe(replace(words, **other_filter), [LEGAL, AID], common), other_filter


@pytest.fixture
async def region(make_directory):
    """2,000 generated programs (the region of the benchmark, smaller), analyzed."""
    directory = await make_directory("probe")
    for dataset in generator.generate(2000):
        await catalog.import_dataset(directory.runtime.uow(), dataset)
    async with directory.runtime.pool.acquire() as conn:
        await conn.execute("ANALYZE service")
    return directory


async def test_the_first_programs_give_the_answer_the_index_gives(region, monkeypatch):
    # of the region's 2,000 programs, the first 1,500 (in the table's order) are read
    monkeypatch.setattr(search_sql, "WORDS_PROBE_ROWS", 1500)
    found_there = []
    async with region.runtime.pool.acquire() as conn:
        for text in ("legal aid", "family shelter", "family counseling", "food bank", "rent help"):
            q = SearchQuery(text=text, limit=200)
            concepts = await queries.resolve_words(conn, Corrections(LEXICON), text)
            sql, params = search_sql.search_sql(q, concepts=concepts, words_probe=True)
            rows = await conn.fetch(sql, *params)
            if rows and rows[0]["total"] >= search_sql.RANKED_CAP:
                found_there.append(text)
                by_index = await queries.search_services(conn, q, concepts)
                assert (rows[0]["total"], [r["item"] for r in rows]) == by_index, text
    assert "legal aid" in found_there  # 511 of the 2,000 hold both words


async def test_common_words_are_probed_for_once_and_rare_ones_never(region):
    async with region.runtime.pool.acquire() as conn:
        shares = queries.WordShares()
        decided = {}
        for text in ("legal aid", "family shelter", "food bank"):
            q = SearchQuery(text=text, limit=200)
            concepts = await queries.resolve_words(conn, Corrections(LEXICON), text)
            before = await shares.probe(conn, q, concepts)
            with_probe = await queries.search_services(conn, q, concepts, shares=shares)
            assert with_probe == await queries.search_services(conn, q, concepts), text
            decided[text] = (before, await shares.probe(conn, q, concepts))
    # both words common: found among the first programs, and looked for there again
    assert decided["legal aid"] == (True, True)
    # common alone, but 206 of 2,000 hold both: too few there, the index next time
    assert decided["family shelter"] == (True, False)
    assert decided["food bank"] == (False, False)  # "bank" is rare: the index at once


async def test_the_service_answers_common_words_as_the_index_does(region):
    async with region.client() as client:
        served = await client.get("/services", params={"search": "legal aid", "per_page": 50})
    assert served.status_code == 200
    async with region.runtime.pool.acquire() as conn:
        q = SearchQuery(text="legal aid", limit=50)
        concepts = await queries.resolve_words(conn, Corrections(LEXICON), "legal aid")
        total, items = await queries.search_services(conn, q, concepts)
        # the service's own decision: to probe, and the probe found the cap
        assert await region.server.config.app.state.searches.shares.probe(conn, q, concepts)
    page = served.json()
    assert page["total_items"] == total == search_sql.RANKED_CAP
    assert [s["id"] for s in page["contents"]] == [json.loads(i)["id"] for i in items]
    assert served.headers["Bridges-Results-Capped"] == str(search_sql.RANKED_CAP)


async def test_a_page_past_the_end_counts_all_and_keeps_probing(region):
    async with region.runtime.pool.acquire() as conn:
        shares = queries.WordShares()
        q = SearchQuery(text="legal aid", limit=50, offset=400)  # the cap is 300
        concepts = await queries.resolve_words(conn, Corrections(LEXICON), "legal aid")
        assert await queries.search_services(conn, q, concepts, shares=shares) == (
            search_sql.RANKED_CAP,
            [],
        )
        assert await shares.probe(conn, q, concepts)  # nothing learnt from an empty page
