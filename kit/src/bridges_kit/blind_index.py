"""Blind indexes: equality search over values that are stored only sealed (pure).

A word is indexed as HMAC-SHA256(index key, word), cut to 16 bytes. Each key-encryption key of
the key ring (`sealing.KeyRing`) yields one index key per purpose (HKDF-SHA256, the purpose in
its info), so the index rotates with the ring: new tokens are made under the active key, a search
looks a word up under every key the ring holds, and rotation rewrites old tokens under the active
key (the caller opens the sealed value again to do so). Without the key ring a token tells
nothing; with it, someone can test a guessed word, which is what a search does.

Tokens are deterministic: equal words give equal tokens, so a reader of the database can see
that two owners share a word (not which word). Store only what a search needs.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bridges_kit.sealing import KeyRing

TOKEN_BYTES = 16
_INFO = b"bridges/blind-index/1\x00"


class BlindIndex:
    """Tokens of one kind of word (`purpose`, e.g. "family-name") under a key ring."""

    def __init__(self, ring: KeyRing, purpose: str) -> None:
        self._ring, self._purpose = ring, purpose
        self._keys: dict[str, bytes] = {}

    @property
    def active(self) -> str:
        """The key new tokens are made under."""
        return self._ring.active

    def _key(self, key_id: str) -> bytes:
        if key_id not in self._keys:
            self._keys[key_id] = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=_INFO + self._purpose.encode(),
            ).derive(self._ring.keys[key_id])
        return self._keys[key_id]

    def token(self, key_id: str, word: str) -> bytes:
        mac = hmac.new(self._key(key_id), word.encode(), hashlib.sha256)
        return mac.digest()[:TOKEN_BYTES]

    def tokens(self, words: Iterable[str]) -> list[bytes]:
        """The tokens to store for `words`, under the active key."""
        return sorted({self.token(self.active, word) for word in words})

    def lookups(self, word: str) -> list[bytes]:
        """The tokens `word` may be stored as: one under each key of the ring."""
        return [self.token(key_id, word) for key_id in sorted(self._ring.keys)]
