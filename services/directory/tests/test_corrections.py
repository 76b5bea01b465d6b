"""Typo corrections are decided once per query word and kept for a while (a fake vocabulary
lookup and a fake clock): a known word is never corrected, an unknown one leads to the words
a typo away and their synonyms."""

from __future__ import annotations

from bridges_directory import matching
from bridges_directory.corrections import Corrections
from bridges_directory.lexicon import LEXICON

VOCABULARY = {"counseling", "counselor", "council", "shelter", "food", "pantry"}


class FakeVocabulary:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    async def __call__(self, stems: list[str], variants: list[str]) -> tuple[set[str], set[str]]:
        self.calls.append(stems)
        known = {matching.stem(w) for w in VOCABULARY} & set(stems)
        sharing = {w for w in VOCABULARY if matching.deletions(w) & set(variants)}
        return known, sharing


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_misspelled_word_leads_to_the_words_a_typo_away_and_their_synonyms():
    lookup = FakeVocabulary()
    (concept,) = await Corrections(LEXICON).correct(LEXICON.concepts("conseling"), lookup)
    assert "counsel" in concept.typos  # counseling, one letter away
    assert "therapi" in concept.typos  # counseling's synonym
    assert "council" not in concept.typos  # further than two edits
    assert lookup.calls == [["consel"]]


async def test_a_known_word_is_not_corrected_and_short_words_are_not_looked_up():
    lookup = FakeVocabulary()
    council, shelter, food = await Corrections(LEXICON).correct(
        LEXICON.concepts("council shelters food"), lookup
    )
    assert not council.typos and not shelter.typos and not food.typos
    # shelter: a lexicon word; food: under 5 letters; neither needs the vocabulary
    assert lookup.calls == [["council"]]


async def test_each_word_is_looked_up_once_until_its_answer_expires():
    lookup, clock = FakeVocabulary(), Clock()
    corrections = Corrections(LEXICON, ttl_s=60, clock=clock)
    for _ in range(3):
        await corrections.correct(LEXICON.concepts("pantyr sheltr"), lookup)
    assert len(lookup.calls) == 1
    clock.now = 61
    await corrections.correct(LEXICON.concepts("pantyr"), lookup)
    assert lookup.calls[-1] == [matching.stem("pantyr")] and len(lookup.calls) == 2


async def test_the_cache_keeps_the_newest_answers_only():
    lookup = FakeVocabulary()
    corrections = Corrections(LEXICON, max_entries=2)
    for word in ("pantyr", "sheltr", "councel"):
        await corrections.correct(LEXICON.concepts(word), lookup)
    await corrections.correct(LEXICON.concepts("pantyr"), lookup)  # the oldest, dropped
    assert len(lookup.calls) == 4
