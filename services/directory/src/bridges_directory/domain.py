"""The directory's domain: a stored program, the rules over programs, and the named errors
(pure: no I/O, no framework)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from bridges_directory import hsds, indexing
from bridges_kit.preconditions import match
from bridges_kit.principal import Principal
from bridges_schema import CapacityStatus, Role


class ServiceNotFound(LookupError):
    """No program has this id."""


class OrganizationNotFound(LookupError):
    """No organization has this id."""


class IdMismatch(ValueError):
    """The id in the body is not the id in the path."""


class LocationNotFound(LookupError):
    """No location has this id."""


class TermNotFound(LookupError):
    """No taxonomy term has this id."""


class StaleVersion(Exception):
    """It changed since the caller read it: their If-Match names another version."""


class StillInUse(Exception):
    """Programs still point at it (a location they are delivered at, a term that classifies
    them or has narrower terms): it cannot be removed before they are moved."""


class NotYourService(PermissionError):
    """Agency staff may change only their own agency's programs (another's is answered as if
    it did not exist)."""


@dataclass(frozen=True)
class StoredService:
    """A program as the directory holds it: its HSDS document and its version."""

    id: UUID
    document: Mapping[str, Any]  # the HSDS service, without last_modified
    version: int
    last_modified: datetime
    agency_id: UUID | None
    content_hash: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def served(self) -> dict[str, Any]:
        """The document as the API serves it."""
        return {**self.document, "last_modified": self.last_modified.isoformat()}


@dataclass(frozen=True)
class Current:
    """What a write needs of a program already held: its version, its content, its status."""

    version: int
    content_hash: str
    status: str


def document_etag(document: Mapping[str, Any]) -> str:
    """The ETag of an object versioned by its content (organizations, locations, terms)."""
    return f'"{content_hash(document)[:32]}"'


def check_unchanged(if_match: str | None, etag: str | None, what: str) -> None:
    """A write conditioned on the ETag the caller read goes ahead only on that version (`etag`
    None: it does not exist, which no If-Match names)."""
    if if_match is not None and (etag is None or not match(if_match, etag)):
        raise StaleVersion(
            f"{what} changed since you read it (or no longer exists): reload it and try again"
        )


@dataclass(frozen=True)
class Terms:
    """The whole taxonomy as writes need it (it is small): read once per batch."""

    lineage: dict[UUID, list[str]]  # term id -> its names and its ancestors' (every language)
    codes: dict[UUID, str]  # term id -> its code (or name), as events carry it

    MAX_DEPTH = 20

    @classmethod
    def build(cls, terms: Iterable[tuple[UUID, Sequence[str], UUID | None, str]]) -> Terms:
        """From (id, names, parent id, code) of every term; a cycle stops at MAX_DEPTH terms."""
        by_id = {term_id: (names, parent, code) for term_id, names, parent, code in terms}
        lineage: dict[UUID, list[str]] = {}
        for term_id in by_id:
            names: list[str] = []
            current: UUID | None = term_id
            for _ in range(cls.MAX_DEPTH):
                if current is None or current not in by_id:
                    break
                names.extend(by_id[current][0])
                current = by_id[current][1]
            lineage[term_id] = names
        return cls(lineage, {term_id: entry[2] for term_id, entry in by_id.items()})


@dataclass(frozen=True)
class ServiceRow:
    """A validated service ready to write: its HSDS document and what is derived from it."""

    service: hsds.Service
    document: dict[str, Any]
    content_hash: str
    fields: indexing.SearchFields
    slots: list[indexing.Slot]


def document_of(service: hsds.Service) -> dict[str, Any]:
    return service.model_dump(mode="json", exclude_none=True, exclude={"last_modified"})


def content_hash(document: Mapping[str, Any]) -> str:
    """What decides whether a write changes a program (an identical one changes nothing)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def check_may_change_capacity(actor: Principal, service: StoredService) -> None:
    """Admins, or staff of the agency that receives the program's referrals."""
    if actor.role is Role.ADMIN:
        return
    if actor.agency_id is None or actor.agency_id != service.agency_id:
        raise NotYourService(f"no service with id {service.id} among your agency's programs")


def with_capacity(
    document: Mapping[str, Any],
    accepting_referrals: bool | None,
    capacity_status: CapacityStatus | None,
) -> tuple[dict[str, Any], hsds.BridgesExtension]:
    """The document with its intake changed, and the resulting Bridges extension."""
    extension = dict(document.get("x_bridges", {}))
    if accepting_referrals is not None:
        extension["accepting_referrals"] = accepting_referrals
    if capacity_status is not None:
        extension["capacity_status"] = capacity_status.value
    return {**document, "x_bridges": extension}, hsds.BridgesExtension.model_validate(extension)
