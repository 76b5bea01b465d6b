"""The need codes an intake may name: the directory's taxonomy as referrals knows it, from the
programs' events (pure).

A program's event carries its taxonomy terms' codes and those of the terms above them; referrals
keeps every code it has seen (table `need_code`), with each dotted prefix of one ("food" for
"food.pantry", as the statistics group them) for programs announced before the directory sent
the terms above. A need that is none of these is refused, named by its place in the request:
free text as a "need" would be stored, sent on the bus and in webhooks, and published in the
statistics. The IG's SDOH categories, which a FHIR referral may name instead
(`fhir.codes.SDOH_CATEGORIES`), are known too (at start-up): a closed code system, not free text.
"""

from __future__ import annotations

from collections.abc import Iterable


def known_from(codes: Iterable[str]) -> set[str]:
    """The codes `codes` make known: each one and every dotted prefix of it."""
    known: set[str] = set()
    for code in codes:
        parts = code.split(".")
        known.update(".".join(parts[:n]) for n in range(1, len(parts) + 1) if parts[n - 1])
    return known
