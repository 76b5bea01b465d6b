"""Optimistic concurrency: a write names the version it read (`If-Match`), and a stale one is
refused. Versions are integers served as ETags (`"3"`, or weak, `W/"3"`), or opaque tags of an
object versioned by its content. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionCondition:
    """An If-Match header: the entity tags the caller last read ("*" matches any version)."""

    tags: frozenset[str]
    any_version: bool = False

    @classmethod
    def parse(cls, header: str) -> VersionCondition:
        tags = {t.strip() for t in header.split(",") if t.strip()}
        if "*" in tags:
            return cls(frozenset(), any_version=True)
        return cls(frozenset(t.removeprefix("W/").strip('"') for t in tags))

    @classmethod
    def of(cls, header: str | None) -> VersionCondition | None:
        """None when the caller sent no If-Match (where it is optional)."""
        return None if header is None else cls.parse(header)

    def matches(self, version: int) -> bool:
        return self.names(str(version))

    def names(self, etag: str) -> bool:
        """Whether the caller read what is now at `etag` (an opaque tag, quoted or not)."""
        return self.any_version or etag.removeprefix("W/").strip('"') in self.tags
