"""HTTP routes of agencies' own listings: an agency's programs, editing one (a merge patch with
`If-Match`), its intake (capacity, "until", note), "still correct" (signed in, or by the
emailed one-use link), admins asking an agency to review now, and the directory's audit log.
Who may call which route is the access table's (`bridges_directory.access`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Body, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bridges_directory import listing, listing_queries, reviews
from bridges_directory.domain import AgencyNotFound, ListingReview, StoredService
from bridges_directory.freshness import ReviewPolicy
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.access import Caller
from bridges_kit.fields import BigintId
from bridges_kit.http import Pool, router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.principal import Principal
from bridges_kit.problems import (
    BadRequest,
    Gone,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from bridges_kit.signed_links import LinkSigner
from bridges_kit.versions import VersionCondition
from bridges_schema import CapacityStatus, Role

routes = router()

UoW = Annotated[DirectoryUnitOfWork, Depends(unit_of_work)]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='the program\'s ETag as last read ("<version>")'),
]


def _served(response: Response, stored: StoredService) -> dict[str, Any]:
    response.headers["ETag"] = stored.etag
    return stored.served()


def _required(if_match: str | None) -> VersionCondition:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the program's ETag (its version)")
    return VersionCondition.parse(if_match)


@routes.patch(
    "/services/{service_id}",
    tags=["agency"],
    summary="Change a program's listing (a JSON merge patch of its HSDS document)",
    description="RFC 7386 merge patch: the fields sent replace the program's (lists whole, "
    "`null` removes a field). `If-Match` with the version read is required (428 without it, "
    "412 when the program changed since). Agency staff may change their own agency's "
    "programs only (another's is a 404), and only their listing's details: hours and closures "
    "(`schedules`, closures with `x_bridges.closed`), phones, address lines, languages, "
    "eligibility, required documents, contacts, descriptions, and the intake "
    "(`x_bridges.accepting_referrals`, `capacity_status`, `capacity_until`, `capacity_note`). "
    "Changing anything else (organization, taxonomy, status, the receiving agency, places, "
    "ids) is a 422 listing each refused path; nothing is changed. Saving counts as the "
    "agency having checked the listing today (`x_bridges.last_verified`).",
    responses=problem_responses(Unprocessable, PreconditionFailed, PreconditionRequired),
)
async def patch_service(
    response: Response,
    service_id: UUID,
    patch: Annotated[dict[str, Any], Body(description="the fields to change (HSDS names)")],
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    condition = _required(if_match)
    stored = await listing.edit_service(uow, actor, service_id, patch, condition)
    return _served(response, stored)


class CapacityUpdate(BaseModel):
    """A program's intake. `null` clears `capacity_until` or `capacity_note`; an intake opened
    again forgets the "until" and the note it was closed with, unless new ones are sent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    accepting_referrals: bool | None = None
    capacity_status: CapacityStatus | None = None
    capacity_until: date | None = Field(
        default=None, description="the day the intake is expected to reopen (it does, that day)"
    )
    capacity_note: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None


@routes.patch(
    "/services/{service_id}/capacity",
    tags=["agency"],
    summary="Open or close a program to referrals, or put it on a waitlist (its agency's staff, "
    "or an admin)",
    description="Accepting: `accepting_referrals: true, capacity_status: available`; waitlist: "
    "`true, waitlist`; not accepting: `false, full`; each with an optional `capacity_until` "
    "(a day to come) and `capacity_note` (up to 300 characters, shown to officers). "
    "`If-Match` is optional here (a quick action); when sent, a stale version is a 412.",
    responses=problem_responses(BadRequest, PreconditionFailed, Unprocessable),
)
async def patch_capacity(
    response: Response,
    service_id: UUID,
    update: CapacityUpdate,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    change = update.model_dump(mode="json", include=update.model_fields_set)
    if not change:
        raise BadRequest("send at least one of " + ", ".join(CapacityUpdate.model_fields))
    condition = VersionCondition.of(if_match)
    stored = await listing.update_capacity(uow, actor, service_id, change, condition)
    return _served(response, stored)


@routes.post(
    "/services/{service_id}/confirmation",
    tags=["agency"],
    summary='"Still correct": the agency checked the program\'s listing today',
    responses=problem_responses(PreconditionFailed),
)
async def confirm_service(
    response: Response, service_id: UUID, actor: Caller, uow: UoW, if_match: IfMatch = None
) -> dict[str, Any]:
    condition = VersionCondition.of(if_match)
    stored = await listing.confirm_listing(uow, actor, service_id, condition)
    return _served(response, stored)


class AgencyProgram(BaseModel):
    version: int
    service: dict[str, Any]


class ReviewShown(BaseModel):
    id: UUID
    agency_id: UUID
    requested_at: datetime
    expires_at: datetime
    programs: int
    confirmed_at: datetime | None = None

    @classmethod
    def of(cls, review: ListingReview) -> ReviewShown:
        return cls(
            id=review.id,
            agency_id=review.agency_id,
            requested_at=review.requested_at,
            expires_at=review.expires_at,
            programs=review.programs,
            confirmed_at=review.confirmed_at,
        )


class AgencyPrograms(BaseModel):
    agency_id: UUID
    items: list[AgencyProgram]
    last_review: ReviewShown | None = None


def _check_agency(actor: Principal, agency_id: UUID) -> None:
    if actor.role is Role.AGENCY_STAFF and actor.agency_id != agency_id:
        raise AgencyNotFound(f"no agency {agency_id} among those you may see")


@routes.get(
    "/agencies/{agency_id}/services",
    tags=["agency"],
    summary="An agency's programs (those whose referrals go to it), with their versions",
)
async def agency_services(pool: Pool, agency_id: UUID, actor: Caller) -> AgencyPrograms:
    _check_agency(actor, agency_id)
    programs = await listing_queries.agency_services(pool, agency_id)
    review = await listing_queries.last_review(pool, agency_id)
    return AgencyPrograms(
        agency_id=agency_id,
        items=[AgencyProgram(version=p.version, service=p.served()) for p in programs],
        last_review=ReviewShown.of(review) if review else None,
    )


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_id: UUID


def _policy(request: Request) -> ReviewPolicy:
    policy: ReviewPolicy = request.app.state.review_policy
    return policy


def _signer(request: Request) -> LinkSigner | None:
    signer: LinkSigner | None = request.app.state.review_links
    return signer


@routes.post(
    "/listing-reviews",
    tags=["admin"],
    status_code=201,
    summary="Ask an agency now to confirm its listing (the monthly email, sent at once)",
    description="404 when no program in the directory has this agency.",
    responses=problem_responses(NotFound),
)
async def request_review(
    request: Request, body: ReviewRequest, actor: Caller, uow: UoW
) -> ReviewShown:
    review = await reviews.request_now(uow, actor, body.agency_id, _policy(request))
    return ReviewShown.of(review)


class LinkConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=300)]


class ConfirmedProgram(BaseModel):
    id: UUID
    name: str
    last_verified: date | None


class Confirmed(BaseModel):
    agency_id: UUID
    confirmed_at: datetime
    programs: list[ConfirmedProgram]


@routes.post(
    "/listing-reviews/confirmation",
    tags=["agency"],
    summary='"Still correct" from the emailed link: every program of the agency checked today',
    description="The token from the link (`#/confirm/<token>` in the app). It works once and "
    "until its request expires: used or expired, 410; not a link Bridges made, 404.",
    responses=problem_responses(NotFound, Gone),
)
async def confirm_by_link(request: Request, body: LinkConfirmation, uow: UoW) -> Confirmed:
    review, programs = await reviews.confirm_by_link(uow, _signer(request), body.token)
    assert review.confirmed_at is not None
    return Confirmed(
        agency_id=review.agency_id,
        confirmed_at=review.confirmed_at,
        programs=[
            ConfirmedProgram(
                id=p.id,
                name=str(p.document.get("name", "")),
                last_verified=p.document.get("x_bridges", {}).get("last_verified"),
            )
            for p in programs
        ],
    )


class AuditEntry(BaseModel):
    id: int
    at: datetime
    service_id: UUID | None
    version: int | None
    action: str
    actor_sub: str
    actor_role: str
    actor_name: str | None
    agency_id: UUID | None
    changes: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")


@routes.get(
    "/audit",
    tags=["admin"],
    summary="Who changed what in the directory, when (newest first)",
    description="Each change of a program: its action (created, replaced, edited, capacity, "
    "confirmed, reopened, deleted, imported), who (token subject, role, name, agency; "
    '"bridges" for the directory itself, "review-link:<id>" for an emailed confirmation), '
    "and each changed path with its value before and after.",
)
async def audit(
    pool: Pool,
    service_id: UUID | None = None,
    before: BigintId | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    rows = await listing_queries.audit_page(pool, service_id=service_id, before=before, limit=limit)
    entries = [AuditEntry(**row) for row in rows]
    return AuditPage(items=entries, next_before=entries[-1].id if len(entries) == limit else None)
