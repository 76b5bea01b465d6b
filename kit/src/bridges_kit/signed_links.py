"""Links that carry their own proof: an id signed with a key (HMAC, by itsdangerous), so that a
link a person follows (an email's one-tap confirmation) can be made only by a holder of the key
and its id cannot be changed. What the link may do, how long and how often, is decided where
the id is kept (e.g. a row with an expiry and a time of use). Pure."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from itsdangerous import BadSignature, URLSafeSerializer

MIN_KEY_LENGTH = 32


def checked_key(value: Any, setting: str) -> Any:
    """A settings validator's body for a link key: unset (None, or "" as compose passes an
    unset variable) is None; a key shorter than `MIN_KEY_LENGTH` is refused, naming `setting`."""
    secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if secret in (None, ""):
        return None
    if not isinstance(secret, str) or len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"{setting} needs at least {MIN_KEY_LENGTH} characters")
    return value


class LinkSigner:
    """Signs ids for one `purpose` (a signature for one purpose is worthless for another)."""

    def __init__(self, key: str, purpose: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"a link key has at least {MIN_KEY_LENGTH} characters")
        self._serializer = URLSafeSerializer(key, salt=f"bridges:{purpose}")

    def sign(self, value: UUID) -> str:
        """The token for `value`: URL-safe, about 80 characters."""
        return str(self._serializer.dumps(value.hex))

    def verify(self, token: str) -> UUID | None:
        """The id `token` was made for, or None if this key did not sign it (for this purpose)."""
        try:
            signed = self._serializer.loads(token)
            return UUID(hex=signed) if isinstance(signed, str) else None
        except (BadSignature, ValueError):
            return None
