"""The `/fhir` routes: each parses, then calls one facade use case. Who may call which is the
referrals access table's; errors become OperationOutcomes at the edge (`outcomes`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from bridges_kit import problems
from bridges_kit.access import Caller
from bridges_kit.http import Pool, get_runtime, router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import NotFound, PreconditionRequired
from bridges_kit.versions import VersionCondition
from bridges_referrals import queries
from bridges_referrals.fhir import (
    capability,
    codes,
    inbound,
    notifier,
    resources,
    subscriptions,
    task_search,
    use_cases,
)
from bridges_referrals.sla import ResponseTargets
from bridges_referrals.uow import ReferralsUnitOfWork

routes = router(prefix="", tags=["fhir"])

ERRORS: problems.ErrorMap = {
    use_cases.ResourceNotFound: problems.NotFound,
    inbound.InvalidResource: problems.Unprocessable,
    task_search.BadSearch: problems.BadRequest,
    notifier.SubscriptionNotFound: problems.NotFound,
}


class FhirResponse(JSONResponse):
    media_type = codes.FHIR_JSON


async def _uow(request: Request) -> ReferralsUnitOfWork:
    uow: ReferralsUnitOfWork = await unit_of_work(request)
    return uow


async def _targets(request: Request) -> ResponseTargets:
    targets: ResponseTargets = request.app.state.response_targets
    return targets


UoW = Annotated[ReferralsUnitOfWork, Depends(_uow)]
Targets = Annotated[ResponseTargets, Depends(_targets)]
FhirBody = Annotated[dict[str, Any], Body(media_type=codes.FHIR_JSON)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the Task\'s W/"<version>"')]


def base_url(request: Request) -> str:
    return f"{get_runtime(request).settings.base_url}/fhir"


def _documented(
    *resource_types: str, status: int = 200, problems: dict[int | str, Any] | None = None
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": list(resource_types)}},
    }
    return {
        "response_class": FhirResponse,
        "responses": {
            status: {"content": {codes.FHIR_JSON: {"schema": schema}}},
            **(problems or {}),
        },
    }


def _answer(found: use_cases.Versioned, status: int = 200, **headers: str) -> FhirResponse:
    if found.version is not None:
        headers["ETag"] = resources.etag(found.version)
    return FhirResponse(found.resource, status_code=status, headers=headers)


@routes.get(
    "/fhir/metadata",
    summary="The CapabilityStatement (a referral recipient, SDOH Clinical Care IG)",
    **_documented("CapabilityStatement"),
)
async def metadata(request: Request) -> FhirResponse:
    return FhirResponse(capability.capability_statement(base_url(request), request.app.version))


@routes.get(
    "/fhir/Task",
    summary="Search Tasks (polling: owner=Organization/<id>&_lastUpdated=gt<instant>)",
    **_documented("Bundle", problems=problem_responses(problems.BadRequest)),
)
async def search_tasks(
    request: Request,
    pool: Pool,
    caller: Caller,
    ids: Annotated[str | None, Query(alias="_id", max_length=2000)] = None,
    code: Annotated[str | None, Query(max_length=200)] = None,
    patient: Annotated[str | None, Query(max_length=300)] = None,
    requester: Annotated[str | None, Query(max_length=300)] = None,
    status: Annotated[str | None, Query(max_length=300)] = None,
    focus: Annotated[str | None, Query(max_length=300)] = None,
    owner: Annotated[str | None, Query(max_length=300)] = None,
    last_updated: Annotated[
        list[str] | None, Query(alias="_lastUpdated", max_length=4, description="gt<instant>…")
    ] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=300)] = None,
) -> FhirResponse:
    query = task_search.parse(
        ids=ids,
        code=code,
        patient=patient,
        requester=requester,
        status=status,
        focus=focus,
        owner=owner,
        last_updated=last_updated,
        cursor=cursor,
        count=count,
    )
    found = await task_search.search(pool, caller, query)
    base = base_url(request)
    self_url = f"{base}/Task?{request.url.query}" if request.url.query else f"{base}/Task"
    next_url = None
    if found.next_cursor:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "_cursor"]
        next_url = f"{base}/Task?" + urlencode([*kept, ("_cursor", found.next_cursor)])
    return FhirResponse(resources.searchset(found.tasks, self_url, next_url, base))


@routes.post(
    "/fhir/Task",
    summary="Inbound referral: a Task with its ServiceRequest, Patient and Consent contained",
    **_documented("Task", status=201, problems=problem_responses(problems.Unprocessable)),
)
async def create_task(
    request: Request, body: FhirBody, sender: Caller, uow: UoW, targets: Targets
) -> FhirResponse:
    follow_ups = request.app.state.follow_ups  # the family's follow-up, as any intake's
    referral_id, replayed = await use_cases.file_inbound_task(
        uow, targets, sender, body, follow_ups
    )
    found = await use_cases.read_task(uow, sender, referral_id)
    location = f"{base_url(request)}/Task/{referral_id}/_history/{found.version}"
    return _answer(found, 200 if replayed else 201, Location=location)


@routes.get("/fhir/Task/{referral_id}", summary="A referral as a Task", **_documented("Task"))
async def read_task(referral_id: UUID, reader: Caller, uow: UoW) -> FhirResponse:
    return _answer(await use_cases.read_task(uow, reader, referral_id))


@routes.put(
    "/fhir/Task/{referral_id}",
    summary='Its owner updates a Task\'s status, statusReason and output (If-Match: W/"n")',
    **_documented(
        "Task",
        problems=problem_responses(
            PreconditionRequired,
            problems.PreconditionFailed,
            problems.Conflict,
            problems.Unprocessable,
            problems.Forbidden,
        ),
    ),
)
async def update_task(
    referral_id: UUID, body: FhirBody, actor: Caller, uow: UoW, if_match: IfMatch = None
) -> FhirResponse:
    if if_match is None:
        raise PreconditionRequired('send If-Match with the Task\'s ETag, W/"<version>"')
    expected = VersionCondition.parse_fhir(if_match)
    return _answer(await use_cases.update_task(uow, actor, referral_id, expected, body))


@routes.get(
    "/fhir/ServiceRequest/{referral_id}",
    summary="What the family is referred for (within its consent)",
    **_documented("ServiceRequest"),
)
async def read_service_request(referral_id: UUID, reader: Caller, uow: UoW) -> FhirResponse:
    return _answer(await use_cases.read_service_request(uow, reader, referral_id))


@routes.get(
    "/fhir/Patient/{case_id}",
    summary="The family's client (only what it agreed to share)",
    **_documented("Patient"),
)
async def read_patient(case_id: UUID, reader: Caller, uow: UoW) -> FhirResponse:
    return _answer(await use_cases.read_patient(uow, reader, case_id))


@routes.get(
    "/fhir/Consent/{case_id}",
    summary="The family's consent (category IDSCL)",
    **_documented("Consent"),
)
async def read_consent(case_id: UUID, reader: Caller, uow: UoW) -> FhirResponse:
    return _answer(await use_cases.read_consent(uow, reader, case_id))


@routes.get(
    "/fhir/Organization/{agency_id}",
    summary="An agency (a Task's owner), or `bridges`, the platform keeping the consents",
    **_documented("Organization"),
)
async def read_organization(
    agency_id: Annotated[str, Path(max_length=64)], pool: Pool, reader: Caller
) -> FhirResponse:
    if agency_id == codes.PLATFORM_ORGANIZATION:
        return FhirResponse(resources.organization(agency_id, "Bridges"))
    try:
        name = await queries.agency_name(pool, UUID(agency_id))
    except ValueError:
        name = None
    if name is None:
        raise NotFound(f"no Organization {agency_id}")
    return FhirResponse(resources.organization(agency_id, name))


@routes.get(
    "/fhir/HealthcareService/{service_id}",
    summary="A program (the directory's service), with its capacity",
    **_documented("HealthcareService"),
)
async def read_healthcare_service(service_id: UUID, reader: Caller, uow: UoW) -> FhirResponse:
    return _answer(await use_cases.read_healthcare_service(uow, service_id))


@routes.post(
    "/fhir/Subscription",
    summary="Subscribe an endpoint to an agency's Tasks (rest-hook, id-only, signed)",
    **_documented("Subscription", status=201, problems=problem_responses(problems.Unprocessable)),
)
async def create_subscription(
    request: Request, body: FhirBody, pool: Pool, admin: Caller
) -> FhirResponse:
    settings = get_runtime(request).settings
    wanted = subscriptions.wanted(body, https_only=settings.environment.value == "production")
    stored, secret = await notifier.create(pool, wanted, admin.sub)
    return FhirResponse(
        subscriptions.resource(stored, secret),
        status_code=201,
        headers={"Location": f"{base_url(request)}/Subscription/{stored.id}"},
    )


@routes.get(
    "/fhir/Subscription/{subscription_id}",
    summary="A Subscription and its status",
    **_documented("Subscription"),
)
async def read_subscription(subscription_id: UUID, pool: Pool, admin: Caller) -> FhirResponse:
    return FhirResponse(subscriptions.resource(await notifier.get(pool, subscription_id)))


@routes.delete(
    "/fhir/Subscription/{subscription_id}",
    summary="Switch a Subscription off",
    **_documented("Subscription"),
)
async def delete_subscription(subscription_id: UUID, pool: Pool, admin: Caller) -> FhirResponse:
    return FhirResponse(subscriptions.resource(await notifier.switch_off(pool, subscription_id)))
