"""How a search's words match a program's words (pure): the one rule both the server and the
tablet's offline search apply (`app/src/matching.js` restates it; `tests/data/matching_cases.json`
proves they agree).

- Text is folded (lower case, accents removed) and split into words (runs of letters and digits).
- A word is compared by its stem (Snowball 2 English, "families" → "famili"; a word with a digit
  is a code and stays as it is); a program's fields
  keep their stems in four weights (A names, B organization and needs, C description and
  eligibility, D languages, audiences, places), A and B also with adjacent words run together
  ("foodbank").
- A query keeps its meaningful words: stop words (English and Spanish) are dropped, as are
  words that say nothing about a program ("need", "help"), unless nothing else is left; at most
  MAX_CONCEPTS of them. Each becomes a concept: its stem and the stems of its synonyms (the
  lexicon's groups: "rehab" → addiction, "comida" → food).
- Typos: a concept whose stem neither the vocabulary (every program's words) nor the lexicon
  holds also matches the stems of their words within `max_typos` edits of the word as typed
  (optimal string alignment: a swap of two letters is one edit): 1 from 5 letters, 2 from 9,
  none for shorter words or words with digits.
- A program matches when it matches any concept. Rank: each concept matched counts
  COVERAGE, plus the best (kind, field) it matched in, from FIELD_SCORE (the word itself, a
  synonym, a typo; in names, then organization and needs, description, the rest); ties by
  name, then id.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import snowballstemmer
from rapidfuzz.distance import OSA

WORD = re.compile(r"[^\W_]+")  # letters and digits (JavaScript: /[\p{L}\p{N}]+/gu)
DIGIT = re.compile(r"[0-9]")
MAX_CONCEPTS = 8
VOCABULARY_WORD_MAX = 60  # longer "words" are data run together, not worth correcting towards
WEIGHTS = ("A", "B", "C", "D")
COVERAGE = 1000
# What matching a concept in a field adds to the rank: by the word's own stem, a synonym's, or
# a typo's. Integers, so that both sides add them up to the same number.
FIELD_SCORE = {
    "word": {"A": 40, "B": 24, "C": 12, "D": 4},
    "synonym": {"A": 30, "B": 18, "C": 9, "D": 3},
    "typo": {"A": 20, "B": 12, "C": 6, "D": 2},
}

_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower case, then accents (every combining mark) removed: "Consejería" → "consejeria"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of a folded word; a word with a digit is a code, kept as it is (the vocabulary
    is small: nearly every call is a cache hit)."""
    if DIGIT.search(word):
        return word
    stemmed: str = _stemmer.stemWord(word)
    return stemmed


def max_typos(word: str) -> int:
    """Edits forgiven in a folded query word: none under 5 letters or with a digit, nor past
    the longest word the vocabulary keeps (no word could be a typo away)."""
    if DIGIT.search(word) or not 5 <= len(word) <= VOCABULARY_WORD_MAX + 2:
        return 0
    return 1 if len(word) < 9 else 2


def within_typos(word: str, candidate: str, typos: int) -> bool:
    return typos > 0 and OSA.distance(word, candidate, score_cutoff=typos) <= typos


def deletions(word: str, depth: int = 2) -> set[str]:
    """The word with up to `depth` letters deleted: two words within `depth` edits share one of
    these (how the vocabulary's index finds typo candidates without scanning it)."""
    found, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))} - found
        found |= frontier
    return found


# -- a program's side ---------------------------------------------------------------------


def field_stems(text: str, stop_words: Collection[str], *, compounds: bool = False) -> list[str]:
    """The stems a field holds: its words but stop words, and with `compounds` each adjacent
    pair run together ("food bank" also holds "foodbank")."""
    tokens = words(text)
    stems = [stem(t) for t in tokens if t not in stop_words]
    if compounds:
        stems += [stem(a + b) for a, b in pairwise(tokens)]
    return stems


def vocabulary_words(fields: Iterable[str], stop_words: Collection[str]) -> set[str]:
    """The words typo correction may lead to (to their stems): single words, none with digits."""
    return {
        t
        for text in fields
        for t in words(text)
        if t not in stop_words and not DIGIT.search(t) and len(t) <= VOCABULARY_WORD_MAX
    }


# -- a query's side -----------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """One meaningful word of a query and every stem that counts as it."""

    word: str
    stem: str
    synonyms: frozenset[str] = frozenset()  # its synonyms' stems (not its own)
    typos: frozenset[str] = frozenset()  # vocabulary stems a typo away (unknown stems only)

    @property
    def max_typos(self) -> int:
        return max_typos(self.word)

    @property
    def stems(self) -> frozenset[str]:
        return self.synonyms | self.typos | {self.stem}

    def by_kind(self) -> dict[str, frozenset[str]]:
        """Its stems by what a match on them scores (FIELD_SCORE's kinds)."""
        return {"word": frozenset({self.stem}), "synonym": self.synonyms, "typo": self.typos}


@dataclass(frozen=True)
class Synonyms:
    """The lexicon's synonym groups by stem: each stem → the stems of every group holding it;
    and the groups' words (a typo may lead to one)."""

    groups: Mapping[str, frozenset[str]]
    words: frozenset[str]

    @classmethod
    def of(cls, groups: Iterable[Iterable[str]]) -> Synonyms:
        by_stem: dict[str, set[str]] = {}
        all_words: set[str] = set()
        for group in groups:
            group_words = {w for word in group for w in words(word)}
            all_words |= group_words
            stems = {stem(w) for w in group_words}
            for s in stems:
                by_stem.setdefault(s, set()).update(stems)
        return cls({s: frozenset(g) for s, g in by_stem.items()}, frozenset(all_words))

    def of_stem(self, stem_: str) -> frozenset[str]:
        return self.groups.get(stem_, frozenset({stem_}))


def meaningful_words(
    text: str, stop_words: Collection[str], query_stop_words: Collection[str]
) -> list[str]:
    """The query's words that say something, each stem once, at most MAX_CONCEPTS; when every
    word is a stop word, the words that are not language stop words ("help" alone)."""
    tokens = words(text)
    kept = [t for t in tokens if t not in stop_words and t not in query_stop_words]
    if not kept:
        kept = [t for t in tokens if t not in stop_words]
    seen: set[str] = set()
    unique = []
    for token in kept:
        if stem(token) not in seen:
            seen.add(stem(token))
            unique.append(token)
    return unique[:MAX_CONCEPTS]


def concepts(
    text: str,
    stop_words: Collection[str],
    query_stop_words: Collection[str],
    synonyms: Synonyms,
) -> list[Concept]:
    """The query's concepts before typo correction (which needs the vocabulary)."""
    return [
        Concept(word, stem(word), synonyms.of_stem(stem(word)) - {stem(word)})
        for word in meaningful_words(text, stop_words, query_stop_words)
    ]


def with_typos(concept: Concept, candidates: Iterable[str], synonyms: Synonyms) -> Concept:
    """`concept` with the stems of the `candidates` (vocabulary or lexicon words) a typo away
    from its word, and their synonyms."""
    near = {stem(c) for c in candidates if within_typos(concept.word, c, concept.max_typos)}
    typos = {s for c in near for s in synonyms.of_stem(c)} - concept.synonyms - {concept.stem}
    return Concept(concept.word, concept.stem, concept.synonyms, frozenset(typos))


def needs_correction(concept: Concept, known: Collection[str]) -> bool:
    return concept.max_typos > 0 and concept.stem not in known


# -- matching and ranking a program -------------------------------------------------------


def concept_score(concept: Concept, fields: Mapping[str, Collection[str]]) -> int:
    """What `concept` adds to the rank of a program whose fields hold these stems (0: none)."""
    best = 0
    for kind, stems in concept.by_kind().items():
        for weight in WEIGHTS:
            if any(s in fields.get(weight, ()) for s in stems):
                best = max(best, FIELD_SCORE[kind][weight])
    return COVERAGE + best if best else 0


def rank(query: Iterable[Concept], fields: Mapping[str, Collection[str]]) -> int:
    return sum(concept_score(c, fields) for c in query)
