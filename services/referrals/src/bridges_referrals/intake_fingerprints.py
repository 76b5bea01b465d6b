"""An intake's fingerprint kept under its Idempotency-Key: a keyed MAC of the request (pure).

A retry must be told from a different intake under the same key, so the request's content is
remembered as a fingerprint. An unkeyed hash of it would let anyone holding a database dump
confirm a guessed family (name, phone, needs...); so it is HMAC-SHA256 under a key derived
from the key ring (`bridges_kit.blind_index`, purpose "intake-fingerprint"), stored as
`<key id>:<hex>` so that a retry is checked under the key its intake was fingerprinted with,
also after rotation. The fingerprint is erased with the family's data (consent withdrawn,
retention): a retry of a withdrawn intake is then refused, never filed again.

Fingerprints stored before they were keyed (64 hex digits, SHA-256) are still matched, so a
retry from before the upgrade is recognised; migration 070 erased those of cases already
withdrawn or purged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bridges_kit.blind_index import BlindIndex
from bridges_kit.sealing import KeyRing
from bridges_referrals.models import FileReferral

PURPOSE = "intake-fingerprint"
_LEGACY_HEX_DIGITS = 64


def canonical(request: FileReferral) -> str:
    """The request as fingerprinted: a field added since is left out while unset, so a retry
    from before an upgrade still matches."""
    exclude: dict[str, Any] = {}
    if request.consent is not None and request.consent.text_version is None:
        exclude["consent"] = {"text_version"}
    if request.follow_up is None:
        exclude["follow_up"] = True
    if not request.safety_concerns:
        exclude["safety_concerns"] = True
    return request.model_dump_json(exclude=exclude or None)


class IntakeFingerprints:
    """Fingerprints of intakes under a key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self._index = BlindIndex(ring, PURPOSE)
        self._ring = ring

    def of(self, request: FileReferral) -> str:
        """The request's fingerprint under the active key."""
        return self._under(self._index.active, canonical(request))

    def matches(self, stored: str | None, request: FileReferral) -> bool:
        """Whether `stored` (None once erased) is this request's fingerprint."""
        if stored is None:
            return False
        key_id, sep, _ = stored.partition(":")
        if not sep:
            legacy = hashlib.sha256(canonical(request).encode()).hexdigest()
            return len(stored) == _LEGACY_HEX_DIGITS and hmac.compare_digest(stored, legacy)
        if key_id not in self._ring.keys:
            return False
        return hmac.compare_digest(stored, self._under(key_id, canonical(request)))

    def _under(self, key_id: str, content: str) -> str:
        return f"{key_id}:{self._index.token(key_id, content).hex()}"
