"""A referral's short human reference, `BR-7K3F9` (pure): what a clerk reads out on the phone and
an officer types back, the same for both. Five characters from an alphabet without look-alikes
(no 0/O, 1/I/L, U), drawn with `secrets`, so one reference tells nothing about another. The
database keeps each unique (`intake` draws again on a collision). Not personal data.

The format is the schema package's (events carry it). 30^5 = 24.3 million references: collisions stay rare (and are retried) while a deployment holds
a few million referrals; past that, lengthen the reference (a new format, the old ones kept).
"""

from __future__ import annotations

import re
import secrets

from bridges_schema import REFERENCE_ALPHABET as ALPHABET
from bridges_schema import REFERENCE_LENGTH as LENGTH
from bridges_schema import REFERENCE_PREFIX as PREFIX

_SEPARATORS = re.compile(r"[\s\-_.·]+")


def new_reference() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def canonical(text: str) -> str | None:
    """The reference `text` names however it was typed ("br 7k3f9", "7K3F9", " BR-7K3F9"), or
    None when it cannot be one."""
    squeezed = _SEPARATORS.sub("", text).upper()
    if len(squeezed) == len(PREFIX) - 1 + LENGTH and squeezed.startswith(PREFIX[:-1]):
        squeezed = squeezed[len(PREFIX) - 1 :]
    if len(squeezed) == LENGTH and all(c in ALPHABET for c in squeezed):
        return PREFIX + squeezed
    return None
