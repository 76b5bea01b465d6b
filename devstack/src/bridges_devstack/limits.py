"""Rate limits for a machine that is every client at once: `bridges up`, the test suite and the
benchmarks send many writes and sign-ins from 127.0.0.1 with a handful of tokens, so they set
limits far above production's defaults. The limiter still runs on every write; the tests of
the limits themselves set low ones."""

from __future__ import annotations

import json

LOCAL_RATE_LIMITS = {
    "BRIDGES_RATE_LIMIT_TOKEN_WRITES": json.dumps({"per_minute": 60_000, "burst": 10_000}),
    "BRIDGES_RATE_LIMIT_ADDRESS_WRITES": json.dumps({"per_minute": 600_000, "burst": 100_000}),
}
