"""The shared matching cases (tests/data/matching_cases.json) on the real search: the services
imported into PostgreSQL, each query over HTTP. app/tests/matching.test.js runs the same cases
through the tablet's offline matching with the lexicon this directory serves for them
(tests/data/matching_lexicon.json, checked here), and the Snowball stems both sides compute
(tests/data/stems.json, checked here against Python, there against JavaScript).

After a deliberate change to the lexicon or the vocabulary, rewrite the two fixtures with
`UPDATE_MATCHING_FIXTURES=1 .venv/bin/pytest services/directory/tests/test_matching_cases.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bridges_directory import catalog, lexicon, matching
from bridges_directory.seed import demo_county, generator

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
CASES = json.loads((DATA / "matching_cases.json").read_text())
UPDATE = os.environ.get("UPDATE_MATCHING_FIXTURES") == "1"


def _check_fixture(name: str, current: object) -> None:
    path = DATA / name
    if UPDATE:
        path.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert json.loads(path.read_text()) == current, (
        f"{name} is stale: UPDATE_MATCHING_FIXTURES=1 .venv/bin/pytest {__file__}"
    )


def failures(case: dict, names: list[str]) -> list[str]:
    """What a case expects that `names` (the results, best first) does not hold."""
    wrong = []
    if "exactly" in case and names != case["exactly"]:
        wrong.append(f"exactly {case['exactly']}")
    if "first" in case and names[: len(case["first"])] != case["first"]:
        wrong.append(f"first {case['first']}")
    if missing := set(case.get("includes", ())) - set(names):
        wrong.append(f"includes {sorted(missing)}")
    return [f"{case['query']!r} ({case['why']}): {w}, got {names}" for w in wrong]


async def _load(directory) -> None:
    dataset = {k: CASES[k] for k in ("taxonomies", "taxonomy_terms", "services")}
    report = await catalog.import_dataset(directory.runtime.uow(), dataset)
    assert report.created == len(CASES["services"])


async def test_the_search_passes_every_shared_case(directory):
    await _load(directory)
    wrong = []
    async with directory.client() as c:
        for case in CASES["cases"]:
            response = await c.get("/services", params={"search": case["query"], "per_page": 200})
            assert response.status_code == 200, response.text
            wrong += failures(case, [s["name"] for s in response.json()["contents"]])
    assert not wrong, "\n".join(wrong)


async def test_the_lexicon_served_for_the_cases_is_the_one_the_app_is_tested_with(directory):
    await _load(directory)
    async with directory.client() as c:
        response = await c.get("/search/lexicon")
        again = await c.get("/search/lexicon", headers={"If-None-Match": response.headers["ETag"]})
    assert response.status_code == 200 and response.headers["cache-control"].startswith("public")
    assert again.status_code == 304 and not again.content
    served = response.json()
    es = {t["code"]: t["names"]["es"] for t in served["terms"]}
    assert es["mental-health.counselling"] == "Consejería"
    assert "with" in served["stop_words"]["en"] and "para" in served["stop_words"]["es"]
    _check_fixture("matching_lexicon.json", served)


def _words_both_sides_stem() -> set[str]:
    texts = [json.dumps(d, ensure_ascii=False) for d in (CASES, demo_county.build())]
    texts += [" ".join(kind) for kind in generator._PROGRAM_KINDS.values()]
    texts += [" ".join(group) for group in lexicon.SYNONYMS]
    texts += [" ".join(words) for words in lexicon.STOP_WORDS.values()]
    texts += [" ".join(words) for words in lexicon.QUERY_STOP_WORDS.values()]
    return {w for text in texts for w in matching.words(text)}


def test_the_stems_the_app_is_tested_with_are_pythons():
    _check_fixture("stems.json", {w: matching.stem(w) for w in sorted(_words_both_sides_stem())})
