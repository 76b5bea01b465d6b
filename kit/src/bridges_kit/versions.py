"""Entity tags and optimistic concurrency: the one parser of `If-Match` / `If-None-Match`
values (RFC 9110 §8.8.3: `*`, or a list of `"opaque"` and weak `W/"opaque"` tags), and a write's
condition on the version it read. Versions are integers served as strong ETags (`"3"`), or
opaque tags of an object versioned by its content.
`If-Match` compares strongly (RFC 9110 §13.1.1: a weak tag never matches), except where a
protocol says otherwise (FHIR's version-aware update sends the weak `W/"3"` it was given).
Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

# one entity-tag, then a comma or the end: opaque-tag = DQUOTE *etagc DQUOTE (no DQUOTE inside)
_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class EntityTag:
    opaque: str
    weak: bool = False


def entity_tags(header: str) -> tuple[EntityTag, ...] | None:
    """The tags a conditional header lists; None for `*` (any). A value that is not a list of
    entity-tags lists none (so it matches nothing)."""
    if header.strip() == "*":
        return None
    tags, at = [], 0
    while at < len(header) and header[at:].strip():
        found = _TAG.match(header, at)
        if found is None:
            return ()
        tags.append(EntityTag(found.group(2), weak=found.group(1) is not None))
        at = found.end()
    return tuple(tags)


def weakly_names(header: str, etag: str) -> bool:
    """Whether `header` (an If-None-Match value) names `etag`, weak comparison (§13.1.2)."""
    tags = entity_tags(header)
    served = entity_tags(etag) or ()
    return tags is None or any(t.opaque == s.opaque for t in tags for s in served)


@dataclass(frozen=True)
class VersionCondition:
    """An If-Match header: the entity tags the caller last read ("*" matches any version)."""

    tags: frozenset[str]
    any_version: bool = False

    @classmethod
    def parse(cls, header: str) -> VersionCondition:
        """If-Match as RFC 9110 has it: strong comparison, a weak tag matches no version."""
        tags = entity_tags(header)
        if tags is None:
            return cls(frozenset(), any_version=True)
        return cls(frozenset(t.opaque for t in tags if not t.weak))

    @classmethod
    def parse_fhir(cls, header: str) -> VersionCondition:
        """If-Match as FHIR's version-aware update sends it: the weak `W/"<version>"` it read
        (FHIR R4, http.html#concurrency)."""
        tags = entity_tags(header)
        if tags is None:
            return cls(frozenset(), any_version=True)
        return cls(frozenset(t.opaque for t in tags))

    @classmethod
    def of(cls, header: str | None) -> VersionCondition | None:
        """None when the caller sent no If-Match (where it is optional)."""
        return None if header is None else cls.parse(header)

    def matches(self, version: int) -> bool:
        return self.names(str(version))

    def names(self, etag: str) -> bool:
        """Whether the caller read what is now at `etag` (an opaque tag, quoted or not)."""
        return self.any_version or etag.removeprefix("W/").strip('"') in self.tags
