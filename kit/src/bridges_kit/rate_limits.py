"""Rate limits (pure): the generic cell rate algorithm (GCRA) over a bounded table of keys, and
who the client is (the socket peer, or what a trusted proxy says it forwarded for).

GCRA keeps one number per key, the theoretical arrival time (TAT) of its next request: each
allowed request pushes it `1/rate` later, and a request is refused while the TAT lies more than
`burst` requests ahead of now. A key whose TAT has passed is indistinguishable from a new one,
so it can be forgotten at no cost: that is how idle keys leave the table. The table is also
capped (least recently seen key out first), so a flood of distinct keys cannot grow memory.

Limits are per process: N replicas allow N times as much.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bridges_kit.problems import Problem

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A host on IPv6 usually holds a whole /64: counting its addresses one by one would let it
# start afresh with each of 2**64 addresses.
IPV6_CLIENT_PREFIX = 64
# Forgotten keys swept per request: enough to keep up with arrivals, bounded per request.
SWEEP_PER_CHECK = 4


class RateLimited(Problem):
    status, title, slug = 429, "Too many requests", "rate-limited"


@dataclass(frozen=True)
class Rate:
    """`per_minute` requests a minute on average, `burst` of them at once."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and burst >= 1")

    @property
    def interval_s(self) -> float:
        """Seconds between requests at the sustained rate."""
        return 60.0 / self.per_minute


class RateLimiter:
    """One limit (e.g. writes per token) over any number of keys, at most `max_keys` kept.

    Not thread-safe: it is used from the event loop only."""

    def __init__(
        self,
        name: str,
        rate: Rate,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.name = name
        self.rate = rate
        self.max_keys = max_keys
        self._clock = clock
        self._tats: OrderedDict[str, float] = OrderedDict()  # least recently seen first

    def __len__(self) -> int:
        return len(self._tats)

    def check(self, key: str) -> None:
        """Count one request of `key`, or raise `RateLimited` (counting nothing) with the
        seconds to wait in `retry_after_s`."""
        wait_s = self.acquire(key)
        if wait_s is not None:
            raise RateLimited(
                f"too many requests ({self.name}: {self.rate.per_minute:g} a minute, "
                f"{self.rate.burst} at once); retry in {wait_s} s",
                retry_after_s=wait_s,
            )

    def acquire(self, key: str) -> int | None:
        """Count one request of `key` and return None, or return the whole seconds to wait
        before it would be allowed (then nothing is counted)."""
        now = self._clock()
        interval = self.rate.interval_s
        tat = max(self._tats.get(key, now), now) + interval
        allowed_at = tat - self.rate.burst * interval
        if allowed_at > now:
            return max(1, math.ceil(allowed_at - now))
        self._tats[key] = tat
        self._tats.move_to_end(key)
        self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        """Drop keys whose TAT has passed (they are as good as new), oldest first, and the least
        recently seen beyond `max_keys` (such a key merely starts afresh)."""
        for _ in range(SWEEP_PER_CHECK):
            oldest = next(iter(self._tats.items()), None)
            if oldest is None or oldest[1] > now:
                break
            del self._tats[oldest[0]]
        while len(self._tats) > self.max_keys:
            self._tats.popitem(last=False)


def trusted_networks(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Networks from addresses or CIDR blocks ("10.0.0.0/24", "::1"); raises ValueError."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IpNetwork]
) -> str:
    """The client a request comes from, as a rate-limit key.

    The socket peer, unless the peer is a trusted proxy: then the `X-Forwarded-For` chain is
    read from the right (each proxy appends the address it saw) and the first address that is not
    a trusted proxy is the client. Anything a client wrote further left is never read, and an
    entry that is no address ends the walk (the last proxy's peer is used)."""
    client = _parse(peer)
    if client is None:
        return _key(client, peer)
    if forwarded_for and _trusted(client, trusted_proxies):
        for entry in reversed(forwarded_for.split(",")):
            hop = _parse(entry.strip())
            if hop is None:
                break
            client = hop
            if not _trusted(hop, trusted_proxies):
                break
    return _key(client, peer)


def _parse(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[IpNetwork]
) -> bool:
    return any(address in network for network in networks)


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, peer: str | None) -> str:
    if address is None:  # a Unix socket or a test transport: one key for all of them
        return f"peer:{peer or 'unknown'}"
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(address)
