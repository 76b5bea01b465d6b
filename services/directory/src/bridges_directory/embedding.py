"""What a program's HSDS document embeds of the objects admins keep apart — its organization,
the locations it is delivered at, the taxonomy terms of its attributes — and the document after
one of them changed (pure). A change to one of them is a change to every program embedding it:
a new version of each, with its event, so search, the read-models and the tablets follow."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Document = Mapping[str, Any]

# HSDS service statuses; "active" is the only one a program takes referrals in
ACTIVE = "active"


def with_organization(document: Document, organization: Document) -> dict[str, Any]:
    return {**document, "organization": dict(organization), "organization_id": organization["id"]}


def with_location(document: Document, location: Document) -> dict[str, Any]:
    """Every place the program is delivered at this location, holding its new content."""
    changed = copy.deepcopy(dict(document))
    for link in changed.get("service_at_locations", []):
        if str(link.get("location_id")) == str(location["id"]) or (
            isinstance(link.get("location"), dict)
            and str(link["location"].get("id")) == str(location["id"])
        ):
            link["location"] = dict(location)
            link["location_id"] = location["id"]
    return changed


def with_term(document: Document, term: Document) -> dict[str, Any]:
    """Attributes that embed this term hold its new content (those naming it by id only are
    unchanged: their program is re-indexed all the same, the term's names being searched)."""
    changed = copy.deepcopy(dict(document))
    for attribute in changed.get("attributes", []):
        embedded = attribute.get("taxonomy_term")
        if isinstance(embedded, dict) and str(embedded.get("id")) == str(term["id"]):
            attribute["taxonomy_term"] = dict(term)
    return changed


def with_status(document: Document, status: str) -> dict[str, Any]:
    return {**document, "status": status}


def is_retirement(before: str, after: str) -> bool:
    """An active program leaving service (inactive, defunct or temporarily closed)."""
    return before == ACTIVE and after != ACTIVE
