"""Conditional GET: the ETag is the body's, If-None-Match is read as RFC 9110 says."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from bridges_kit.conditional import Conditional, conditional_json, etag_of, none_match
from bridges_kit.versions import VersionCondition


class Page(BaseModel):
    items: list[int]


def test_the_etag_is_strong_and_follows_the_body():
    assert etag_of(b"[1]") == etag_of(b"[1]") != etag_of(b"[2]")
    assert etag_of(b"[1]").startswith('"')


@pytest.mark.parametrize(
    ("header", "matched"),
    [
        (None, False),
        ('"x"', False),
        ('"t"', True),
        ('W/"t"', True),
        ('"x", "t"', True),
        ("*", True),
        ("", False),
    ],
)
def test_if_none_match(header, matched):
    assert none_match(header, '"t"') is matched


def test_a_match_is_a_304_without_a_body():
    fresh = conditional_json(Page(items=[1, 2]), None)
    assert fresh.status_code == 200 and fresh.body == b'{"items":[1,2]}'
    same = conditional_json(Page(items=[1, 2]), fresh.headers["etag"])
    assert same.status_code == 304 and same.body == b""
    assert same.headers["etag"] == fresh.headers["etag"]
    assert same.headers["cache-control"] == "no-store, private"


def test_held_tells_before_answering_whether_the_client_has_the_body():
    first = Conditional(None)
    page = Page(items=[3])
    assert first.held(page) is False
    answer = first.response(page)
    again = Conditional(answer.headers["etag"])
    assert again.held(page) is True and again.response(page).status_code == 304
    assert again.held(Page(items=[4])) is False  # another body: not held


@pytest.mark.parametrize(
    ("header", "goes_ahead"),
    [
        ('"t"', True),
        ('"x", "t"', True),
        ("*", True),
        ('"x"', False),
        ('W/"t"', False),  # If-Match compares strongly (RFC 9110 13.1.1): a weak tag never
        ("", False),
    ],
)
def test_if_match_lets_a_write_through_only_on_the_etag_last_read(header, goes_ahead):
    assert VersionCondition.parse(header).names('"t"') is goes_ahead
    assert VersionCondition.of(None) is None  # no header: unconditional
