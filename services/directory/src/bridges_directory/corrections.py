"""Typo corrections, decided once per query word and kept for a while (in this process).

What a misspelled word leads to depends only on the vocabulary, which changes with imports,
not with each search: each query word is looked up once and its answer kept for `ttl_s` (a
word a new import brings is found by typo at most that late), up to `max_entries` answers (the
oldest go first). A word whose stem is known is kept as known: it is never corrected.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field

from bridges_directory import matching
from bridges_directory.lexicon import Lexicon

# (stems to check, the words' deletions) -> (the stems known, the words sharing a deletion)
Lookup = Callable[[list[str], list[str]], Awaitable[tuple[set[str], set[str]]]]


@dataclass
class Corrections:
    lexicon: Lexicon
    ttl_s: float = 60.0
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _answers: OrderedDict[str, tuple[float, frozenset[str]]] = field(default_factory=OrderedDict)

    async def correct(
        self, concepts: Sequence[matching.Concept], lookup: Lookup
    ) -> list[matching.Concept]:
        """`concepts` with their typo candidates (one lookup for every word not yet decided)."""
        now = self.clock()
        wanted = {
            c.word: c for c in concepts if c.max_typos > 0 and c.stem not in self.lexicon.stems
        }
        missing = [c for word, c in wanted.items() if not self._fresh(word, now)]
        if missing:
            stems = sorted({c.stem for c in missing})
            variants = sorted({v for c in missing for v in matching.deletions(c.word, c.max_typos)})
            known, candidates = await lookup(stems, variants)
            for c in missing:
                self._keep(c.word, now, self._near(c, known, candidates))
        return [
            matching.with_typos(c, self._answers[c.word][1], self.lexicon.synonyms)
            if c.word in wanted
            else c
            for c in concepts
        ]

    def _near(
        self, concept: matching.Concept, known: Collection[str], candidates: Collection[str]
    ) -> frozenset[str]:
        """The words a typo away from the concept's (none when its stem is known)."""
        if concept.stem in known:
            return frozenset()
        pool = [*candidates, *self.lexicon.synonyms.words]
        return frozenset(
            c for c in pool if matching.within_typos(concept.word, c, concept.max_typos)
        )

    def _fresh(self, key: str, now: float) -> bool:
        answer = self._answers.get(key)
        return answer is not None and now - answer[0] < self.ttl_s

    def _keep(self, key: str, now: float, near: frozenset[str]) -> None:
        self._answers[key] = (now, near)
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)
