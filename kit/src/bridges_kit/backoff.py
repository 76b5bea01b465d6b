"""How long to wait before trying again: capped exponential backoff, the one rule every retry
loop of the services, the relay, the consumers and the supervisor follows (pure: it says how
long; the caller waits its own way: a sleep, a wake-up, a stop signal, a `nak(delay=...)`).

    waits = Backoff(first_s=0.2, cap_s=5.0).delays()
    while not await try_once():
        await asyncio.sleep(next(waits))       # 0.2, 0.4, 0.8 ... 5.0, 5.0

Attempt n (from 1) waits `first_s * factor**(n-1)`, at most `cap_s`; with `jitter` a share of
it is drawn at random either way (so replicas that failed together do not retry together)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

# past any cap anyway; keeps factor**n finite for any attempt number
_MOST_DOUBLINGS = 64


@dataclass(frozen=True)
class Backoff:
    first_s: float
    cap_s: float
    factor: float = 2.0
    jitter: float = 0.0  # 0.2: each wait is drawn from [0.8, 1.2] of its nominal length

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s:
            raise ValueError("a backoff needs 0 < first_s <= cap_s")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("a backoff needs factor >= 1 and 0 <= jitter < 1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        steps = min(max(attempt - 1, 0), _MOST_DOUBLINGS)
        nominal = min(self.cap_s, self.first_s * self.factor**steps)
        if not self.jitter:
            return nominal
        return nominal * (1 + self.jitter * (2 * (rng or random).random() - 1))

    def delays(self) -> Iterator[float]:
        """The waits after attempt 1, 2, 3 ... without end (a fresh one starts over)."""
        attempt = 0
        while True:
            attempt += 1
            yield self.delay(attempt)
