"""What PostgreSQL can store as text, and where in decoded JSON it cannot (pure): the NUL
character and lone UTF-16 surrogates (JSON escapes like "\\ud800" that encode no character) are
refused, not silently altered; paths never echo raw input."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Location = tuple[str | int, ...]


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored as PostgreSQL text, or None when it can."""
    if "\x00" in text:
        return "NUL characters are not accepted"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "lone surrogate characters are not accepted"
    return None


def storable(text: str) -> str:
    """`text` with what PostgreSQL cannot store replaced by U+FFFD: for diagnostics only (a
    reason, a subject), never for what a person entered (that is refused, see above)."""
    if unstorable(text) is None:
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def json_path(location: Sequence[str | int], prefix: str = "$") -> str:
    """`$.services[3].name`; a member name that is not a plain word is quoted and escaped."""
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _NAME.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


def unstorable_in(value: Any) -> Iterator[tuple[Location, str]]:
    """Every place in decoded JSON holding unstorable text: (location, reason). A member name
    that cannot be stored is reported at its object. Walks any depth without recursing."""
    stack: list[tuple[Location, Any]] = [((), value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            reason = unstorable(item)
            if reason:
                yield where, reason
        elif isinstance(item, list):
            stack.extend(((*where, index), child) for index, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                reason = unstorable(key)
                if reason:
                    yield where, f"a member name: {reason}"
                else:
                    stack.append(((*where, key), child))


def first_unstorable(value: Any) -> str | None:
    """Where and why `value` (decoded JSON) holds text PostgreSQL cannot store, or None."""
    for where, why in unstorable_in(value):
        return f"unstorable text at {json_path(where)}: {why}"
    return None


def depth(value: Any, limit: int) -> Location | None:
    """Where decoded JSON nests deeper than `limit`, or None."""
    stack: list[tuple[Location, Any]] = [((), value)]
    while stack:
        where, item = stack.pop()
        if len(where) > limit:
            return where
        if isinstance(item, list):
            stack.extend(((*where, index), child) for index, child in enumerate(item))
        elif isinstance(item, dict):
            stack.extend(((*where, str(key)), child) for key, child in item.items())
    return None
