"""HTTP routes for admins keeping the directory beside its programs: organizations, locations and
taxonomy terms (read by anyone, as HSDS open data; created, replaced and retired or removed by
admins, with If-Match on the ETag read), and the agencies programs send referrals to. Programs
themselves are `api`'s. Who may call which route is the access table's."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict

from bridges_directory import administration, hsds, queries
from bridges_directory.api import PageNumber, PerPage, SearchWords, UoW, tagged, warn
from bridges_directory.domain import IdMismatch
from bridges_kit.access import Caller
from bridges_kit.conditional import IfMatch
from bridges_kit.http import Pool, router
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import Conflict, NotFound, PreconditionFailed, Unprocessable
from bridges_kit.versions import VersionCondition

routes = router()

WRITE_PROBLEMS = problem_responses(Unprocessable, PreconditionFailed)
REMOVE_PROBLEMS = problem_responses(NotFound, PreconditionFailed, Conflict)
CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "Created"}}


def _kept(response: Response, kept: administration.Kept) -> dict[str, Any]:
    response.status_code = 201 if kept.created else 200
    response.headers["ETag"] = kept.etag
    response.headers["Bridges-Programs-Rewritten"] = str(kept.programs)
    warn(response, kept.warnings)
    return kept.document


def _same_id(path_id: UUID, body_id: UUID) -> None:
    if path_id != body_id:
        raise IdMismatch(f"the body's id {body_id} differs from the path's")


@routes.put(
    "/organizations/{organization_id}",
    tags=["admin"],
    summary="Create or replace an organization; its programs embed it as it now is",
    description="Every program of the organization is rewritten with it (a new version and a "
    "`service.upserted` each; `Bridges-Programs-Rewritten` says how many).",
    responses={**CREATED, **WRITE_PROBLEMS},
)
async def put_organization(
    response: Response,
    organization_id: UUID,
    organization: hsds.Organization,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    _same_id(organization_id, organization.id)
    return _kept(
        response,
        await administration.put_organization(
            uow, actor, organization, VersionCondition.of(if_match)
        ),
    )


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["inactive", "defunct", "temporarily closed"]


class Retired(BaseModel):
    retired: int


@routes.post(
    "/organizations/{organization_id}/retire",
    tags=["admin"],
    summary="Take an organization's active programs out of service (an HSDS status)",
    description="HSDS gives organizations no status: an organization leaves by its programs. "
    "Each active one takes the status given (no referral can be filed to it any more).",
    responses=problem_responses(NotFound),
)
async def retire_organization(
    organization_id: UUID, retirement: Retirement, actor: Caller, uow: UoW
) -> Retired:
    count = await administration.retire_organization(uow, actor, organization_id, retirement.status)
    return Retired(retired=count)


@routes.get(
    "/locations",
    tags=["hsds"],
    summary="List locations, by name or address",
    description="Where programs are delivered (`/service_at_locations?location_id=` lists "
    "which), and locations no program uses yet.",
)
async def list_locations(
    pool: Pool,
    search: Annotated[
        SearchWords | None, Query(description="words of the name or the address")
    ] = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await queries.locations(pool, search, page, per_page)


@routes.get("/locations/{location_id}", tags=["hsds"], summary="A location (and its ETag)")
async def get_location(response: Response, pool: Pool, location_id: UUID) -> dict[str, Any]:
    return tagged(response, await queries.location(pool, location_id))


@routes.put(
    "/locations/{location_id}",
    tags=["admin"],
    summary="Create or replace a location; programs delivered there embed it as it now is",
    responses={**CREATED, **WRITE_PROBLEMS},
)
async def put_location(
    response: Response,
    location_id: UUID,
    location: hsds.Location,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    _same_id(location_id, location.id)
    return _kept(
        response,
        await administration.put_location(uow, actor, location, VersionCondition.of(if_match)),
    )


@routes.delete(
    "/locations/{location_id}",
    tags=["admin"],
    status_code=204,
    summary="Remove a location no program is delivered at (409 while one is)",
    responses=REMOVE_PROBLEMS,
)
async def delete_location(location_id: UUID, uow: UoW, if_match: IfMatch = None) -> None:
    await administration.remove_location(uow, location_id, VersionCondition.of(if_match))


@routes.get("/taxonomy_terms/{term_id}", tags=["hsds"], summary="A taxonomy term (and its ETag)")
async def get_taxonomy_term(response: Response, pool: Pool, term_id: UUID) -> dict[str, Any]:
    return tagged(response, await queries.taxonomy_term(pool, term_id))


@routes.put(
    "/taxonomy_terms/{term_id}",
    tags=["admin"],
    summary="Create or replace a taxonomy term; its programs are searched by its new names",
    description="Its code is unique in its taxonomy and it may not be its own ancestor (422, "
    "at the field); a parent or taxonomy the directory does not hold is kept as given and "
    "named in a `Bridges-Warning`. The programs classified under it or a narrower term are "
    "re-indexed, each with a new version.",
    responses={**CREATED, **WRITE_PROBLEMS},
)
async def put_taxonomy_term(
    response: Response,
    term_id: UUID,
    term: hsds.TaxonomyTerm,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    _same_id(term_id, term.id)
    return _kept(
        response, await administration.put_term(uow, actor, term, VersionCondition.of(if_match))
    )


@routes.delete(
    "/taxonomy_terms/{term_id}",
    tags=["admin"],
    status_code=204,
    summary="Remove a term that classifies no program and has no narrower term (409 otherwise)",
    responses=REMOVE_PROBLEMS,
)
async def delete_taxonomy_term(term_id: UUID, uow: UoW, if_match: IfMatch = None) -> None:
    await administration.remove_term(uow, term_id, VersionCondition.of(if_match))


class AgencyOut(BaseModel):
    agency_id: UUID
    name: str
    programs: int
    active_programs: int


@routes.get(
    "/agencies",
    tags=["admin"],
    summary="The agencies programs send referrals to (`x_bridges.agency_id`), by name",
)
async def list_agencies(
    pool: Pool,
    search: Annotated[
        SearchWords | None, Query(description="words of the organization's name")
    ] = None,
) -> list[AgencyOut]:
    return [
        AgencyOut.model_validate(a, from_attributes=True)
        for a in await queries.agencies(pool, search)
    ]
