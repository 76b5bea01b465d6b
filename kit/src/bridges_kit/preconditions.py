"""If-Match as RFC 9110 reads it (pure): a write conditioned on the ETag its client last read
goes ahead only while that is still the current one."""

from __future__ import annotations


def match(if_match: str | None, etag: str) -> bool:
    """Whether a write conditioned on `if_match` may go ahead on what is now at `etag` (strong
    comparison: a weak tag never matches; no header: unconditional; "*": it exists)."""
    if if_match is None:
        return True
    tags = {tag.strip() for tag in if_match.split(",")}
    return "*" in tags or etag in tags
