"""Hypothesis pieces the "nothing a client sends yields a 5xx" tests share. The values lean on
what broke services before: NUL characters, lone surrogates, instants outside PostgreSQL's range
once their offset is applied, integers beyond 64 bits, and deep nesting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Any code point, surrogates included (Hypothesis leaves them out by default).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
HOSTILE_TEXT = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "%00",
        "'; --",
        "a" * 64 + ".example.org",
    ]
)
TEXT = st.text(ANY_CHARACTER, max_size=30) | HOSTILE_TEXT
INTEGERS = st.integers() | st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30])

# Arbitrary JSON a client could send (finite floats: clients cannot encode the others).
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | INTEGERS | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=25,
)

# Query-string values: text, numbers of every size, and the hostile ones above.
QUERY_VALUES = st.one_of(
    TEXT,
    INTEGERS.map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["true", "false", "2026-11-25T10:00:00Z", "2026-02-30", ""]),
    st.uuids().map(str),
)

# Real servers per test function: a bounded number of examples, no per-example deadline.
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def as_json(body: Any) -> dict[str, Any]:
    """Request arguments sending `body` as JSON text, lone surrogates escaped as a client may
    (httpx's `json=` cannot encode them)."""
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def query(params: Mapping[str, str]) -> str:
    """A query string, lone surrogates sent as the (invalid UTF-8) bytes a client may send."""
    return urlencode(params, encoding="utf-8", errors="surrogatepass")
