"""What a change to a program is: a JSON merge patch applied to its HSDS document, the paths it
changes, and which of them an agency's staff may change (pure: no I/O).

Agency staff keep their own listing true: its hours and closures, phones, address lines,
languages, eligibility, what to bring, its words (description, how to apply, fees) and its
intake (capacity). The directory's structure is the admins': which organization runs the
program, its taxonomy (what need it serves), its status, the agency that receives its referrals,
its places on the map, and every id. A change is judged by what it changes, not by what it
sends: a body repeating a forbidden field unchanged (the whole document sent back) is fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

MAX_DEPTH = 64

# What agency staff may change, as path patterns: `*` is any list index; a pattern covers every
# path below it.
AGENCY_MAY_CHANGE: tuple[str, ...] = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "interpretation_services",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "phones",
    "schedules",
    "languages",
    "required_documents",
    "contacts",
    "accessibility",
    "cost_options",
    "service_at_locations[*].schedules",
    "service_at_locations[*].description",
    "service_at_locations[*].location.addresses[*].address_1",
    "service_at_locations[*].location.addresses[*].address_2",
    "x_bridges.accepting_referrals",
    "x_bridges.capacity_status",
    "x_bridges.capacity_until",
    "x_bridges.capacity_note",
)
# Set by the directory itself, never by a body (a client sending the document back may keep it).
SERVER_KEPT = ("last_modified",)
# What saying why a path may not be changed looks like, for the paths people meet most.
REASONS: Mapping[str, str] = {
    "id": "a program's id never changes",
    "organization": "the organization running the program is the directory admins' to change",
    "organization_id": "the organization running the program is the directory admins' to change",
    "attributes": "what need a program serves (its taxonomy) is the directory admins' to change",
    "status": "a program's status (active, inactive...) is the directory admins' to change",
    "x_bridges.agency_id": "who receives a program's referrals is the directory admins' to change",
    "x_bridges.last_verified": "set by confirming the listing (POST .../confirmation)",
}
NOT_AGENCYS = "agency staff may not change this (the directory's admins may)"


class PatchTooDeep(ValueError):
    """The patch nests deeper than any HSDS document does."""


def merge_patch(target: Any, patch: Any, depth: int = 0) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge key by key, `null` removes a key, anything else
    (lists included) replaces what was there."""
    if depth > MAX_DEPTH:
        raise PatchTooDeep("the patch nests too deep")
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value, depth + 1)
    return merged


def changed_paths(before: Any, after: Any, path: Path = ()) -> Iterator[Path]:
    """Every path whose value differs: into objects key by key, into lists index by index
    while they have the same length (a list that grows or shrinks changed as a whole)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in sorted(set(before) | set(after)):
            yield from changed_paths(before.get(key), after.get(key), (*path, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(old, new, (*path, index))
    elif before != after:
        yield path


def dotted(path: Path) -> str:
    """`("phones", 0, "number")` -> `phones[0].number`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _pattern(allowed: str) -> re.Pattern[str]:
    escaped = re.escape(allowed).replace(r"\[\*\]", r"\[\d+\]")
    return re.compile(f"^{escaped}(?:$|[.\\[])")


_AGENCY_PATTERNS = tuple(_pattern(p) for p in AGENCY_MAY_CHANGE)


def agency_may_change(path: Path) -> bool:
    text = dotted(path)
    return any(p.match(text) for p in _AGENCY_PATTERNS)


@dataclass(frozen=True)
class Refused:
    """A changed path agency staff may not change, and why."""

    path: Path

    @property
    def reason(self) -> str:
        text = dotted(self.path)
        for prefix, reason in REASONS.items():
            if text == prefix or text.startswith((f"{prefix}.", f"{prefix}[")):
                return reason
        return NOT_AGENCYS


def refused_for_agency(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Refused]:
    """The changes from `before` to `after` that agency staff may not make (by path)."""
    return [Refused(p) for p in changed_paths(before, after) if not agency_may_change(p)]


def without_server_kept(patch: Mapping[str, Any]) -> dict[str, Any]:
    """The patch without what the directory keeps itself (a document sent back whole)."""
    return {k: v for k, v in patch.items() if k not in SERVER_KEPT}


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What changed, for the audit log: each changed path (dotted) with its value before and
    after (None: absent), at most `MAX_AUDITED` of them. Directory data is public, no family's."""
    return {
        dotted(path): [value_at(before, path), value_at(after, path)]
        for path in list(changed_paths(before, after))[:MAX_AUDITED]
    }


MAX_AUDITED = 100


def value_at(document: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int) and isinstance(document, list) and part < len(document):
            document = document[part]
        elif isinstance(part, str) and isinstance(document, Mapping):
            document = document.get(part)
        else:
            return None
    return document
