"""HTTP routes of the referrals service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from bridges_kit.http import CurrentPrincipal, get_runtime
from bridges_kit.problems import BadRequest, PreconditionRequired
from bridges_referrals import casework
from bridges_referrals.models import (
    FileReferral,
    HistoryEntry,
    IntakeResult,
    ReferralView,
    Transition,
)
from bridges_referrals.sla import ResponseTargets
from bridges_schema import ReferralStatus, Role

router = APIRouter(tags=["referrals"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="unique per intake; a retry reuses it"),
]


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
    view = await casework.get_referral(get_runtime(request).pool, principal, referral_id)
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.get("/referrals/{referral_id}/history", summary="A referral's status changes")
async def get_history(
    request: Request, referral_id: UUID, principal: CurrentPrincipal
) -> list[HistoryEntry]:
    view = await casework.get_referral(get_runtime(request).pool, principal, referral_id)
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


@router.get("/inbox", summary="Referrals sent to the caller's agency")
async def inbox(
    request: Request,
    principal: CurrentPrincipal,
    status: ReferralStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReferralView]:
    principal.require(Role.AGENCY_STAFF)
    return await casework.inbox(get_runtime(request).pool, principal, status, limit)
