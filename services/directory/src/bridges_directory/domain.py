"""The directory's domain: a stored program, the rules over programs, and the named errors
(pure: no I/O, no framework)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from bridges_directory import hsds, indexing
from bridges_kit.principal import Principal
from bridges_kit.versions import VersionCondition
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


class StaleService(Exception):
    """The program changed since the caller read it (If-Match does not match)."""


class Unprocessable(ValueError):
    """A change the directory cannot make, with where in the body it goes wrong (`errors`:
    a location and a message each, as request validation answers)."""

    def __init__(self, detail: str, errors: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    @property
    def problem_extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


class ChangesNotAllowed(Unprocessable):
    """Agency staff tried to change what only the directory's admins may (named per path)."""


class InvalidService(Unprocessable):
    """The program as changed is not a valid HSDS service (each error at its path)."""


class InvalidCapacity(Unprocessable):
    """An intake change that does not hold together (an "until" in the past, or on an open
    intake)."""


class AgencyNotFound(LookupError):
    """No program in the directory names this agency as the one receiving its referrals."""


class ReviewLinkInvalid(LookupError):
    """No listing review has this link (not signed by Bridges, or altered)."""


class ReviewLinkSpent(Exception):
    """The listing review's link was used already, or has expired."""


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


def check_unchanged(condition: VersionCondition | None, etag: str | None, what: str) -> None:
    """A write conditioned on the ETag the caller read goes ahead only on that version (`etag`
    None: it does not exist, which no If-Match names; `condition` None: unconditional)."""
    if condition is not None and (etag is None or not condition.names(etag)):
        raise StaleVersion(
            f"{what} changed since you read it (or no longer exists): reload it and try again"
        )


@dataclass(frozen=True)
class Terms:
    """The whole taxonomy as writes need it (it is small): read once per batch."""

    lineage: dict[UUID, list[str]]  # term id -> its names and its ancestors' (every language)
    # term id -> its code (or name) and its ancestors', as events carry them: what a program
    # serves is known to other services with the needs above it ("food" above "food.pantry")
    codes: dict[UUID, tuple[str, ...]]

    MAX_DEPTH = 20

    @classmethod
    def build(cls, terms: Iterable[tuple[UUID, Sequence[str], UUID | None, str]]) -> Terms:
        """From (id, names, parent id, code) of every term; a cycle stops at MAX_DEPTH terms."""
        by_id = {term_id: (names, parent, code) for term_id, names, parent, code in terms}
        lineage: dict[UUID, list[str]] = {}
        codes: dict[UUID, tuple[str, ...]] = {}
        for term_id in by_id:
            names: list[str] = []
            above: list[str] = []
            current: UUID | None = term_id
            for _ in range(cls.MAX_DEPTH):
                if current is None or current not in by_id:
                    break
                names.extend(by_id[current][0])
                above.append(by_id[current][2])
                current = by_id[current][1]
            lineage[term_id] = names
            codes[term_id] = tuple(above)
        return cls(lineage, codes)


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


def check_may_change_listing(actor: Principal, service: StoredService) -> None:
    """Admins, or staff of the agency that receives the program's referrals."""
    if actor.role is Role.ADMIN:
        return
    if actor.agency_id is None or actor.agency_id != service.agency_id:
        raise NotYourService(f"no service with id {service.id} among your agency's programs")


def check_version(service: StoredService, condition: VersionCondition | None) -> None:
    """`condition` None: the caller did not ask (only where If-Match is optional)."""
    if condition is not None and not condition.matches(service.version):
        raise StaleService(
            f"the program is at version {service.version}, not the version you sent: "
            "reload it and try again"
        )


OPEN = frozenset({CapacityStatus.AVAILABLE, CapacityStatus.LIMITED})
CAPACITY_FIELDS = ("accepting_referrals", "capacity_status", "capacity_until", "capacity_note")


def is_open(extension: hsds.BridgesExtension) -> bool:
    """Taking referrals as usual (not closed, no waitlist)."""
    return extension.accepting_referrals and extension.capacity_status in OPEN


def settle_capacity(
    before: hsds.BridgesExtension,
    after: dict[str, Any],
    mentioned: Iterable[str],
    today: date,
) -> dict[str, Any]:
    """The program's `x_bridges` after an intake change (`after`, as merged from the body, whose
    capacity fields the body `mentioned`), with its rules applied: an intake that opens again
    forgets the "until" and the note of its closing (unless the change gives new ones); an
    "until" is a day still to come, and only for an intake closed or on a waitlist."""
    said = set(mentioned)
    opened = hsds.BridgesExtension.model_validate(after)
    settled = dict(after)
    if is_open(opened) and not is_open(before):
        for name in ("capacity_until", "capacity_note"):
            if name not in said:
                settled.pop(name, None)
    until = settled.get("capacity_until")
    if until is not None and is_open(opened):
        raise InvalidCapacity(
            'an intake open as usual has no "until"',
            [_at("capacity_until", 'an "until" day goes with not accepting or a waitlist')],
        )
    if until is not None and "capacity_until" in said and date.fromisoformat(str(until)) <= today:
        raise InvalidCapacity(
            'the "until" day has passed',
            [_at("capacity_until", f"choose a day after today ({today.isoformat()})")],
        )
    return settled


def _at(field: str, message: str) -> dict[str, Any]:
    return {"location": ["body", "x_bridges", field], "message": message, "type": "capacity"}


def capacity_change(
    document: Mapping[str, Any], change: Mapping[str, Any], today: date
) -> dict[str, Any]:
    """The document with its intake changed by `change` (capacity fields; None clears one)."""
    current = dict(document.get("x_bridges", {}))
    merged = {k: v for k, v in {**current, **change}.items() if v is not None}
    before = hsds.BridgesExtension.model_validate(current)
    return {**document, "x_bridges": settle_capacity(before, merged, change, today)}


def reopened(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with its intake open again, as its "until" day has come."""
    extension = {k: v for k, v in document.get("x_bridges", {}).items() if k not in CAPACITY_FIELDS}
    return {
        **document,
        "x_bridges": {
            **extension,
            "accepting_referrals": True,
            "capacity_status": CapacityStatus.AVAILABLE.value,
        },
    }


def verified(document: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The document as checked by its agency today."""
    return {**document, "x_bridges": {**document.get("x_bridges", {}), "last_verified": str(today)}}


@dataclass(frozen=True)
class Change:
    """One entry of the directory's audit log: who changed which program, how, when."""

    # created | replaced | edited | capacity | confirmed | reopened | deleted | imported; an
    # admin's change of what the program embeds: organization | location | term | retired
    action: str
    actor_sub: str
    actor_role: str
    service_id: UUID | None = None
    version: int | None = None
    actor_name: str | None = None
    agency_id: UUID | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by(cls, actor: Principal | None, action: str, **fields: Any) -> Change:
        """A change made by `actor` (None: the directory itself, e.g. a scheduled reopening)."""
        if actor is None:
            return cls(action, "bridges", "system", **fields)
        return cls(
            action,
            actor.sub,
            actor.role.value,
            actor_name=actor.name,
            agency_id=actor.agency_id,
            **fields,
        )


@dataclass(frozen=True)
class ListingReview:
    """A request to an agency to check its listing; its link confirms it once, until
    `expires_at`."""

    id: UUID
    agency_id: UUID
    requested_at: datetime
    expires_at: datetime
    requested_by: str  # "schedule", or the admin's token subject
    programs: int
    confirmed_at: datetime | None = None
