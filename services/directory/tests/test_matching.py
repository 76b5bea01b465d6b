"""The matching rule (pure): folding, stems, meaningful words, how many typos a word may have,
and the deletion index finding every word a typo away."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from bridges_directory import matching
from bridges_directory.lexicon import LEXICON

WORDS = st.text(alphabet="abcdeilnorst", min_size=1, max_size=10)


@given(WORDS, WORDS)
def test_two_words_within_two_edits_share_a_deletion(a: str, b: str):
    distance = OSA.distance(a, b)
    shared = matching.deletions(a) & matching.deletions(b)
    if distance <= 2:
        assert shared  # the index finds every candidate; the exact check keeps the right ones
    if distance <= 1:
        assert matching.deletions(a, 1) & matching.deletions(b, 1)


def test_typos_allowed_grow_with_the_word_and_never_for_codes_or_long_runs():
    assert [matching.max_typos(w) for w in ("food", "shelt", "shelters", "counselling")] == [
        0,
        1,
        1,
        2,
    ]
    assert matching.max_typos("b12345") == 0
    assert matching.max_typos("x" * (matching.VOCABULARY_WORD_MAX + 3)) == 0


def test_a_sentence_keeps_its_meaningful_words_in_both_languages():
    assert matching.meaningful_words(
        "I need help with my bills", LEXICON.stop_words, LEXICON.query_stop_words
    ) == ["bills"]
    assert matching.meaningful_words(
        "necesito comida para mis hijos", LEXICON.stop_words, LEXICON.query_stop_words
    ) == ["comida", "hijos"]
    # nothing but request words: they are what there is
    assert matching.meaningful_words("help", LEXICON.stop_words, LEXICON.query_stop_words) == [
        "help"
    ]


def test_words_are_folded_and_stemmed_and_codes_kept():
    assert matching.words("Consejería, NIÑOS!") == ["consejeria", "ninos"]
    assert matching.stem("families") == matching.stem("family") == "famili"
    assert matching.stem("b12s") == "b12s"


def test_synonyms_count_as_the_word_and_rank_below_it():
    (rehab,) = LEXICON.concepts("rehab")
    assert "addict" in rehab.synonyms
    in_name = {"A": {"rehab"}, "B": set(), "C": set(), "D": set()}
    by_synonym = {"A": {"addict"}, "B": set(), "C": set(), "D": set()}
    assert matching.rank([rehab], in_name) > matching.rank([rehab], by_synonym) > 0
    assert matching.rank([rehab], {"A": {"food"}}) == 0
