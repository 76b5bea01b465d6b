"""Bearer tokens already verified, kept until they expire (at most `max_age_s`).

Checking a token's signature (ES256) costs about a tenth of an intake's CPU, and a tablet sends
the same access token with every request for minutes. A token is kept by its SHA-256 (never
the token itself), only after it passed every check, and never past its `exp`; `max_age_s`
bounds how long a key the provider withdraws can still vouch for a token already seen. The table
is bounded: the least recently used token goes first. Used from the event loop only."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from bridges_kit.principal import Principal


class VerifiedTokens:
    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_age_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Principal | None:
        """The caller `token` was verified to name, while still good; else None."""
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, good_until = entry
        if self._clock() >= good_until:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return principal

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        """Keep a verified token until `expires_at` (its `exp`), or `max_age_s` from now."""
        now = self._clock()
        good_until = min(expires_at, now + self._max_age_s)
        if good_until <= now:
            return
        key = _key(token)
        self._entries[key] = (principal, good_until)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
