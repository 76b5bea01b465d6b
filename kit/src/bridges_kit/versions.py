"""Optimistic concurrency: a write names the version it read (`If-Match`), and a stale one is
refused. Versions are integers served as ETags (`"3"`, or weak, `W/"3"`). Pure."""

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

    def matches(self, version: int) -> bool:
        return self.any_version or str(version) in self.tags
