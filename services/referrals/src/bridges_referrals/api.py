"""HTTP routes of the referrals service."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from bridges_kit.http import CurrentPrincipal, get_runtime
from bridges_kit.problems import BadRequest, Forbidden, PreconditionRequired
from bridges_referrals import audit, casework, privacy, stats
from bridges_referrals.models import (
    ConsentWithdrawal,
    FileReferral,
    HistoryEntry,
    InboxPage,
    IntakeResult,
    ReferralView,
    Transition,
)
from bridges_referrals.sla import ResponseTargets
from bridges_schema import ReferralStatus, Role, Urgency

router = APIRouter(tags=["referrals"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="unique per intake; a retry reuses it"),
]


def _stats(request: Request) -> stats.Cached:
    cached: stats.Cached = request.app.state.stats
    return cached


def _targets(request: Request) -> ResponseTargets:
    targets: ResponseTargets = request.app.state.response_targets
    return targets


def _expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the referral's ETag (its version)")
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise BadRequest('If-Match must be the referral\'s ETag, e.g. "3"')
    return int(value)


@router.post("/referrals", status_code=201, summary="File a referral (one per chosen program)")
async def file_referral(
    request: Request,
    response: Response,
    intake: FileReferral,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> IntakeResult:
    principal.require(Role.OFFICER)
    if not idempotency_key or not 8 <= len(idempotency_key) <= 128:
        raise BadRequest("an Idempotency-Key header (8 to 128 characters) is required")
    runtime = get_runtime(request)
    result, replayed = await casework.file_referrals(
        runtime.pool, runtime.streams, _targets(request), principal, intake, idempotency_key
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return result


@router.get("/referrals/{referral_id}", summary="A referral with its history")
async def get_referral(
    request: Request, response: Response, referral_id: UUID, principal: CurrentPrincipal
) -> ReferralView:
    runtime = get_runtime(request)
    view = await casework.get_referral(runtime.pool, runtime.streams, principal, referral_id)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.get("/referrals/{referral_id}/history", summary="A referral's status changes")
async def get_history(
    request: Request, referral_id: UUID, principal: CurrentPrincipal
) -> list[HistoryEntry]:
    runtime = get_runtime(request)
    view = await casework.get_referral(runtime.pool, runtime.streams, principal, referral_id)
    return view.history or []


@router.post("/referrals/{referral_id}/transitions", summary="Move a referral to a new status")
async def post_transition(
    request: Request,
    response: Response,
    referral_id: UUID,
    move: Transition,
    principal: CurrentPrincipal,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> ReferralView:
    runtime = get_runtime(request)
    view = await casework.transition(
        runtime.pool, runtime.streams, principal, referral_id, _expected_version(if_match), move
    )
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.get("/referrals", summary="The caller's own referrals (officers)")
async def list_referrals(
    request: Request,
    principal: CurrentPrincipal,
    mine: bool = True,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReferralView]:
    principal.require(Role.OFFICER)
    if not mine:
        raise BadRequest("only mine=true is supported: officers list their own referrals")
    return await casework.referrals_of(get_runtime(request).pool, principal, limit)


@router.get("/inbox", summary="Referrals sent to the caller's agency (keyset-paged)")
async def inbox(
    request: Request,
    principal: CurrentPrincipal,
    status: Annotated[list[ReferralStatus] | None, Query(description="one or more")] = None,
    urgency: Urgency | None = None,
    program_id: UUID | None = None,
    overdue: bool | None = None,
    sort: Literal["newest", "oldest", "due"] = "newest",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPage:
    principal.require(Role.AGENCY_STAFF)
    if principal.agency_id is None:
        raise Forbidden("this token names no agency")
    return await casework.inbox(
        get_runtime(request).pool,
        principal,
        statuses=status,
        urgency=urgency,
        program_id=program_id,
        overdue=overdue,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


@router.post(
    "/cases/{case_id}/consent/withdrawal",
    tags=["consent"],
    summary="The family withdraws consent: open referrals are cancelled, agencies lose the PII",
)
async def withdraw_consent(
    request: Request, case_id: UUID, body: ConsentWithdrawal, principal: CurrentPrincipal
) -> dict[str, list[UUID]]:
    principal.require(Role.OFFICER, Role.ADMIN)
    runtime = get_runtime(request)
    cancelled = await privacy.withdraw_consent(
        runtime.pool, runtime.streams, principal, case_id, body.note
    )
    return {"cancelled": cancelled}


@router.get("/audit", tags=["audit"], summary="The audit log, newest first (admins)")
async def audit_log(
    request: Request,
    principal: CurrentPrincipal,
    referral_id: UUID | None = None,
    actor_id: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    principal.require(Role.ADMIN)
    async with get_runtime(request).pool.acquire() as conn:
        return await audit.entries(
            conn,
            referral_id=referral_id,
            actor_id=actor_id,
            action=action,
            before_id=before_id,
            limit=limit,
        )


@router.get("/audit/verify", tags=["audit"], summary="Check the audit log's hash chain (admins)")
async def audit_verify(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    async with get_runtime(request).pool.acquire() as conn:
        result = await audit.verify(conn)
    return asdict(result)


@router.get(
    "/stats", tags=["public"], summary="Aggregated, anonymous outcomes (small counts hidden)"
)
async def public_stats(request: Request) -> dict[str, Any]:
    return await _stats(request).get()


@router.get("/stats.csv", tags=["public"], summary="The same statistics as CSV")
async def public_stats_csv(request: Request) -> Response:
    body = stats.as_csv(await _stats(request).get())
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="bridges-stats.csv"'},
    )
