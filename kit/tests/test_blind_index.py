"""Blind index tokens: keyed by the key ring, one key per purpose, findable under every key the
ring holds while rotation is under way, and nothing without the ring."""

from __future__ import annotations

from bridges_kit.blind_index import TOKEN_BYTES, BlindIndex
from bridges_kit.sealing import new_key_ring


def test_a_word_gives_the_same_token_under_the_same_key_and_purpose_only():
    ring = new_key_ring("2026-01")
    names, other_purpose = BlindIndex(ring, "family-name"), BlindIndex(ring, "street")
    assert names.tokens(["amara"]) == names.tokens(["amara"])
    assert len(names.tokens(["amara"])[0]) == TOKEN_BYTES
    assert names.tokens(["amara"]) != names.tokens(["amaro"])
    assert names.tokens(["amara"]) != other_purpose.tokens(["amara"])
    assert names.tokens(["amara"]) != BlindIndex(new_key_ring("2026-01"), "family-name").tokens(
        ["amara"]
    )  # another ring (same key id, other secret): nothing in common


def test_after_a_new_key_is_activated_old_and_new_tokens_are_both_found():
    old = new_key_ring("old")
    stored_before = BlindIndex(old, "family-name").tokens(["amara"])[0]
    rotated = old.with_new_key("new", activate=True)
    index = BlindIndex(rotated, "family-name")
    stored_after = index.tokens(["amara"])[0]
    assert index.active == "new" and stored_after != stored_before
    assert set(index.lookups("amara")) == {stored_before, stored_after}


def test_tokens_of_several_words_are_each_once_and_in_a_stable_order():
    index = BlindIndex(new_key_ring("k"), "family-name")
    assert index.tokens(["b", "a", "b"]) == sorted(index.tokens(["a", "b"]))
    assert len(index.tokens(["b", "a", "b"])) == 2
