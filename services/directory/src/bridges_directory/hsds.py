"""Open Referral HSDS 3.0 objects as the directory accepts and serves them (pydantic).

Field names follow HSDS exactly. Nested objects that Bridges does not yet interpret keep any
extra HSDS fields (`extra="allow"`), so an import never loses data. Bridges' own fields live
in the namespaced `x_bridges` object.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridges_schema import CapacityStatus

Text = Annotated[str, Field(max_length=300)]
LongText = Annotated[str, Field(max_length=10_000)]


class HsdsObject(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)


class TaxonomyTerm(HsdsObject):
    id: UUID
    code: Annotated[str, Field(max_length=100)] | None = None
    name: Text
    description: LongText = ""
    parent_id: UUID | None = None
    taxonomy: Text | None = None
    taxonomy_id: UUID | None = None
    language: Annotated[str, Field(max_length=10)] | None = None
    term_uri: Text | None = None


class Taxonomy(HsdsObject):
    id: UUID
    name: Text
    description: LongText = ""
    uri: Text | None = None
    version: Annotated[str, Field(max_length=50)] | None = None


class Attribute(HsdsObject):
    id: UUID
    taxonomy_term_id: UUID
    link_id: UUID | None = None
    link_type: Text | None = None
    link_entity: Text | None = "service"
    value: Text | None = None
    taxonomy_term: TaxonomyTerm | None = None


class Organization(HsdsObject):
    id: UUID
    name: Text = Field(min_length=1)
    alternate_name: Text | None = None
    description: LongText = ""
    email: Text | None = None
    website: Text | None = None
    legal_status: Text | None = None
    year_incorporated: int | None = Field(default=None, ge=1600, le=2100)


class Address(HsdsObject):
    id: UUID
    address_1: Text
    address_2: Text | None = None
    city: Text
    region: Text | None = None
    state_province: Text
    postal_code: Annotated[str, Field(max_length=20)]
    country: Annotated[str, Field(min_length=2, max_length=2)]
    address_type: Annotated[str, Field(max_length=20)] = "physical"


class Location(HsdsObject):
    id: UUID
    location_type: Annotated[str, Field(max_length=20)] = "physical"
    name: Text | None = None
    description: LongText | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    addresses: list[Address] = Field(default_factory=list, max_length=10)


class ServiceAtLocation(HsdsObject):
    id: UUID
    service_id: UUID | None = None
    location_id: UUID | None = None
    description: LongText | None = None
    location: Location

    @model_validator(mode="after")
    def _location_id_matches(self) -> ServiceAtLocation:
        if self.location_id is None:
            self.location_id = self.location.id
        elif self.location_id != self.location.id:
            raise ValueError("location_id differs from location.id")
        return self


class BridgesExtension(BaseModel):
    """Bridges' fields on a service: who receives referrals, and whether it can take them."""

    model_config = ConfigDict(extra="forbid")

    agency_id: UUID | None = None
    accepting_referrals: bool = True
    capacity_status: CapacityStatus = CapacityStatus.AVAILABLE
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
    minimum_age: float | None = Field(default=None, ge=0, le=130)
    maximum_age: float | None = Field(default=None, ge=0, le=130)
    last_modified: datetime | None = None
    organization: Organization
    service_at_locations: list[ServiceAtLocation] = Field(default_factory=list, max_length=200)
    attributes: list[Attribute] = Field(default_factory=list, max_length=100)
    phones: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    schedules: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    languages: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
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
        pages = max((total + per_page - 1) // per_page, 1)
        return cls(
            total_items=total,
            total_pages=pages,
            page_number=page,
            size=len(contents),
            first_page=page == 1,
            last_page=page >= pages,
            empty=not contents,
            contents=contents,
        )
