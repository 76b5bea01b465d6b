"""HTTP routes of the directory: the HSDS read API and search (public), admin writes, and HSDS
import/export (agencies' own listings: `agency_api`). Who may call which route is the access
table's (`bridges_directory.access`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, StringConstraints

from bridges_directory import catalog, hsds, places, queries, tabular
from bridges_directory.dataset import DatasetError, InvalidDataset
from bridges_directory.domain import IdMismatch, document_etag
from bridges_directory.search_sql import CANDIDATE_CAP, RANKED_CAP, SearchQuery
from bridges_directory.uow import DirectoryUnitOfWork
from bridges_kit.access import Caller
from bridges_kit.conditional import NOT_MODIFIED, IfMatch, IfNoneMatch, etag_of, none_match
from bridges_kit.edge import parse_json
from bridges_kit.fields import Instant, InstantOrDay
from bridges_kit.http import Pool, get_runtime, router, unit_of_work
from bridges_kit.openapi import problem_responses
from bridges_kit.problems import BadRequest, PreconditionFailed, Unprocessable
from bridges_kit.versions import VersionCondition

routes = router()
WARNING_HEADER = "Bridges-Warning"


UoW = Annotated[DirectoryUnitOfWork, Depends(unit_of_work)]


async def _searches(request: Request) -> queries.Searches:
    searches: queries.Searches = request.app.state.searches
    return searches


Searches = Annotated[queries.Searches, Depends(_searches)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
# A radius so small that PostgreSQL's float arithmetic underflows on it (1e-320) is refused;
# coordinates are rounded (`hsds.Degrees`).
MIN_RADIUS_KM = 0.01
PerPage = Annotated[int, Query(ge=1, le=200)]
ModifiedAfter = Annotated[
    InstantOrDay | None,
    Query(
        description="only objects changed after this time (ISO 8601, with its offset; a date "
        "alone: that day from midnight UTC)"
    ),
]


@routes.get("/", tags=["hsds"], summary="API information")
async def api_info(request: Request) -> dict[str, str]:
    # from the settings, never from the Host header (a client could name any site there)
    base_url = get_runtime(request).settings.base_url
    return {
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/latest/hsds/schema_reference.html",
        "openapi_url": f"{base_url}/openapi.json",
    }


@routes.get(
    "/services",
    tags=["hsds"],
    summary="Search and list services",
    description="Filters combine with AND. A search ranks at most the first "
    f"{CANDIDATE_CAP} matches ({RANKED_CAP} when ranking words by relevance, those matching "
    "every word first); when more match, total_items is that cap and the "
    "`Bridges-Results-Capped` header says it: add a place, a need or a word to narrow it.",
    response_model=hsds.Page,
    responses=problem_responses(BadRequest),
)
async def list_services(
    pool: Pool,
    searches: Searches,
    search: Annotated[
        str | None,
        Query(
            max_length=200,
            description="words or a sentence, in English or Spanish, typos welcome (the rules: "
            "`GET /search/lexicon`)",
        ),
    ] = None,
    organization_id: UUID | None = None,
    taxonomy_term_id: Annotated[
        UUID | None, Query(description="this term or any of its descendants")
    ] = None,
    taxonomy_id: UUID | None = None,
    modified_after: ModifiedAfter = None,
    lat: Annotated[hsds.Degrees | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[hsds.Degrees | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[
        float | None, Query(ge=MIN_RADIUS_KM, le=500, description="at least 10 m")
    ] = None,
    language: Annotated[str | None, Query(max_length=40, description="code or name")] = None,
    age: Annotated[float | None, Query(ge=0, le=130)] = None,
    open_now: bool = False,
    open_at: Annotated[Instant | None, Query(description="open at this instant")] = None,
    accepting: Annotated[bool | None, Query(description="accepting referrals")] = None,
    service_area: Annotated[str | None, Query(max_length=200)] = None,
    sort: Literal["relevance", "distance", "name"] = "relevance",
    minimal: bool = False,
    full: bool = True,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> Response:
    if (lat is None) != (lon is None):
        raise BadRequest("lat and lon go together")
    if (radius_km is not None or sort == "distance") and lat is None:
        raise BadRequest("radius_km and sort=distance need lat and lon")
    if open_now and open_at is not None:
        raise BadRequest("use open_now or open_at, not both")
    query = SearchQuery(
        text=_words(search),
        organization_id=organization_id,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        modified_after=modified_after,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        language=_words(language),
        age=age,
        open_at=datetime.now(UTC) if open_now else open_at,
        accepting=accepting,
        service_area=_words(service_area),
        sort=sort,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    result = await queries.search(pool, searches, query, page=page, minimal=minimal or not full)
    # served as PostgreSQL wrote the results: no decoding, validating and re-encoding per request
    response = Response(result.page, media_type="application/json")
    if result.capped:
        response.headers["Bridges-Results-Capped"] = str(result.capped)
    return response


class LexiconRules(BaseModel):
    max_concepts: int
    typos: dict[str, int]
    vocabulary_word_max: int
    coverage: int
    field_score: dict[str, dict[str, int]]


class LexiconTerm(BaseModel):
    id: UUID
    # absent rather than null, as every open-data answer (`open_data`): a term with no code, or
    # at the top of its taxonomy
    code: str | None = None
    parent_id: UUID | None = None
    names: dict[str, str]


class LexiconAudience(BaseModel):
    minimum_age: float
    maximum_age: float
    words: list[str]


class Lexicon(BaseModel):
    """What `GET /services?search=` matches words with, besides the programs' own words."""

    version: str
    stemmer: str
    rules: LexiconRules
    stop_words: dict[str, list[str]]
    query_stop_words: dict[str, list[str]]
    synonyms: list[list[str]]
    terms: list[LexiconTerm]
    languages: dict[str, list[str]]
    audiences: list[LexiconAudience]


LEXICON_CACHE = "public, max-age=300"


@routes.get(
    "/search/lexicon",
    tags=["search"],
    summary="The words and rules search matches with (for matching offline the same way)",
    description="One public document: stop words dropped from queries (`stop_words` also from "
    "programs' text; `query_stop_words` from queries only), synonym groups (English and "
    "Spanish), every taxonomy term with its names by language and its parent, language names "
    "and audience words (what a program's languages and ages are searched by), and the rules' "
    "constants (typos allowed, how a match is scored). `version` (and the `ETag`) change with "
    "any of it; send `If-None-Match` for a 304. The tablet's `app/src/matching.js` applies it "
    "as `bridges_directory.matching` does on the server.",
    response_model=Lexicon,
    responses=NOT_MODIFIED,
)
async def search_lexicon(pool: Pool, if_none_match: IfNoneMatch = None) -> Response:
    body = await queries.search_lexicon(pool)
    headers = {"ETag": etag_of(body), "Cache-Control": LEXICON_CACHE}
    if none_match(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@routes.get(
    "/places",
    tags=["search"],
    summary="Places to search near: a postal code, a town or an address",
    description="From the directory's own locations: a postal code or a town answers the centroid "
    "of its locations, an address line (e.g. `214 Mill`) the locations at it; text after a comma "
    "narrows to a town, state or postal code (`214 Mill, Riverton`). Postal codes first, then "
    "towns, then addresses. Pass a place's latitude and longitude to `GET /services`.",
)
async def find_places(
    pool: Pool,
    q: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=200),
        Query(description="the start of a postal code, town or street line"),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[places.Place]:
    return await places.find(pool, q, limit)


def _words(value: str | None) -> str | None:
    return value.strip() or None if value else None


@routes.get(
    "/services/{service_id}", tags=["hsds"], summary="A full HSDS service", responses=NOT_MODIFIED
)
async def get_service(
    response: Response,
    pool: Pool,
    service_id: UUID,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    stored = await queries.get_service(pool, service_id)
    if if_none_match is not None and stored.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": stored.etag})
    response.headers["ETag"] = stored.etag
    return stored.served()


@routes.post(
    "/services",
    tags=["admin"],
    status_code=201,
    summary="Create or replace a service",
    responses={200: {"description": "Replaced"}, **problem_responses(Unprocessable)},
)
async def post_service(
    response: Response, service: hsds.Service, actor: Caller, uow: UoW
) -> dict[str, Any]:
    result = await catalog.upsert_service(uow, service, actor)
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = result.service.etag
    response.headers["Location"] = f"/services/{service.id}"
    warn(response, result.warnings)
    return result.service.served()


@routes.put(
    "/services/{service_id}",
    tags=["admin"],
    summary="Replace a service (If-Match: the ETag read, refused with 412 if it changed since)",
    responses={
        201: {"description": "Created"},
        **problem_responses(Unprocessable, PreconditionFailed),
    },
)
async def put_service(
    response: Response,
    service_id: UUID,
    service: hsds.Service,
    actor: Caller,
    uow: UoW,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    if service.id != service_id:
        raise IdMismatch(f"the body's id {service.id} differs from the path's")
    result = await catalog.upsert_service(uow, service, actor, VersionCondition.of(if_match))
    response.status_code = 201 if result.created else 200
    response.headers["ETag"] = result.service.etag
    warn(response, result.warnings)
    return result.service.served()


def warn(response: Response, warnings: Sequence[DatasetError]) -> None:
    """References kept as given, one `Bridges-Warning: <JSON path> <message>` header each
    (the body is the stored document; an import lists them in its report instead)."""
    for warning in warnings[:50]:
        text = f"{warning.path} {warning.message}"
        response.headers.append(WARNING_HEADER, text.encode("ascii", "backslashreplace").decode())


@routes.delete("/services/{service_id}", tags=["admin"], status_code=204, summary="Remove")
async def delete_service(service_id: UUID, actor: Caller, uow: UoW) -> None:
    await catalog.delete_service(uow, service_id, actor)


@routes.post(
    "/import",
    tags=["admin"],
    summary="Import an HSDS dataset, all or nothing (JSON, or a tabular data package as a zip)",
    description="An array of full HSDS services, or "
    '`{"taxonomies": [...], "taxonomy_terms": [...], "services": [...]}` as `GET /export` '
    "writes; or (`Content-Type: application/zip`) the HSDS tabular data package: its CSV files "
    "as the official `datapackage.json` names them. Any invalid record: 422 listing every error "
    "with its JSON path (and, for CSV, its file, row and column); nothing changes. "
    "`dry_run=true` checks and counts the same and writes nothing. "
    "A reference Bridges can do without (a parent term or a taxonomy it does not hold, a "
    "location given by id only) is kept as given and listed under `warnings`.",
    # the body is read and checked by the route itself (its size limit is the import's)
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": ["array", "object"]}},
                tabular.ZIP: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
    responses=problem_responses(Unprocessable),
)
async def import_dataset(
    request: Request, actor: Caller, uow: UoW, dry_run: bool = False
) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip() == tabular.ZIP:
        package = tabular.read_zip(body)
        try:
            report = await catalog.import_dataset(uow, package.raw, dry_run=dry_run, actor=actor)
        except InvalidDataset as exc:
            raise tabular.InvalidRows(package, exc.errors) from None
        return {**report.as_dict(), "dry_run": dry_run}
    report = await catalog.import_dataset(
        uow, parse_json(body, check_text=False), dry_run=dry_run, actor=actor
    )
    return {**report.as_dict(), "dry_run": dry_run}


class ZipResponse(Response):
    media_type = tabular.ZIP


@routes.get(
    "/export",
    tags=["hsds"],
    summary="The whole directory as HSDS JSON (streamed), or as a tabular data package (zip)",
    responses={200: {"content": {tabular.ZIP: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def export_dataset(pool: Pool, format: Literal["json", "tabular"] = "json") -> Response:
    if format == "tabular":
        dataset = json.loads(b"".join([chunk async for chunk in queries.export_dataset(pool)]))
        return ZipResponse(
            tabular.zipped(tabular.write(dataset)),
            headers={"Content-Disposition": 'attachment; filename="bridges-directory-hsds.zip"'},
        )
    return StreamingResponse(
        queries.export_dataset(pool),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="bridges-directory.json"'},
    )


SearchWords = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ListSearch = Annotated[
    SearchWords | None, Query(description="words anywhere in the name (case forgiven)")
]


@routes.get("/organizations", tags=["hsds"], summary="List organizations")
async def list_organizations(
    pool: Pool,
    search: ListSearch = None,
    modified_after: ModifiedAfter = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await queries.organizations(pool, modified_after, page, per_page, search)


@routes.get(
    "/organizations/{organization_id}",
    tags=["hsds"],
    summary="An organization (its ETag: send it as If-Match to change it)",
)
async def get_organization(response: Response, pool: Pool, organization_id: UUID) -> dict[str, Any]:
    return tagged(response, await queries.organization(pool, organization_id))


def tagged(response: Response, document: dict[str, Any]) -> dict[str, Any]:
    """An object versioned by its content, with the ETag a write names in If-Match."""
    response.headers["ETag"] = document_etag(document)
    return document


@routes.get("/service_at_locations", tags=["hsds"], summary="Where services are delivered")
async def list_service_at_locations(
    pool: Pool,
    location_id: Annotated[UUID | None, Query(description="only at this location")] = None,
    modified_after: ModifiedAfter = None,
    page: PageNumber = 1,
    per_page: PerPage = 50,
) -> hsds.Page:
    return await queries.service_at_locations(pool, modified_after, page, per_page, location_id)


@routes.get("/taxonomies", tags=["hsds"], summary="List taxonomies")
async def list_taxonomies(pool: Pool, page: PageNumber = 1, per_page: PerPage = 50) -> hsds.Page:
    return await queries.taxonomies(pool, page, per_page)


@routes.get("/taxonomy_terms", tags=["hsds"], summary="List taxonomy terms")
async def list_taxonomy_terms(
    pool: Pool,
    search: Annotated[
        SearchWords | None, Query(description="words anywhere in the name or the code")
    ] = None,
    parent_id: UUID | None = None,
    taxonomy_id: UUID | None = None,
    top_only: Annotated[bool, Query(description="only terms without a parent")] = False,
    page: PageNumber = 1,
    per_page: PerPage = 200,
) -> hsds.Page:
    return await queries.taxonomy_terms(
        pool,
        parent_id=parent_id,
        taxonomy_id=taxonomy_id,
        top_only=top_only,
        page=page,
        per_page=per_page,
        search=search,
    )
