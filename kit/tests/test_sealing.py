"""Sealing fields under per-owner data keys wrapped by a key ring (pure; the key file on disk)."""

from __future__ import annotations

import base64
import json
import stat
import uuid

import pytest

from bridges_kit.sealing import (
    KEY_BYTES,
    DataKey,
    KeyRing,
    KeyRingInvalid,
    NotAuthentic,
    UnknownFormat,
    UnknownKey,
    ensure_key_file,
    key_id_of,
    new_key_ring,
    read_key_file,
    unsealed,
    write_key_file,
)

CASE = str(uuid.uuid4())
OTHER_CASE = str(uuid.uuid4())


def _ring(*key_ids: str, active: str | None = None) -> KeyRing:
    return KeyRing({k: bytes([i]) * KEY_BYTES for i, k in enumerate(key_ids)}, active or key_ids[0])


def test_a_sealed_field_opens_to_what_was_sealed_and_shows_none_of_it():
    key, _ = _ring("k1").new_data_key(CASE)
    sealed = key.seal_json("client", {"given_name": "Amara", "household": [{"age": 3}]})
    assert b"Amara" not in sealed and sealed[0] == 0x01
    assert key.open_json("client", sealed) == {"given_name": "Amara", "household": [{"age": 3}]}
    assert key.open_text("situation", key.seal_text("situation", "Lost job")) == "Lost job"
    # a fresh nonce each time: the same text never seals the same twice
    assert key.seal_text("situation", "x") != key.seal_text("situation", "x")


def test_a_field_does_not_open_as_another_field_or_another_case():
    key, _ = _ring("k1").new_data_key(CASE)
    sealed = key.seal_text("consent.given_by_name", "Rosa")
    with pytest.raises(NotAuthentic):
        key.open_text("situation", sealed)
    with pytest.raises(NotAuthentic):
        DataKey(OTHER_CASE, key.secret).open_text("consent.given_by_name", sealed)


def test_tampering_with_any_byte_is_detected():
    key, _ = _ring("k1").new_data_key(CASE)
    sealed = key.seal_text("situation", "Lost job last month")
    for position in (1, 12, 13, len(sealed) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(NotAuthentic):
            key.open_text("situation", bytes(tampered))
    with pytest.raises(UnknownFormat):
        key.open_text("situation", b"\x02" + sealed[1:])  # a format this version does not know
    with pytest.raises(UnknownFormat):
        key.open_text("situation", sealed[:8])


def test_another_data_key_does_not_open_a_field():
    ring = _ring("k1")
    key, _ = ring.new_data_key(CASE)
    other, _ = ring.new_data_key(CASE)  # e.g. the key made after a withdrawal
    with pytest.raises(NotAuthentic):
        other.open_text("situation", key.seal_text("situation", "Lost job"))


def test_a_wrapped_data_key_names_its_key_and_is_bound_to_its_case():
    ring = _ring("k1", "k2", active="k2")
    key, wrapped = ring.new_data_key(CASE)
    assert key_id_of(wrapped) == "k2" and key.secret not in wrapped
    assert ring.unwrap(CASE, wrapped) == key
    with pytest.raises(NotAuthentic):
        ring.unwrap(OTHER_CASE, wrapped)  # a case's wrapped key copied onto another case


def test_a_key_wrapped_under_a_key_not_in_the_ring_is_an_unknown_key():
    _, wrapped = _ring("old").new_data_key(CASE)
    with pytest.raises(UnknownKey, match="'old'"):
        _ring("new").unwrap(CASE, wrapped)


def test_same_key_id_other_secret_does_not_unwrap():
    _, wrapped = _ring("k1").new_data_key(CASE)
    impostor = KeyRing({"k1": b"\xff" * KEY_BYTES}, "k1")
    with pytest.raises(NotAuthentic):
        impostor.unwrap(CASE, wrapped)


def test_after_rotation_fields_sealed_before_still_open():
    before = _ring("k1")
    key, wrapped = before.new_data_key(CASE)
    sealed = key.seal_text("situation", "sealed under the key wrapped by k1")
    after = before.with_new_key("k2", activate=True)
    rewrapped = after.rewrap(CASE, wrapped)
    assert key_id_of(rewrapped) == "k2"
    only_new = KeyRing({"k2": after.keys["k2"]}, "k2")  # k1 retired once nothing needs it
    reopened = only_new.unwrap(CASE, rewrapped)
    assert reopened.open_text("situation", sealed) == "sealed under the key wrapped by k1"


def test_legacy_values_are_read_only_to_seal_them():
    assert unsealed(b"\x00Amara") == b"Amara"
    key, _ = _ring("k1").new_data_key(CASE)
    with pytest.raises(UnknownFormat):
        key.open_text("situation", b"\x00Amara")  # never taken for a sealed value
    with pytest.raises(UnknownFormat):
        unsealed(key.seal_text("situation", "x"))


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ("not json", "not JSON"),
        ('{"active": "k"}', "expected"),
        ('{"active": "k", "keys": {"k": "***"}}', "not base64"),
        ('{"active": "k", "keys": {"k": "c2hvcnQ="}}', "not 32"),
        (json.dumps({"active": "x", "keys": {"k": base64.b64encode(b"k" * 32).decode()}}), "'x'"),
        (
            json.dumps({"active": "a b", "keys": {"a b": base64.b64encode(b"k" * 32).decode()}}),
            "id",
        ),
    ],
)
def test_a_malformed_key_ring_is_refused_with_what_to_fix(document, why):
    with pytest.raises(KeyRingInvalid, match=why):
        KeyRing.from_json(document)


def test_key_ring_documents_round_trip_and_grow_by_fresh_keys():
    ring = new_key_ring("2026-11")
    grown = ring.with_new_key("2027-05")
    assert grown.active == "2026-11" and set(grown.keys) == {"2026-11", "2027-05"}
    assert grown.keys["2027-05"] != grown.keys["2026-11"]
    assert grown.activating("2027-05").active == "2027-05"
    assert KeyRing.from_json(grown.to_json()) == grown
    with pytest.raises(KeyRingInvalid):
        grown.with_new_key("2026-11")
    with pytest.raises(KeyRingInvalid):
        grown.activating("1999")
    key, _ = ring.new_data_key(CASE)
    assert repr(ring.keys["2026-11"]) not in repr(ring) and repr(key.secret) not in repr(key)


def test_a_key_file_is_written_for_its_owner_only_and_made_once(tmp_path):
    path = ensure_key_file(tmp_path / "run" / "data-keys.json")
    first = read_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key_file(path) == path and read_key_file(path) == first  # never replaced
    write_key_file(path, first.with_new_key("next", activate=True))
    assert read_key_file(path).active == "next"
    with pytest.raises(KeyRingInvalid, match="cannot read"):
        read_key_file(tmp_path / "missing.json")
