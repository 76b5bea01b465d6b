"""A family's name as lists show it and as search finds it (pure): the short label ("Amara D.":
the given name and the family name's initial) and the folded words a blind index is made of
(case and accents folded, so "josé" finds "José", "QUINTANILLA OKAFOR" finds
"Quintanilla-Okafor"). The words are never stored: only their keyed hashes (`name_index`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_QUERY_WORDS = 6
_WORD = re.compile(r"[^\W_]+")  # letters and digits: punctuation and spaces separate words


def fold(text: str) -> str:
    """Lower case without accents ("Ñúñez" → "nunez")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of `text`, in order, each once."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


def label(client: Mapping[str, Any] | None) -> str | None:
    """ "Amara D.": enough to match a phone call, little to expose on a screen."""
    if not client:
        return None
    given = str(client.get("given_name") or "").strip()
    family = str(client.get("family_name") or "").strip()
    if not given:
        return None
    return f"{given} {family[0].upper()}." if family else given


def indexed_words(client: Mapping[str, Any] | None) -> frozenset[str]:
    """What a name search can match: each word of the given and family names, and each name
    run together ("o'brien" → "o", "brien", "obrien")."""
    if not client:
        return frozenset()
    found: set[str] = set()
    for part in ("given_name", "family_name"):
        name_words = words(str(client.get(part) or ""))
        found.update(name_words)
        if len(name_words) > 1:
            found.add("".join(name_words))
    return frozenset(found)


def query_words(text: str) -> list[str]:
    """The words a search for `text` needs to match, all of them (at most MAX_QUERY_WORDS)."""
    return words(text)[:MAX_QUERY_WORDS]
