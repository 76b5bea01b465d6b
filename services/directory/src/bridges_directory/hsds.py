"""Open Referral HSDS 3.0 objects as the directory accepts and serves them (pydantic).

Field names follow HSDS exactly. Nested objects that Bridges does not yet interpret keep any
extra HSDS fields (`extra="allow"`), so an import never loses data. Bridges' own fields live
in the namespaced `x_bridges` object.

The models accept what the official HSDS 3.0 schema accepts, except where Bridges needs more
(see `tests/test_hsds_conformance.py` for that list, e.g. a service's organization, a name
that is not blank, dates and times in the formats HSDS documents). Bounds on fields Bridges
does not interpret are only there to keep a request's size in check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridges_schema import CapacityStatus

Text = Annotated[str, Field(max_length=300)]
LongText = Annotated[str, Field(max_length=10_000)]


class HsdsObject(BaseModel):
    # NaN and infinities are not JSON numbers (Python's parser lets them through)
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, allow_inf_nan=False)


class TermExtension(BaseModel):
    """Bridges' fields on a taxonomy term: its name in other languages (`{"es": "Comida"}`),
    shown to officers in their language and searched with the programs it classifies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    names: dict[Annotated[str, Field(pattern="^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")], Text] = Field(
        default_factory=dict, max_length=20
    )


class TaxonomyTerm(HsdsObject):
    id: UUID
    code: Text | None = None
    name: Text
    description: LongText = ""
    parent_id: UUID | None = None
    taxonomy: Text | None = None
    taxonomy_id: UUID | None = None
    language: Text | None = None
    term_uri: Text | None = None
    x_bridges: TermExtension | None = None


class Taxonomy(HsdsObject):
    id: UUID
    name: Text
    description: LongText = ""
    uri: Text | None = None
    version: Text | None = None


class Attribute(HsdsObject):
    """HSDS requires only the id: the term comes as `taxonomy_term_id`, embedded as
    `taxonomy_term`, both (they must agree: `dataset.check_references`) or not at all."""

    id: UUID
    taxonomy_term_id: UUID | None = None
    link_id: UUID | None = None
    link_type: Text | None = None
    link_entity: Text | None = "service"
    value: Text | None = None
    taxonomy_term: TaxonomyTerm | None = None

    @model_validator(mode="after")
    def _term_id_from_embedded_term(self) -> Attribute:
        if self.taxonomy_term_id is None and self.taxonomy_term is not None:
            self.taxonomy_term_id = self.taxonomy_term.id
        return self


class Organization(HsdsObject):
    id: UUID
    name: Text = Field(min_length=1)
    alternate_name: Text | None = None
    description: LongText = ""
    email: Text | None = None
    website: Text | None = None
    legal_status: Text | None = None
    year_incorporated: int | float | None = None  # HSDS: a number; Bridges only keeps it


class Address(HsdsObject):
    id: UUID
    address_1: Text
    address_2: Text | None = None
    city: Text
    region: Text | None = None
    state_province: Text
    postal_code: Text
    country: Text  # HSDS: "should be" an ISO 3166-1 alpha-2 code; Bridges only keeps it
    address_type: Text = "physical"


class LocationExtension(BaseModel):
    """Bridges' fields on a location: the IANA time zone its opening hours are kept in."""

    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class Location(HsdsObject):
    id: UUID
    location_type: Annotated[str, Field(pattern="^(physical|postal|virtual)$")] = "physical"
    name: Text | None = None
    description: LongText | None = None
    # one coordinate without the other is valid HSDS: kept, but it places the location nowhere
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    addresses: list[Address] = Field(default_factory=list, max_length=10)
    x_bridges: LocationExtension = Field(default_factory=LocationExtension)


WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# HH:MM[:SS], and as HSDS 3.0 recommends, a "Z" or a UTC offset: "09:00-05:00" is 9am EST.
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$")
Clock = Annotated[str, Field(pattern=CLOCK.pattern)]
# An RRULE BYDAY entry: a weekday, for MONTHLY preceded by its occurrence ("2MO", "-1FR").
# A closure longer than this is not a holiday: the program is "temporarily closed" (its status).
MAX_CLOSURE_DAYS = 366
BYDAY = re.compile(r"^([+-]?(?:[1-9]|[1-4]\d|5[0-3]))?(MO|TU|WE|TH|FR|SA|SU)$")


class ScheduleExtension(BaseModel):
    """Bridges' fields on a schedule: `closed` marks a closure (a holiday, a week off): from
    `valid_from` to `valid_to` the service is closed whatever its other schedules say. HSDS 3.0
    models exceptions by validity dates but has no word for "closed"; a closure is a schedule
    valid on those dates with no opening times, its `description` saying why ("Closed for
    Thanksgiving"), so other HSDS readers see dates without hours."""

    model_config = ConfigDict(extra="forbid")

    closed: bool = False


class Schedule(HsdsObject):
    """An HSDS recurring schedule (RFC 5545 RRULE fields); Bridges reads WEEKLY/DAILY hours,
    and closures (`x_bridges.closed`)."""

    id: UUID
    freq: Annotated[str, Field(pattern="^(WEEKLY|DAILY|MONTHLY|YEARLY)$")] | None = None
    byday: Text | None = None
    opens_at: Clock | None = None
    closes_at: Clock | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    timezone: float | None = Field(default=None, ge=-12, le=14)
    location_id: UUID | None = None
    service_at_location_id: UUID | None = None
    description: LongText | None = None
    x_bridges: ScheduleExtension | None = None

    @property
    def is_closure(self) -> bool:
        return self.x_bridges is not None and self.x_bridges.closed

    @field_validator("byday")
    @classmethod
    def _weekdays(cls, value: str | None) -> str | None:
        if value is None:
            return None
        days = [d.strip().upper() for d in value.split(",") if d.strip()]
        unknown = [d for d in days if not BYDAY.match(d)]
        if unknown:
            raise ValueError(f"byday holds unknown weekday(s) {unknown}; use MO,TU,...,SU or 2MO")
        return ",".join(days)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        # opens_at without closes_at is valid HSDS: kept, but it gives no hours for "open now"
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        if self.is_closure:
            if self.valid_from is None or self.valid_to is None:
                raise ValueError("a closure needs valid_from and valid_to (its first and last day)")
            if self.opens_at is not None or self.closes_at is not None:
                raise ValueError("a closure has no opening times")
            if (self.valid_to - self.valid_from).days > MAX_CLOSURE_DAYS:
                raise ValueError(f"a closure lasts at most {MAX_CLOSURE_DAYS} days")
        return self


class Language(HsdsObject):
    id: UUID
    name: Text | None = None
    code: Text | None = None
    note: Text | None = None


class ServiceArea(HsdsObject):
    id: UUID
    name: Text | None = None
    description: LongText | None = None
    extent: Annotated[str, Field(max_length=100_000)] | None = None
    extent_type: Text | None = None


class Phone(HsdsObject):
    id: UUID
    number: Text
    extension: float | None = None
    type: Text | None = None
    description: LongText | None = None


class CostOption(HsdsObject):
    id: UUID
    option: Text | None = None
    currency: Text | None = None
    amount: float | None = None
    amount_description: Text | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class RequiredDocument(HsdsObject):
    id: UUID
    document: Text | None = None
    uri: Text | None = None


class Contact(HsdsObject):
    id: UUID
    name: Text | None = None
    title: Text | None = None
    department: Text | None = None
    email: Text | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=20)


class Funding(HsdsObject):
    id: UUID
    source: Text | None = None


class Accessibility(HsdsObject):
    id: UUID
    description: LongText | None = None
    details: LongText | None = None
    url: Text | None = None


class ServiceAtLocation(HsdsObject):
    """HSDS requires only the id. Bridges places a service by the embedded `location`; one
    given by `location_id` alone is kept as given (and reported: `dataset.check_references`)."""

    id: UUID
    service_id: UUID | None = None
    location_id: UUID | None = None
    description: LongText | None = None
    location: Location | None = None
    schedules: list[Schedule] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _location_id_matches(self) -> ServiceAtLocation:
        if self.location is None:
            return self
        if self.location_id is None:
            self.location_id = self.location.id
        elif self.location_id != self.location.id:
            raise ValueError("location_id differs from location.id")
        return self


class BridgesExtension(BaseModel):
    """Bridges' fields on a service: who receives referrals, whether it can take them (and
    until when it cannot, in the agency's words), and when its agency last checked it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_id: UUID | None = None
    accepting_referrals: bool = True
    capacity_status: CapacityStatus = CapacityStatus.AVAILABLE
    capacity_until: date | None = None  # the day its intake is expected to reopen
    capacity_note: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    last_verified: date | None = None


class Service(HsdsObject):
    """A full HSDS service object (what `GET /services/{id}` returns and `POST /services` takes)."""

    id: UUID
    organization_id: UUID | None = None
    name: Text = Field(min_length=1)
    alternate_name: Text | None = None
    description: LongText = ""
    url: Text | None = None
    email: Text | None = None
    status: Annotated[str, Field(pattern="^(active|inactive|defunct|temporarily closed)$")]
    interpretation_services: LongText | None = None
    application_process: LongText | None = None
    fees_description: LongText | None = None
    eligibility_description: LongText | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    last_modified: datetime | None = None
    organization: Organization
    service_at_locations: list[ServiceAtLocation] = Field(default_factory=list, max_length=200)
    attributes: list[Attribute] = Field(default_factory=list, max_length=100)
    phones: list[Phone] = Field(default_factory=list, max_length=50)
    schedules: list[Schedule] = Field(default_factory=list, max_length=100)
    languages: list[Language] = Field(default_factory=list, max_length=50)
    service_areas: list[ServiceArea] = Field(default_factory=list, max_length=50)
    cost_options: list[CostOption] = Field(default_factory=list, max_length=50)
    required_documents: list[RequiredDocument] = Field(default_factory=list, max_length=50)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    funding: list[Funding] = Field(default_factory=list, max_length=50)
    accessibility: list[Accessibility] = Field(default_factory=list, max_length=50)
    x_bridges: BridgesExtension = Field(default_factory=BridgesExtension)

    @model_validator(mode="after")
    def _consistent(self) -> Service:
        if self.organization_id is None:
            self.organization_id = self.organization.id
        elif self.organization_id != self.organization.id:
            raise ValueError("organization_id differs from organization.id")
        if (
            self.minimum_age is not None
            and self.maximum_age is not None
            and self.minimum_age > self.maximum_age
        ):
            raise ValueError("minimum_age is above maximum_age")
        for sal in self.service_at_locations:
            sal.service_id = self.id
        for attribute in self.attributes:
            attribute.link_id = self.id
            attribute.link_entity = "service"
        return self


class Page(BaseModel):
    """The HSDS paging envelope."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]]

    @classmethod
    def of(cls, contents: list[dict[str, Any]], total: int, page: int, per_page: int) -> Page:
        return cls(**page_envelope(len(contents), total, page, per_page), contents=contents)


def page_envelope(size: int, total: int, page: int, per_page: int) -> dict[str, Any]:
    """The paging fields of a page holding `size` of `total` items."""
    pages = max((total + per_page - 1) // per_page, 1)
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": size,
        "first_page": page == 1,
        "last_page": page >= pages,
        "empty": not size,
    }


def page_json(contents: Sequence[str], total: int, page: int, per_page: int) -> bytes:
    """A `Page` as JSON whose contents are JSON texts already (written by PostgreSQL)."""
    envelope = json.dumps(page_envelope(len(contents), total, page, per_page))
    return f'{envelope[:-1]}, "contents": [{", ".join(contents)}]}}'.encode()
