"""HTTP routes of the notifications service: agency endpoints (admin) and the delivery log (ops)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from bridges_kit.auth import Principal
from bridges_kit.http import CurrentPrincipal, get_runtime
from bridges_notifications import delivery_log, endpoints, netguard
from bridges_schema import Role

router = APIRouter()


def _allowed(request: Request) -> tuple[netguard.Network, ...]:
    allowed: tuple[netguard.Network, ...] = request.app.state.allowed_networks
    return allowed


def _may_read_agency(principal: Principal, agency_id: UUID) -> None:
    if principal.role is Role.AGENCY_STAFF and principal.agency_id == agency_id:
        return
    principal.require(Role.ADMIN, Role.OPS)


@router.post(
    "/agencies/{agency_id}/endpoints",
    status_code=201,
    tags=["endpoints"],
    summary="Register a webhook endpoint (the signing secret is shown once)",
)
async def create_endpoint(
    request: Request, agency_id: UUID, spec: endpoints.EndpointIn, principal: CurrentPrincipal
) -> endpoints.EndpointCreated:
    principal.require(Role.ADMIN)
    return await endpoints.create(get_runtime(request).pool, agency_id, spec, _allowed(request))


@router.put(
    "/agencies/{agency_id}/endpoints/{endpoint_id}",
    tags=["endpoints"],
    summary="Change an endpoint's URL, filters or enabled flag",
)
async def update_endpoint(
    request: Request,
    agency_id: UUID,
    endpoint_id: UUID,
    spec: endpoints.EndpointIn,
    principal: CurrentPrincipal,
) -> endpoints.EndpointOut:
    principal.require(Role.ADMIN)
    return await endpoints.update(
        get_runtime(request).pool, agency_id, endpoint_id, spec, _allowed(request)
    )


@router.post(
    "/agencies/{agency_id}/endpoints/{endpoint_id}/rotate-secret",
    tags=["endpoints"],
    summary="New signing secret (shown once); the old one signs too during the overlap",
)
async def rotate_secret(
    request: Request,
    agency_id: UUID,
    endpoint_id: UUID,
    rotation: endpoints.Rotation,
    principal: CurrentPrincipal,
) -> endpoints.EndpointCreated:
    principal.require(Role.ADMIN)
    return await endpoints.rotate_secret(
        get_runtime(request).pool, agency_id, endpoint_id, rotation
    )


@router.post("/endpoints/{endpoint_id}/pause", tags=["endpoints"], summary="Hold deliveries")
async def pause_endpoint(
    request: Request, endpoint_id: UUID, principal: CurrentPrincipal
) -> endpoints.EndpointOut:
    principal.require(Role.OPS, Role.ADMIN)
    return await endpoints.set_paused(get_runtime(request).pool, None, endpoint_id, True)


@router.post("/endpoints/{endpoint_id}/resume", tags=["endpoints"], summary="Deliver again")
async def resume_endpoint(
    request: Request, endpoint_id: UUID, principal: CurrentPrincipal
) -> endpoints.EndpointOut:
    principal.require(Role.OPS, Role.ADMIN)
    return await endpoints.set_paused(get_runtime(request).pool, None, endpoint_id, False)


@router.post(
    "/endpoints/{endpoint_id}/replay-dead-letters",
    tags=["deliveries"],
    summary="Send every dead-lettered delivery of this endpoint again",
)
async def replay_dead_letters(
    request: Request, endpoint_id: UUID, principal: CurrentPrincipal
) -> dict[str, int]:
    principal.require(Role.OPS, Role.ADMIN)
    return {"replayed": await delivery_log.replay_dead(get_runtime(request).pool, endpoint_id)}


@router.post(
    "/agencies/{agency_id}/email-recipients",
    status_code=201,
    tags=["email"],
    summary="Add (or change) an agency's email recipient",
)
async def add_recipient(
    request: Request, agency_id: UUID, spec: endpoints.RecipientIn, principal: CurrentPrincipal
) -> endpoints.RecipientOut:
    principal.require(Role.ADMIN)
    return await endpoints.add_recipient(get_runtime(request).pool, agency_id, spec)


@router.get("/agencies/{agency_id}/email-recipients", tags=["email"], summary="Recipients")
async def list_recipients(
    request: Request, agency_id: UUID, principal: CurrentPrincipal
) -> list[endpoints.RecipientOut]:
    _may_read_agency(principal, agency_id)
    return await endpoints.recipients(get_runtime(request).pool, agency_id)


@router.put(
    "/officers/me/notifications",
    tags=["email"],
    summary="An officer's email notices about their referrals (on/off, language)",
)
async def set_my_notifications(
    request: Request, spec: endpoints.PreferenceIn, principal: CurrentPrincipal
) -> endpoints.PreferenceOut:
    principal.require(Role.OFFICER)
    return await endpoints.set_preference(
        get_runtime(request).pool, principal.sub, principal.email, spec
    )


@router.get("/agencies/{agency_id}/endpoints", tags=["endpoints"], summary="An agency's endpoints")
async def list_endpoints(
    request: Request, agency_id: UUID, principal: CurrentPrincipal
) -> list[endpoints.EndpointOut]:
    _may_read_agency(principal, agency_id)
    return await endpoints.list_for_agency(get_runtime(request).pool, agency_id)


@router.get("/deliveries", tags=["deliveries"], summary="The delivery log")
async def list_deliveries(
    request: Request,
    principal: CurrentPrincipal,
    status: Literal["pending", "succeeded", "dead"] | None = None,
    endpoint_id: UUID | None = None,
    channel: Literal["webhook", "email"] | None = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[delivery_log.DeliveryOut]:
    principal.require(Role.OPS, Role.ADMIN)
    return await delivery_log.list_deliveries(
        get_runtime(request).pool,
        status=status,
        endpoint_id=endpoint_id,
        event_id=event_id,
        channel=channel,
        limit=limit,
    )


@router.get("/deliveries/{delivery_id}", tags=["deliveries"], summary="A delivery and its attempts")
async def get_delivery(
    request: Request, delivery_id: UUID, principal: CurrentPrincipal
) -> delivery_log.DeliveryOut:
    principal.require(Role.OPS, Role.ADMIN)
    return await delivery_log.get_delivery(get_runtime(request).pool, delivery_id)


@router.post("/deliveries/{delivery_id}/replay", tags=["deliveries"], summary="Deliver again now")
async def replay_delivery(
    request: Request, delivery_id: UUID, principal: CurrentPrincipal
) -> delivery_log.DeliveryOut:
    principal.require(Role.OPS, Role.ADMIN)
    return await delivery_log.replay(get_runtime(request).pool, delivery_id)


@router.get("/dead-letters", tags=["deliveries"], summary="Deliveries that gave up")
async def dead_letters(
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[delivery_log.DeliveryOut]:
    principal.require(Role.OPS, Role.ADMIN)
    return await delivery_log.list_deliveries(
        get_runtime(request).pool,
        status="dead",
        endpoint_id=None,
        event_id=None,
        channel=None,
        limit=limit,
    )
