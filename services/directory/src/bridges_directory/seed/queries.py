"""What people type, generated: misspelled need words and plain sentences in English and
Spanish, reproducible from a seed (the search benchmark draws its queries from these, and the
relevance tests check many of them, not one fixed example).

Each query carries the need word it was made from, so a test can compare what the query finds
with what the word itself finds.
"""

from __future__ import annotations

import random
import string
from collections.abc import Collection
from dataclasses import dataclass

from bridges_directory import matching

# Need words an officer types, as programs and the taxonomy name them (English and Spanish).
NEEDS_EN = (
    "food", "groceries", "pantry", "meals", "shelter", "housing", "rent", "utilities", "bills",
    "counseling", "therapy", "crisis", "detox", "recovery", "treatment", "mentoring", "lawyer",
    "eviction", "immigration", "custody", "diapers", "formula", "homework", "violence",
)  # fmt: skip
NEEDS_ES = (
    "comida", "alimentos", "despensa", "refugio", "albergue", "vivienda", "renta", "alquiler",
    "consejería", "terapia", "crisis", "desintoxicación", "tratamiento", "abogado", "desalojo",
    "inmigración", "pañales", "tareas", "violencia",
)  # fmt: skip

_SENTENCES_EN = (
    "need help with my {need}",
    "mother two kids {need} this evening spanish",
    "looking for {need} near me for my family",
    "where can i get {need} today",
    "my son needs {need} after school",
    "family with a baby needs {need} tonight",
    "senior living alone needs {need} and {other}",
)
_SENTENCES_ES = (
    "necesito ayuda con {need}",
    "madre con dos niños necesita {need} hoy",
    "busco {need} para mi familia",
    "dónde hay {need} cerca de aquí",
    "mi hijo necesita {need} y {other}",
    "familia con un bebé busca {need} esta noche",
)


@dataclass(frozen=True)
class GeneratedQuery:
    text: str
    need: str  # the need word it was made from
    language: str  # "en" or "es"


def _misspell(rng: random.Random, word: str) -> str:
    """One edit a hurried thumb makes: a letter dropped, doubled, swapped or replaced."""
    i = rng.randrange(1, len(word) - 1)
    match rng.choice(("drop", "double", "swap", "replace")):
        case "drop":
            return word[:i] + word[i + 1 :]
        case "double":
            return word[:i] + word[i] + word[i:]
        case "swap":
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        case _:
            return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def misspellings(count: int, known: Collection[str] = (), seed: int = 7) -> list[GeneratedQuery]:
    """`count` misspelled need words (5 letters or more, so a typo is forgiven), none of them a
    word whose stem is `known` (a real word is not a misspelling)."""
    rng = random.Random(seed)
    words = [
        (w, lang)
        for lang, needs in (("en", NEEDS_EN), ("es", NEEDS_ES))
        for w in needs
        if len(matching.fold(w)) >= 5
    ]
    found: dict[str, GeneratedQuery] = {}
    for _ in range(count * 50):
        if len(found) == count:
            break
        word, language = rng.choice(words)
        typo = _misspell(rng, matching.fold(word))
        if (
            typo != matching.fold(word)
            and matching.max_typos(typo) > 0
            and matching.stem(typo) not in known
        ):
            found.setdefault(typo, GeneratedQuery(typo, word, language))
    return list(found.values())


def sentences(count: int, seed: int = 7) -> list[GeneratedQuery]:
    """`count` plain sentences around a need word, half English, half Spanish."""
    rng = random.Random(seed)
    found: dict[str, GeneratedQuery] = {}
    for _ in range(count * 50):
        if len(found) == count:
            break
        language = rng.choice(("en", "es"))
        needs, templates = (
            (NEEDS_EN, _SENTENCES_EN) if language == "en" else (NEEDS_ES, _SENTENCES_ES)
        )
        need, other = rng.sample(needs, 2)
        text = rng.choice(templates).format(need=need, other=other)
        found.setdefault(text, GeneratedQuery(text, need, language))
    return list(found.values())
