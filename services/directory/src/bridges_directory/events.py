"""The events the directory publishes, built from programs (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from bridges_directory import hsds
from bridges_directory.domain import ListingReview
from bridges_directory.freshness import AgencyListing
from bridges_schema import (
    LISTING_REVIEW_REQUESTED,
    SERVICE_CAPACITY_CHANGED,
    SERVICE_DELETED,
    SERVICE_UPSERTED,
    CloudEvent,
    Domain,
    ListingReviewRequested,
    ServiceCapacityChanged,
    ServiceDeleted,
    ServiceUpserted,
    new_event,
    producer_source,
)

SOURCE = producer_source(Domain.DIRECTORY)
MAX_TERM_CODES = 50


def upserted(
    service: hsds.Service, version: int, modified: datetime, codes: Mapping[UUID, Sequence[str]]
) -> CloudEvent[ServiceUpserted]:
    """`codes` maps taxonomy term ids to the codes events carry: the term's and those of the
    terms above it (`Terms.codes`)."""
    ext = service.x_bridges
    term_ids = sorted({a.taxonomy_term_id for a in service.attributes if a.taxonomy_term_id})
    return new_event(
        SERVICE_UPSERTED,
        ServiceUpserted(
            service_id=service.id,
            version=version,
            organization_id=service.organization.id,
            organization_name=service.organization.name,
            agency_id=ext.agency_id,
            name=service.name,
            status=service.status,
            accepting_referrals=ext.accepting_referrals,
            capacity_status=ext.capacity_status,
            taxonomy_term_codes=tuple(sorted({c for t in term_ids for c in codes.get(t, ())}))[
                :MAX_TERM_CODES
            ],
            last_verified=ext.last_verified,
            modified_at=modified,
            capacity_until=ext.capacity_until,
            capacity_note=ext.capacity_note,
        ),
        source=SOURCE,
        subject=str(service.id),
    )


def capacity_changed(
    service_id: UUID,
    version: int,
    agency_id: UUID | None,
    extension: hsds.BridgesExtension,
    at: datetime,
) -> CloudEvent[ServiceCapacityChanged]:
    return new_event(
        SERVICE_CAPACITY_CHANGED,
        ServiceCapacityChanged(
            service_id=service_id,
            version=version,
            agency_id=agency_id,
            accepting_referrals=extension.accepting_referrals,
            capacity_status=extension.capacity_status,
            changed_at=at,
            capacity_until=extension.capacity_until,
            capacity_note=extension.capacity_note,
        ),
        source=SOURCE,
        subject=str(service_id),
    )


def deleted(
    service_id: UUID, version: int, agency_id: UUID | None, at: datetime
) -> CloudEvent[ServiceDeleted]:
    return new_event(
        SERVICE_DELETED,
        ServiceDeleted(service_id=service_id, version=version, agency_id=agency_id, deleted_at=at),
        source=SOURCE,
        subject=str(service_id),
    )


def review_requested(
    review: ListingReview, listing: AgencyListing
) -> CloudEvent[ListingReviewRequested]:
    return new_event(
        LISTING_REVIEW_REQUESTED,
        ListingReviewRequested(
            review_id=review.id,
            agency_id=review.agency_id,
            programs=listing.programs,
            stale_programs=listing.stale_programs,
            oldest_checked=listing.oldest_checked,
            requested_at=review.requested_at,
            expires_at=review.expires_at,
        ),
        source=SOURCE,
        subject=str(review.agency_id),
    )
