"""Many generated misspellings and sentences, in English and Spanish, over the demo county
through real HTTP and PostgreSQL: each finds what its need word finds (not one fixed example)."""

from __future__ import annotations

from bridges_directory.lexicon import LEXICON
from bridges_directory.seed import queries


async def _names(directory, text: str) -> list[str]:
    async with directory.client() as c:
        response = await c.get("/services", params={"search": text, "per_page": 200})
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()["contents"]]


async def _known(directory) -> set[str]:
    async with directory.runtime.pool.acquire() as conn:
        return {r["stem"] for r in await conn.fetch("SELECT DISTINCT stem FROM search_word")}


async def test_a_misspelled_need_finds_what_the_need_finds_first(seeded):
    misspelled = queries.misspellings(60, await _known(seeded) | LEXICON.stems)
    assert len(misspelled) == 60 and {q.language for q in misspelled} == {"en", "es"}
    wrong = []
    for query in misspelled:
        found, wanted = await _names(seeded, query.text), await _names(seeded, query.need)
        if not found or found[0] not in wanted[:3]:
            wrong.append(f"{query.text!r} ({query.need}): {found[:3]}, the word: {wanted[:3]}")
    assert not wrong, "\n".join(wrong)


async def test_a_sentence_finds_programs_for_its_need_among_the_first(seeded):
    sentences = queries.sentences(60)
    assert {q.language for q in sentences} == {"en", "es"}
    wrong = []
    for query in sentences:
        found, wanted = await _names(seeded, query.text), set(await _names(seeded, query.need))
        if not set(found[:5]) & wanted:
            wrong.append(f"{query.text!r} ({query.need}): {found[:5]}")
    assert not wrong, "\n".join(wrong)
