"""Envelope encryption of stored fields: a key ring of key-encryption keys, one data key per
owner (a referral case), and fields sealed with AES-256-GCM under it. Pure, except the key
file helpers at the end.

Why this shape:
- A data key per owner makes erasure cheap and total: destroy the owner's wrapped data key and
  every field sealed under it is unreadable, in old row versions, the WAL and backups as well
  (crypto-shredding).
- Rotating a key-encryption key re-wraps one small blob per owner; the fields stay as they are.
- The associated data binds a field to its owner and its name, and a wrapped key to its owner
  and the key that wraps it: a ciphertext copied to another row or column does not open.
- Random 96-bit nonces: an owner's data key seals a handful of fields, a key-encryption key one
  blob per owner and rotation, far below the 2^32 messages a random-nonce GCM key allows.

Formats (the first byte is the format's version, so what is sealed today stays readable):

    sealed field   01 | nonce (12) | ciphertext + tag (16)
    wrapped key    01 | len(key id) (1) | key id (ASCII) | nonce (12) | data key (32) + tag (16)
    legacy field   00 | plaintext (stored before sealing; only `unsealed` reads it, to seal it)

The key ring is a JSON document, in a file (mode 0600) or a secret setting:

    {"active": "2026-11", "keys": {"2026-11": "<32 random bytes, base64>", ...}}

Errors: `KeyRingInvalid` (the document), `UnknownKey` (a wrapped key names a key-encryption key
the ring lacks), `NotAuthentic` (tampered, moved, or the wrong key), `UnknownFormat`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
SEALED = 0x01
LEGACY = 0x00
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_FIELD_AAD = b"bridges/sealed-field/1\x00"
_WRAP_AAD = b"bridges/wrapped-key/1\x00"


class KeyRingInvalid(ValueError):
    """The key ring document is malformed: it says what to fix."""


class UnknownKey(LookupError):
    """A wrapped data key names a key-encryption key that is not in the ring."""


class NotAuthentic(ValueError):
    """A ciphertext does not open: tampered with, moved to another owner or field, or sealed
    under another key."""


class UnknownFormat(ValueError):
    """Not a sealed value this version knows (wrong version byte, or cut short)."""


def _aad(prefix: bytes, *parts: str) -> bytes:
    return prefix + b"\x00".join(part.encode() for part in parts)


def _open(key: bytes, blob: bytes, offset: int, aad: bytes) -> bytes:
    nonce = blob[offset : offset + NONCE_BYTES]
    if len(nonce) != NONCE_BYTES:
        raise UnknownFormat("the sealed value is cut short")
    try:
        return AESGCM(key).decrypt(nonce, blob[offset + NONCE_BYTES :], aad)
    except InvalidTag:
        raise NotAuthentic("the sealed value does not open with its key here") from None


@dataclass(frozen=True)
class DataKey:
    """One owner's data key: seals and opens that owner's fields."""

    owner: str
    secret: bytes = field(repr=False)

    def seal(self, name: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.secret).encrypt(nonce, plaintext, _aad(_FIELD_AAD, self.owner, name))
        return bytes([SEALED]) + nonce + sealed

    def open(self, name: str, blob: bytes) -> bytes:
        if not blob or blob[0] != SEALED:
            raise UnknownFormat(f"{name} is not a sealed value (format {blob[:1].hex() or 'none'})")
        return _open(self.secret, blob, 1, _aad(_FIELD_AAD, self.owner, name))

    def seal_text(self, name: str, text: str) -> bytes:
        return self.seal(name, text.encode())

    def open_text(self, name: str, blob: bytes) -> str:
        return self.open(name, blob).decode()

    def seal_json(self, name: str, value: Any) -> bytes:
        return self.seal(name, json.dumps(value, separators=(",", ":")).encode())

    def open_json(self, name: str, blob: bytes) -> Any:
        return json.loads(self.open(name, blob))


def unsealed(blob: bytes) -> bytes:
    """The plaintext of a legacy value (stored before sealing), to seal it."""
    if not blob or blob[0] != LEGACY:
        raise UnknownFormat("not a legacy (unsealed) value")
    return blob[1:]


def key_id_of(wrapped: bytes) -> str:
    """Which key-encryption key wraps this data key."""
    if len(wrapped) < 2 or wrapped[0] != SEALED:
        raise UnknownFormat("not a wrapped data key")
    end = 2 + wrapped[1]
    if len(wrapped) < end:
        raise UnknownFormat("the wrapped data key is cut short")
    return wrapped[2:end].decode("ascii", errors="replace")


@dataclass(frozen=True)
class KeyRing:
    """Key-encryption keys by id; new data keys are wrapped under the `active` one."""

    keys: Mapping[str, bytes] = field(repr=False)
    active: str

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not _KEY_ID.match(key_id):
                raise KeyRingInvalid(f"key id {key_id!r}: use 1-64 of A-Z a-z 0-9 . _ -")
            if len(key) != KEY_BYTES:
                raise KeyRingInvalid(f"key {key_id!r} is {len(key)} bytes, not {KEY_BYTES}")
        if self.active not in self.keys:
            raise KeyRingInvalid(f"the active key {self.active!r} is not in the ring")

    def new_data_key(self, owner: str) -> tuple[DataKey, bytes]:
        """A fresh data key for `owner`, and the same wrapped under the active key (to store)."""
        data_key = DataKey(owner, secrets.token_bytes(KEY_BYTES))
        return data_key, self.wrap(data_key)

    def wrap(self, data_key: DataKey) -> bytes:
        key_id = self.active
        nonce = os.urandom(NONCE_BYTES)
        aad = _aad(_WRAP_AAD, data_key.owner, key_id)
        sealed = AESGCM(self.keys[key_id]).encrypt(nonce, data_key.secret, aad)
        return bytes([SEALED, len(key_id)]) + key_id.encode() + nonce + sealed

    def unwrap(self, owner: str, wrapped: bytes) -> DataKey:
        key_id = key_id_of(wrapped)
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKey(f"data key of {owner} is wrapped under {key_id!r}, not in the ring")
        secret = _open(key, wrapped, 2 + len(key_id), _aad(_WRAP_AAD, owner, key_id))
        return DataKey(owner, secret)

    def rewrap(self, owner: str, wrapped: bytes) -> bytes:
        """The same data key, wrapped under the active key."""
        return self.wrap(self.unwrap(owner, wrapped))

    # -- the document ----------------------------------------------------------------------

    @classmethod
    def from_json(cls, document: str) -> KeyRing:
        try:
            parsed = json.loads(document)
        except json.JSONDecodeError as exc:
            raise KeyRingInvalid(f"not JSON: {exc.msg} (line {exc.lineno})") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("keys"), dict):
            raise KeyRingInvalid('expected {"active": "<id>", "keys": {"<id>": "<base64>"}}')
        keys: dict[str, bytes] = {}
        for key_id, encoded in parsed["keys"].items():
            try:
                keys[key_id] = base64.b64decode(str(encoded), validate=True)
            except binascii.Error:
                raise KeyRingInvalid(f"key {key_id!r} is not base64") from None
        return cls(keys, str(parsed.get("active")))

    def to_json(self) -> str:
        keys = {key_id: base64.b64encode(key).decode() for key_id, key in self.keys.items()}
        return json.dumps({"active": self.active, "keys": keys}, indent=2) + "\n"

    def with_new_key(self, key_id: str | None = None, *, activate: bool = False) -> KeyRing:
        """This ring and a fresh random key (named by today's date unless `key_id`)."""
        key_id = key_id or _dated_id(self.keys)
        if key_id in self.keys:
            raise KeyRingInvalid(f"the ring already has a key {key_id!r}")
        keys = {**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return KeyRing(keys, key_id if activate else self.active)

    def activating(self, key_id: str) -> KeyRing:
        if key_id not in self.keys:
            raise KeyRingInvalid(f"there is no key {key_id!r} in the ring")
        return KeyRing(self.keys, key_id)


def new_key_ring(key_id: str | None = None) -> KeyRing:
    key_id = key_id or _dated_id({})
    return KeyRing({key_id: secrets.token_bytes(KEY_BYTES)}, key_id)


def _dated_id(taken: Mapping[str, bytes]) -> str:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    suffix = 1
    while (key_id := day if suffix == 1 else f"{day}.{suffix}") in taken:
        suffix += 1
    return key_id


# -- key files (I/O) -----------------------------------------------------------------------


def read_key_file(path: Path) -> KeyRing:
    try:
        document = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyRingInvalid(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        return KeyRing.from_json(document)
    except KeyRingInvalid as exc:
        raise KeyRingInvalid(f"{path}: {exc}") from None


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Replace the file in one step, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover partial file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(ring.to_json())
    partial.replace(path)


DEV_KEY_FILE_NAME = "data-keys.json"


def ensure_key_file(path: Path) -> Path:
    """Create (once) a key file with one fresh key: the development stack's."""
    if not path.exists():
        write_key_file(path, new_key_ring())
    return path
