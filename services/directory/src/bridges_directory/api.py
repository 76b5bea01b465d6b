"""HTTP routes of the directory: the HSDS read API (public) and admin writes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from bridges_directory import catalog, hsds
from bridges_kit.http import CurrentPrincipal, get_runtime
from bridges_schema import Role

router = APIRouter()

PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int, Query(ge=1, le=200)]


@router.get("/", tags=["hsds"], summary="API information")
async def api_info(request: Request) -> dict[str, str]:
    return {
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/latest/hsds/schema_reference.html",
        "openapi_url": str(request.url_for("openapi")),
    }


@router.get("/services", tags=["hsds"], summary="Search and list services")
async def list_services(
    request: Request,
    search: Annotated[str | None, Query(max_length=200)] = None,
    organization_id: UUID | None = None,
    taxonomy_term_id: UUID | None = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await catalog.search(
        get_runtime(request).pool,
        text=search.strip() if search and search.strip() else None,
        organization_id=organization_id,
        taxonomy_term_id=taxonomy_term_id,
        page=page,
        per_page=per_page,
    )


@router.get("/services/{service_id}", tags=["hsds"], summary="A full HSDS service")
async def get_service(
    request: Request,
    response: Response,
    service_id: UUID,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    stored = await catalog.get_service(get_runtime(request).pool, service_id)
    if if_none_match == stored.etag:
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
    return result.service.document


@router.get("/organizations", tags=["hsds"], summary="List organizations")
async def list_organizations(
    request: Request, page: PageNumber = 1, per_page: PerPage = 50
) -> hsds.Page:
    return await catalog.organizations(get_runtime(request).pool, page, per_page)


@router.get("/organizations/{organization_id}", tags=["hsds"], summary="An organization")
async def get_organization(request: Request, organization_id: UUID) -> dict[str, Any]:
    return await catalog.organization(get_runtime(request).pool, organization_id)


@router.get("/taxonomy_terms", tags=["hsds"], summary="List taxonomy terms")
async def list_taxonomy_terms(
    request: Request,
    parent_id: UUID | None = None,
    page: PageNumber = 1,
    per_page: PerPage = 200,
) -> hsds.Page:
    return await catalog.taxonomy_terms(get_runtime(request).pool, parent_id, page, per_page)
