"""HTTP routes of the referrals service: each parses, then calls one use case (commands) or one
query (reads). Who may call which route is the access table's (`bridges_referrals.access`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response

from bridges_kit.access import Caller
from bridges_kit.conditional import NOT_MODIFIED, Conditional, IfNoneMatch
from bridges_kit.fields import BigintId
from bridges_kit.http import Pool, router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from bridges_kit.versions import VersionCondition
from bridges_referrals import audit, audit_log, casework, intake, lists, queries, stats
from bridges_referrals.follow_up import FollowUpPolicy
from bridges_referrals.listings import Filters, ListingOrder, ListingRequest, Owner, Search
from bridges_referrals.models import (
    ConsentWithdrawal,
    FileReferral,
    HistoryEntryView,
    IntakeResult,
    ProgramOption,
    ReferralPage,
    ReferralView,
    SignedInUser,
    Transition,
)
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork
from bridges_schema import ReferralStatus, Urgency

routes = router(tags=["referrals"])


async def _targets(request: Request) -> ResponseTargets:
    targets: ResponseTargets = request.app.state.response_targets
    return targets


async def _follow_ups(request: Request) -> FollowUpPolicy:
    policy: FollowUpPolicy = request.app.state.follow_ups
    return policy


async def _stats(request: Request) -> stats.Cached:
    cached: stats.Cached = request.app.state.stats
    return cached


UoW = Annotated[ReferralsUnitOfWork, Depends(unit_of_work)]
Targets = Annotated[ResponseTargets, Depends(_targets)]
FollowUps = Annotated[FollowUpPolicy, Depends(_follow_ups)]
Stats = Annotated[stats.Cached, Depends(_stats)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="unique per intake; a retry reuses it"),
]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="the referral's ETag as last read")
]
Cursor = Annotated[str | None, Query(max_length=300, description="`next_cursor` of a page")]
Limit = Annotated[int, Query(ge=1, le=200)]
Statuses = Annotated[list[ReferralStatus] | None, Query(description="one or more")]
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="a reference (BR-7K3F9; case, spaces and the BR- are forgiven) or words of "
        "the family's name (case and accents forgiven; every word must match). A name is found "
        "only where the reader may see it: agency staff need the `contact` scope, consent "
        "not withdrawn",
    ),
]


def _version_condition(if_match: str | None) -> VersionCondition:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the referral's ETag (its version)")
    return VersionCondition.parse(if_match)


def _with_etag(response: Response, view: ReferralView) -> ReferralView:
    response.headers["ETag"] = f'"{view.version}"'
    return view


@routes.get("/me", tags=["sign-in"], summary="Who the caller's token says they are")
async def who_am_i(pool: Pool, caller: Caller) -> SignedInUser:
    agency = await queries.agency_name(pool, caller.agency_id) if caller.agency_id else None
    return SignedInUser(
        id=caller.sub,
        name=caller.name,
        email=caller.email,
        role=caller.role,
        agency_id=caller.agency_id,
        agency_name=agency,
    )


@routes.post(
    "/referrals",
    status_code=201,
    summary="File a referral (one per chosen program)",
    responses={
        200: {
            "model": IntakeResult,
            "description": "A retry (same Idempotency-Key): the first answer",
        },
        **problem_responses(BadRequest, Unprocessable),
    },
)
async def file_referral(
    request: Request,
    response: Response,
    body: FileReferral,
    officer: Caller,
    uow: UoW,
    targets: Targets,
    follow_ups: FollowUps,
    idempotency_key: IdempotencyKey = None,
) -> IntakeResult:
    if not idempotency_key or not 8 <= len(idempotency_key) <= 128:
        raise BadRequest("an Idempotency-Key header (8 to 128 characters) is required")
    result, replayed = await intake.file_referrals(
        uow,
        targets,
        officer,
        body,
        idempotency_key,
        follow_ups=follow_ups,
        one_statement=request.app.state.intake_one_statement,
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return result


@routes.get("/referrals/{referral_id}", summary="A referral with its history")
async def get_referral(
    response: Response, referral_id: UUID, reader: Caller, uow: UoW
) -> ReferralView:
    return _with_etag(response, await casework.open_referral(uow, reader, referral_id))


@routes.post(
    "/referrals/{referral_id}/received",
    summary="The receiving agency opened the referral (a new one becomes received)",
)
async def mark_received(
    response: Response, referral_id: UUID, staff: Caller, uow: UoW
) -> ReferralView:
    return _with_etag(response, await casework.mark_received(uow, staff, referral_id))


@routes.get("/referrals/{referral_id}/history", summary="A referral's status changes")
async def get_history(referral_id: UUID, reader: Caller, uow: UoW) -> list[HistoryEntryView]:
    return await casework.referral_history(uow, reader, referral_id)


@routes.post(
    "/referrals/{referral_id}/transitions",
    summary="Move a referral to a new status",
    responses=problem_responses(PreconditionRequired, PreconditionFailed, Conflict, Unprocessable),
)
async def post_transition(
    response: Response,
    referral_id: UUID,
    move: Transition,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> ReferralView:
    view = await casework.transition(uow, actor, referral_id, _version_condition(if_match), move)
    return _with_etag(response, view)


_POLLED = (
    "Polled by the tablet: send the last ETag in If-None-Match to get 304 if nothing changed. "
    "Each row shows what the family agreed to share: `family_label`, `language` and "
    "`interpreter_needed` with the `contact` scope, `needs` with `needs`; a 200 that shows any "
    "family's data is written to the audit log once (`pii.listed`)."
)


async def _listed(
    uow: ReferralsUnitOfWork,
    reader: Caller,
    owner: Owner,
    filters: Filters,
    sort: ListingOrder,
    cursor: str | None,
    limit: int,
    q: str | None,
    if_none_match: str | None,
) -> Response:
    request = ListingRequest(owner, filters, sort, cursor, limit, Search.of(q) if q else None)
    conditional = Conditional(if_none_match)
    page = await lists.listed(uow, reader, request, conditional.held)
    return conditional.response(page)


@routes.get(
    "/referrals",
    summary="The caller's own referrals (officers), keyset-paged",
    description=_POLLED,
    response_model=ReferralPage,
    responses={**NOT_MODIFIED, **problem_responses(BadRequest)},
)
async def list_referrals(
    uow: UoW,
    officer: Caller,
    mine: bool = True,
    status: Statuses = None,
    urgency: Urgency | None = None,
    overdue: bool | None = None,
    ask_family: Annotated[
        bool | None,
        Query(description='true: those whose family is to be asked "did you get help?"'),
    ] = None,
    q: SearchText = None,
    sort: ListingOrder = ListingOrder.UPDATED,
    cursor: Cursor = None,
    limit: Limit = 50,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if not mine:
        raise BadRequest("only mine=true is supported: officers list their own referrals")
    filters = Filters(tuple(status or ()), urgency, None, overdue, ask_family)
    owner = lists.filed_by(officer)
    return await _listed(uow, officer, owner, filters, sort, cursor, limit, q, if_none_match)


@routes.get(
    "/inbox",
    summary="Referrals sent to the caller's agency (keyset-paged)",
    description=_POLLED
    + " `sort=due` puts the least time left first (the overdue on top), `sort=urgency` "
    "emergency, high, routine and then the least time left.",
    response_model=ReferralPage,
    responses={**NOT_MODIFIED, **problem_responses(BadRequest)},
)
async def inbox(
    uow: UoW,
    staff: Caller,
    status: Statuses = None,
    urgency: Urgency | None = None,
    program_id: UUID | None = None,
    overdue: bool | None = None,
    q: SearchText = None,
    sort: ListingOrder = ListingOrder.NEWEST,
    cursor: Cursor = None,
    limit: Limit = 50,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if staff.agency_id is None:
        raise Forbidden("this token names no agency")
    filters = Filters(tuple(status or ()), urgency, program_id, overdue)
    owner = lists.inbox_of(staff)
    return await _listed(uow, staff, owner, filters, sort, cursor, limit, q, if_none_match)


@routes.get(
    "/inbox/programs",
    summary="The programs of the caller's agency (to filter the inbox by)",
)
async def inbox_programs(pool: Pool, staff: Caller) -> list[ProgramOption]:
    if staff.agency_id is None:
        raise Forbidden("this token names no agency")
    return await queries.agency_programs(pool, staff.agency_id)


@routes.post(
    "/cases/{case_id}/consent/withdrawal",
    tags=["consent"],
    summary="The family withdraws consent: open referrals are cancelled, agencies lose the PII",
)
async def withdraw_consent(
    case_id: UUID, body: ConsentWithdrawal, actor: Caller, uow: UoW
) -> dict[str, list[UUID]]:
    cancelled = await casework.withdraw_consent(uow, actor, case_id, body.note)
    return {"cancelled": cancelled}


@routes.get("/audit", tags=["audit"], summary="The audit log, newest first (admins)")
async def list_audit_log(
    pool: Pool,
    referral_id: UUID | None = None,
    actor_id: Annotated[str | None, Query(max_length=128)] = None,
    action: audit.Action | None = None,
    before_id: BigintId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        return await audit_log.entries(
            conn,
            referral_id=referral_id,
            actor_id=actor_id,
            action=action,
            before_id=before_id,
            limit=limit,
        )


@routes.get("/audit/verify", tags=["audit"], summary="Check the audit log's hash chain (admins)")
async def audit_verify(pool: Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        result = await audit_log.verify(conn)
    return asdict(result)


@routes.get(
    "/stats", tags=["public"], summary="Aggregated, anonymous outcomes (small counts hidden)"
)
async def public_stats(response: Response, cached: Stats) -> dict[str, Any]:
    response.headers["Cache-Control"] = f"public, max-age={cached.ttl_s:.0f}"
    return await cached.get()


class CsvResponse(Response):
    media_type = "text/csv"  # what the OpenAPI document says this route answers


@routes.get(
    "/stats.csv",
    tags=["public"],
    summary="The same statistics as CSV",
    response_class=CsvResponse,
)
async def public_stats_csv(cached: Stats) -> Response:
    return CsvResponse(
        stats.as_csv(await cached.get()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="bridges-stats.csv"'},
    )
