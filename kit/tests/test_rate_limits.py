"""The rate limiter and the client address, pure: bursts, the sustained rate, Retry-After,
bounded memory under a flood of keys, and X-Forwarded-For believed from trusted proxies only."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridges_kit.rate_limits import Rate, RateLimited, RateLimiter, client_address
from bridges_kit.settings import ServiceSettings
from bridges_kit.throttling import RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(per_minute: float = 60, burst: int = 3, max_keys: int = 1000) -> RateLimiter:
    clock = Clock()
    made = RateLimiter("writes", Rate(per_minute, burst), max_keys=max_keys, clock=clock)
    made.clock = clock  # type: ignore[attr-defined]
    return made


def test_a_burst_passes_then_the_next_is_refused_with_when_to_retry():
    writes = limiter(per_minute=60, burst=3)
    assert [writes.acquire("token-a") for _ in range(3)] == [None, None, None]
    with pytest.raises(RateLimited) as refused:
        writes.check("token-a")
    assert refused.value.status == 429
    assert refused.value.extensions["retry_after_s"] == 1
    assert "retry in 1 s" in refused.value.detail


def test_another_key_is_unaffected():
    writes = limiter(burst=1)
    assert writes.acquire("token-a") is None
    assert writes.acquire("token-a") == 1
    assert writes.acquire("token-b") is None


def test_a_refused_request_costs_nothing_and_the_rate_refills():
    writes = limiter(per_minute=6, burst=2)  # one every 10 s
    clock = writes.clock  # type: ignore[attr-defined]
    assert writes.acquire("k") is None and writes.acquire("k") is None
    for _ in range(50):  # hammering while refused does not push the next chance back
        assert writes.acquire("k") == 10
    clock.now += 9.5
    assert writes.acquire("k") == 1  # whole seconds, rounded up
    clock.now += 0.5
    assert writes.acquire("k") is None
    assert writes.acquire("k") == 10


def test_a_flood_of_distinct_keys_never_grows_the_table_past_its_bound():
    writes = limiter(per_minute=1, burst=5, max_keys=100)
    for n in range(20_000):
        writes.acquire(f"198.51.{n // 256 % 256}.{n % 256}-{n}")
        assert len(writes) <= 100
    assert len(writes) == 100


def test_idle_keys_are_forgotten():
    writes = limiter(per_minute=60, burst=2, max_keys=1000)
    clock = writes.clock  # type: ignore[attr-defined]
    for n in range(200):
        writes.acquire(f"key-{n}")
    assert len(writes) == 200
    clock.now += 5  # every key's TAT has passed: each is as good as new
    for _ in range(60):
        writes.acquire("active")
        clock.now += 1
    assert len(writes) == 1


@settings(max_examples=200, deadline=None)
@given(
    per_minute=st.sampled_from([6.0, 60.0, 600.0]),
    burst=st.integers(1, 20),
    steps=st.lists(st.floats(0, 3), min_size=1, max_size=200),
)
def test_no_key_ever_gets_more_than_its_burst_plus_the_rate(per_minute, burst, steps):
    writes = limiter(per_minute=per_minute, burst=burst)
    clock = writes.clock  # type: ignore[attr-defined]
    started, allowed = clock.now, 0
    for step in steps:
        clock.now += step
        allowed += writes.acquire("k") is None
        assert allowed <= burst + (clock.now - started) * per_minute / 60 + 1e-9


PROXY = [ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network("172.30.0.0/24")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # an untrusted peer's claim: ignored
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),  # the proxy names the client
        ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client's own claim: left
        ("10.0.0.5", "198.51.100.1, 172.30.0.7", "198.51.100.1"),  # two proxies
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "6.6.6.6, junk, 172.30.0.7", "172.30.0.7"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::/64"),  # a host holds a /64
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
        (None, "198.51.100.1", "peer:unknown"),
    ],
)
def test_the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise(peer, forwarded, client):
    assert client_address(peer, forwarded, PROXY) == client


def test_the_limits_follow_the_settings_and_can_be_switched_off():
    limits = RateLimits.from_settings(ServiceSettings(trusted_proxies=["10.0.0.5"]))
    assert limits.token_writes is not None and limits.token_writes.rate == Rate(120, 30)
    assert limits.address_writes is not None and limits.address_writes.rate == Rate(600, 120)
    assert limits.addresses.trusted_proxies == (ipaddress.ip_network("10.0.0.5/32"),)
    off = RateLimits.from_settings(ServiceSettings(rate_limits=False))
    assert (off.token_writes, off.address_writes) == (None, None)


@pytest.mark.parametrize(
    "rate", [{"per_minute": 0, "burst": 1}, {"per_minute": 10, "burst": 0}, {"per_minute": -1}]
)
def test_a_rate_that_allows_nothing_is_refused_at_start_up(rate):
    with pytest.raises(ValueError, match="rate"):
        ServiceSettings.from_env({"BRIDGES_RATE_LIMIT_TOKEN_WRITES": str(rate).replace("'", '"')})
