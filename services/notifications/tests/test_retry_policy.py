"""After each webhook attempt: delivered, retry later (backoff with jitter, Retry-After), or give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bridges_notifications.retry import (
    Delivered,
    GiveUp,
    RetryIn,
    after_attempt,
    parse_retry_after,
)

SCHEDULE = (5.0, 30.0, 120.0)


def test_2xx_is_delivered():
    assert after_attempt(1, 204, schedule=SCHEDULE) == Delivered()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_client_errors_other_than_408_and_429_are_not_retried(status):
    assert isinstance(after_attempt(1, status, schedule=SCHEDULE), GiveUp)


@pytest.mark.parametrize("status", [None, 408, 429, 500, 502, 503])
def test_server_errors_timeouts_and_throttling_are_retried_with_backoff(status):
    rng = random.Random(7)
    delays = [after_attempt(n, status, schedule=SCHEDULE, rng=rng) for n in (1, 2, 3)]
    assert all(isinstance(d, RetryIn) for d in delays)
    for delay, base in zip(delays, SCHEDULE, strict=True):
        assert base * 0.8 <= delay.seconds <= base * 1.2  # jitter stays within ±20 %
    assert isinstance(after_attempt(4, status, schedule=SCHEDULE), GiveUp)


def test_retry_after_is_honoured_when_longer_than_the_schedule():
    outcome = after_attempt(1, 429, schedule=SCHEDULE, retry_after=90)
    assert outcome == RetryIn(90)


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=2)), now) == 120
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
