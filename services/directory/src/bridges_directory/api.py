"""HTTP routes of the directory: the HSDS read API and search (public), admin writes,
capacity updates by the receiving agency, and HSDS import/export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from bridges_directory import catalog, hsds
from bridges_directory.dataset import DatasetError
from bridges_directory.repository import CANDIDATE_CAP, SearchQuery
from bridges_kit.http import CurrentPrincipal, get_runtime
from bridges_kit.problems import BadRequest
from bridges_schema import CapacityStatus, Role

router = APIRouter()
WARNING_HEADER = "Bridges-Warning"

PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]
ModifiedAfter = Annotated[
    datetime | None, Query(description="only objects changed after this time (ISO 8601)")
]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/", tags=["hsds"], summary="API information")
async def api_info(request: Request) -> dict[str, str]:
    return {
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/latest/hsds/schema_reference.html",
        "openapi_url": str(request.url_for("openapi")),
    }


@router.get(
    "/services",
    tags=["hsds"],
    summary="Search and list services",
    description="Filters combine with AND. A search ranks at most the first "
    f"{CANDIDATE_CAP} matches; when more match, total_items is {CANDIDATE_CAP} and the "
    "`Bridges-Results-Capped` header is set: add a place, a need or a word to narrow it.",
)
async def list_services(
    request: Request,
    response: Response,
    search: Annotated[str | None, Query(max_length=200, description="words, typos welcome")] = None,
    organization_id: UUID | None = None,
    taxonomy_term_id: Annotated[
        UUID | None, Query(description="this term or any of its descendants")
    ] = None,
    taxonomy_id: UUID | None = None,
    modified_after: ModifiedAfter = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=500)] = None,
    language: Annotated[str | None, Query(max_length=40, description="code or name")] = None,
    age: Annotated[float | None, Query(ge=0, le=130)] = None,
    open_now: bool = False,
    open_at: Annotated[datetime | None, Query(description="open at this instant")] = None,
    accepting: Annotated[bool | None, Query(description="accepting referrals")] = None,
    service_area: Annotated[str | None, Query(max_length=200)] = None,
    sort: Literal["relevance", "distance", "name"] = "relevance",
    minimal: bool = False,
    full: bool = True,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    if (lat is None) != (lon is None):
        raise BadRequest("lat and lon go together")
    if (radius_km is not None or sort == "distance") and lat is None:
        raise BadRequest("radius_km and sort=distance need lat and lon")
    if open_now and open_at is not None:
        raise BadRequest("use open_now or open_at, not both")
    text = search.strip() if search and search.strip() else None
    query = SearchQuery(
        text=text,
        organization_id=organization_id,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        modified_after=_aware(modified_after),
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        language=language.strip() or None if language else None,
        age=age,
        open_at=datetime.now(UTC) if open_now else _aware(open_at),
        accepting=accepting,
        service_area=service_area.strip() or None if service_area else None,
        sort=sort,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    result = await catalog.search(
        get_runtime(request).pool, query, page=page, minimal=minimal or not full
    )
    if result.capped:
        response.headers["Bridges-Results-Capped"] = str(CANDIDATE_CAP)
    return result.page


@router.get("/services/{service_id}", tags=["hsds"], summary="A full HSDS service")
async def get_service(
    request: Request,
    response: Response,
    service_id: UUID,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    stored = await catalog.get_service(get_runtime(request).pool, service_id)
    if if_none_match is not None and stored.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": stored.etag})
    response.headers["ETag"] = stored.etag
    return stored.document


@router.post("/services", tags=["admin"], status_code=201, summary="Create or replace a service")
async def post_service(
    request: Request, response: Response, service: hsds.Service, principal: CurrentPrincipal
) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    runtime = get_runtime(request)
    result = await catalog.upsert_service(runtime.pool, runtime.streams, service)
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = result.service.etag
    _warn(response, result.warnings)
    response.headers["Location"] = f"/services/{service.id}"
    return result.service.document


@router.put("/services/{service_id}", tags=["admin"], summary="Replace a service")
async def put_service(
    request: Request,
    response: Response,
    service_id: UUID,
    service: hsds.Service,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    if service.id != service_id:
        raise catalog.IdMismatch(f"the body's id {service.id} differs from the path's")
    runtime = get_runtime(request)
    result = await catalog.upsert_service(runtime.pool, runtime.streams, service)
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = result.service.etag
    _warn(response, result.warnings)
    return result.service.document


def _warn(response: Response, warnings: Sequence[DatasetError]) -> None:
    """References kept as given, one `Bridges-Warning: <JSON path> <message>` header each
    (the body is the stored document; an import lists them in its report instead)."""
    for warning in warnings[:50]:
        text = f"{warning.path} {warning.message}"
        response.headers.append(WARNING_HEADER, text.encode("ascii", "backslashreplace").decode())


@router.delete("/services/{service_id}", tags=["admin"], status_code=204, summary="Remove")
async def delete_service(request: Request, service_id: UUID, principal: CurrentPrincipal) -> None:
    principal.require(Role.ADMIN)
    runtime = get_runtime(request)
    await catalog.delete_service(runtime.pool, runtime.streams, service_id)


class CapacityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepting_referrals: bool | None = None
    capacity_status: CapacityStatus | None = None


@router.patch(
    "/services/{service_id}/capacity",
    tags=["agency"],
    summary="Open or close a program to referrals (its agency's staff, or an admin)",
)
async def patch_capacity(
    request: Request,
    response: Response,
    service_id: UUID,
    update: CapacityUpdate,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    principal.require(Role.AGENCY_STAFF, Role.ADMIN)
    if update.accepting_referrals is None and update.capacity_status is None:
        raise BadRequest("send accepting_referrals and/or capacity_status")
    runtime = get_runtime(request)
    stored = await catalog.update_capacity(
        runtime.pool,
        runtime.streams,
        principal,
        service_id,
        accepting_referrals=update.accepting_referrals,
        capacity_status=update.capacity_status,
    )
    response.headers["ETag"] = stored.etag
    return stored.document


@router.post(
    "/import",
    tags=["admin"],
    summary="Import an HSDS dataset, all or nothing",
    description="An array of full HSDS services, or "
    '`{"taxonomies": [...], "taxonomy_terms": [...], "services": [...]}` as `GET /export` '
    "writes. Any invalid record: 422 listing every error with its JSON path; nothing changes. "
    "A reference Bridges can do without (a parent term or a taxonomy it does not hold, a "
    "location given by id only) is kept as given and listed under `warnings`.",
)
async def import_dataset(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(Role.ADMIN)
    try:
        raw = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    except RecursionError:  # json.loads gives up on arrays nested thousands deep
        raise BadRequest("the body is nested too deeply") from None
    runtime = get_runtime(request)
    report = await catalog.import_dataset(runtime.pool, runtime.streams, raw)
    return report.as_dict()


@router.get("/export", tags=["hsds"], summary="The whole directory as HSDS JSON (streamed)")
async def export_dataset(request: Request) -> StreamingResponse:
    return StreamingResponse(
        catalog.export_dataset(get_runtime(request).pool),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="bridges-directory.json"'},
    )


@router.get("/organizations", tags=["hsds"], summary="List organizations")
async def list_organizations(
    request: Request,
    modified_after: ModifiedAfter = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await catalog.organizations(
        get_runtime(request).pool, _aware(modified_after), page, per_page
    )


@router.get("/organizations/{organization_id}", tags=["hsds"], summary="An organization")
async def get_organization(request: Request, organization_id: UUID) -> dict[str, Any]:
    return await catalog.organization(get_runtime(request).pool, organization_id)


@router.get("/service_at_locations", tags=["hsds"], summary="Where services are delivered")
async def list_service_at_locations(
    request: Request,
    modified_after: ModifiedAfter = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await catalog.service_at_locations(
        get_runtime(request).pool, _aware(modified_after), page, per_page
    )


@router.get("/taxonomies", tags=["hsds"], summary="List taxonomies")
async def list_taxonomies(
    request: Request, page: PageNumber = 1, per_page: PerPage = 50
) -> hsds.Page:
    return await catalog.taxonomies(get_runtime(request).pool, page, per_page)


@router.get("/taxonomy_terms", tags=["hsds"], summary="List taxonomy terms")
async def list_taxonomy_terms(
    request: Request,
    parent_id: UUID | None = None,
    taxonomy_id: UUID | None = None,
    top_only: Annotated[bool, Query(description="only terms without a parent")] = False,
    page: PageNumber = 1,
    per_page: PerPage = 200,
) -> hsds.Page:
    return await catalog.taxonomy_terms(
        get_runtime(request).pool,
        parent_id=parent_id,
        taxonomy_id=taxonomy_id,
        top_only=top_only,
        page=page,
        per_page=per_page,
    )
