"""HTTP routes of the notifications service: agency endpoints and recipients (admin; agency staff
read their own), a test event to an endpoint, officers' notices, the delivery log and replays
(ops), endpoints by state. Who may call which route is the access table's
(`bridges_notifications.access`); what admins and ops change is recorded as their actions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request

from bridges_kit.access import Caller
from bridges_kit.http import Pool, router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import Conflict, NotFound, Unprocessable
from bridges_notifications import delivery_log, endpoints, netguard
from bridges_notifications.models import (
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    PreferenceIn,
    PreferenceOut,
    RecipientIn,
    RecipientOut,
    Rotation,
)
from bridges_notifications.uow import NotificationsUnitOfWork

routes = router()


def _allowed(request: Request) -> tuple[netguard.Network, ...]:
    allowed: tuple[netguard.Network, ...] = request.app.state.allowed_networks
    return allowed


UoW = Annotated[NotificationsUnitOfWork, Depends(unit_of_work)]
AllowedNetworks = Annotated[tuple[netguard.Network, ...], Depends(_allowed)]
Limit = Annotated[int, Query(ge=1, le=500)]


@routes.post(
    "/agencies/{agency_id}/endpoints",
    status_code=201,
    tags=["endpoints"],
    summary="Register a webhook endpoint (the signing secret is shown once)",
    responses=problem_responses(Unprocessable),
)
async def create_endpoint(
    agency_id: UUID, spec: EndpointIn, uow: UoW, allowed: AllowedNetworks, actor: Caller
) -> EndpointCreated:
    return await endpoints.create(uow, agency_id, spec, allowed, actor)


@routes.put(
    "/agencies/{agency_id}/endpoints/{endpoint_id}",
    tags=["endpoints"],
    summary="Change an endpoint's URL, filters or enabled flag",
    responses=problem_responses(Unprocessable),
)
async def update_endpoint(
    agency_id: UUID,
    endpoint_id: UUID,
    spec: EndpointIn,
    uow: UoW,
    allowed: AllowedNetworks,
    actor: Caller,
) -> EndpointOut:
    return await endpoints.update(uow, agency_id, endpoint_id, spec, allowed, actor)


@routes.post(
    "/agencies/{agency_id}/endpoints/{endpoint_id}/rotate-secret",
    tags=["endpoints"],
    summary="New signing secret (shown once); the old one signs too during the overlap",
)
async def rotate_secret(
    agency_id: UUID, endpoint_id: UUID, rotation: Rotation, uow: UoW, actor: Caller
) -> EndpointCreated:
    return await endpoints.rotate_secret(uow, agency_id, endpoint_id, rotation, actor)


@routes.post(
    "/agencies/{agency_id}/endpoints/{endpoint_id}/test",
    status_code=202,
    tags=["endpoints"],
    summary="Send a signed test event to this endpoint; follow its delivery",
    description="The event (`org.bridges.delivery.webhook_tested.v1`) is about no referral. "
    "The answer is its delivery, as `GET /deliveries/{id}` shows it while it goes.",
    responses=problem_responses(NotFound, Conflict),
)
async def test_endpoint(
    agency_id: UUID, endpoint_id: UUID, uow: UoW, pool: Pool, actor: Caller
) -> delivery_log.DeliveryOut:
    delivery_id = await endpoints.send_test(uow, agency_id, endpoint_id, actor)
    return await delivery_log.get_delivery(pool, delivery_id)


@routes.get(
    "/endpoints",
    tags=["endpoints"],
    summary="Every agency's endpoints, the most failing first, or those in one state",
    description="`resting`: failing, its circuit breaker open (nothing is sent to it until its "
    "rest ends and one delivery probes it); `paused` by ops; `disabled` by an admin.",
)
async def list_all_endpoints(
    pool: Pool, state: delivery_log.EndpointState | None = None, limit: Limit = 100
) -> list[EndpointOut]:
    return await delivery_log.list_endpoints(pool, state=state, limit=limit)


@routes.post("/endpoints/{endpoint_id}/pause", tags=["endpoints"], summary="Hold deliveries")
async def pause_endpoint(endpoint_id: UUID, uow: UoW, actor: Caller) -> EndpointOut:
    return await endpoints.set_paused(uow, endpoint_id, True, actor)


@routes.post("/endpoints/{endpoint_id}/resume", tags=["endpoints"], summary="Deliver again")
async def resume_endpoint(endpoint_id: UUID, uow: UoW, actor: Caller) -> EndpointOut:
    return await endpoints.set_paused(uow, endpoint_id, False, actor)


@routes.post(
    "/endpoints/{endpoint_id}/replay-dead-letters",
    tags=["deliveries"],
    summary="Send every dead-lettered delivery of this endpoint again",
)
async def replay_dead_letters(endpoint_id: UUID, uow: UoW, actor: Caller) -> dict[str, int]:
    return {"replayed": await delivery_log.replay_dead(uow, endpoint_id, actor)}


@routes.post(
    "/dead-letters/replay",
    tags=["deliveries"],
    summary="Send every dead-lettered delivery again, of every endpoint and recipient",
)
async def replay_every_dead_letter(uow: UoW, actor: Caller) -> dict[str, int]:
    return {"replayed": await delivery_log.replay_dead(uow, None, actor)}


@routes.post(
    "/agencies/{agency_id}/email-recipients",
    status_code=201,
    tags=["email"],
    summary="Add (or change) an agency's email recipient",
)
async def add_recipient(
    agency_id: UUID, spec: RecipientIn, uow: UoW, actor: Caller
) -> RecipientOut:
    return await endpoints.add_recipient(uow, agency_id, spec, actor)


@routes.delete(
    "/agencies/{agency_id}/email-recipients/{recipient_id}",
    status_code=204,
    tags=["email"],
    summary="Remove an agency's email recipient",
    responses=problem_responses(NotFound),
)
async def remove_recipient(agency_id: UUID, recipient_id: UUID, uow: UoW, actor: Caller) -> None:
    await endpoints.remove_recipient(uow, agency_id, recipient_id, actor)


@routes.get("/agencies/{agency_id}/email-recipients", tags=["email"], summary="Recipients")
async def list_recipients(agency_id: UUID, reader: Caller, uow: UoW) -> list[RecipientOut]:
    return await endpoints.recipients(uow, agency_id, reader=reader)


@routes.put(
    "/officers/me/notifications",
    tags=["email"],
    summary="An officer's email notices about their referrals (on/off, language)",
    responses=problem_responses(Unprocessable),
)
async def set_my_notifications(spec: PreferenceIn, officer: Caller, uow: UoW) -> PreferenceOut:
    return await endpoints.set_preference(uow, officer.sub, officer.email, spec)


@routes.get("/agencies/{agency_id}/endpoints", tags=["endpoints"], summary="An agency's endpoints")
async def list_endpoints(agency_id: UUID, reader: Caller, uow: UoW) -> list[EndpointOut]:
    return await endpoints.list_for_agency(uow, agency_id, reader=reader)


@routes.get("/deliveries", tags=["deliveries"], summary="The delivery log")
async def list_deliveries(
    pool: Pool,
    status: delivery_log.Status | None = None,
    endpoint_id: UUID | None = None,
    channel: delivery_log.Channel | None = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
) -> list[delivery_log.DeliveryOut]:
    return await delivery_log.list_deliveries(
        pool,
        status=status,
        endpoint_id=endpoint_id,
        event_id=event_id,
        channel=channel,
        limit=limit,
    )


@routes.get("/deliveries/{delivery_id}", tags=["deliveries"], summary="A delivery and its attempts")
async def get_delivery(pool: Pool, delivery_id: UUID) -> delivery_log.DeliveryOut:
    return await delivery_log.get_delivery(pool, delivery_id)


@routes.post("/deliveries/{delivery_id}/replay", tags=["deliveries"], summary="Deliver again now")
async def replay_delivery(
    pool: Pool, delivery_id: UUID, uow: UoW, actor: Caller
) -> delivery_log.DeliveryOut:
    await delivery_log.replay(uow, delivery_id, actor)
    return await delivery_log.get_delivery(pool, delivery_id)


@routes.get("/dead-letters", tags=["deliveries"], summary="Deliveries that gave up")
async def dead_letters(pool: Pool, limit: Limit = 100) -> list[delivery_log.DeliveryOut]:
    return await delivery_log.list_deliveries(pool, status="dead", limit=limit)
