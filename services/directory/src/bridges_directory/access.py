"""Who may call each route of the directory: its access policy in one table.

The kit enforces the roles before a route runs (401, 403). Ownership is enforced where the data
is (`domain.check_may_change_listing`, `agency_api`) and answered 404; it is named here. A route without an
entry, or an entry without a route, stops the app from starting.
"""

from __future__ import annotations

from bridges_kit.access import OPERATIONS, Owner, Public, Table, allow
from bridges_schema import Role

RECEIVING_AGENCY = Owner(Role.AGENCY_STAFF, "the programs whose referrals go to their agency")
OWN_AGENCY = Owner(Role.AGENCY_STAFF, "their own agency")
HSDS = Public("anyone: the directory is open data (Open Referral HSDS)")
LISTING_OWNERS = allow(Role.AGENCY_STAFF, Role.ADMIN, owners=[RECEIVING_AGENCY])

TABLE: Table = {
    **OPERATIONS,
    ("GET", "/"): HSDS,
    ("GET", "/services"): HSDS,
    ("GET", "/services/{service_id}"): HSDS,
    ("GET", "/places"): HSDS,
    ("GET", "/search/lexicon"): HSDS,
    ("GET", "/export"): HSDS,
    ("GET", "/organizations"): HSDS,
    ("GET", "/organizations/{organization_id}"): HSDS,
    ("GET", "/service_at_locations"): HSDS,
    ("GET", "/locations"): HSDS,
    ("GET", "/locations/{location_id}"): HSDS,
    ("GET", "/taxonomies"): HSDS,
    ("GET", "/taxonomy_terms"): HSDS,
    ("GET", "/taxonomy_terms/{term_id}"): HSDS,
    ("POST", "/services"): allow(Role.ADMIN),
    ("PUT", "/services/{service_id}"): allow(Role.ADMIN),
    ("DELETE", "/services/{service_id}"): allow(Role.ADMIN),
    ("POST", "/import"): allow(Role.ADMIN),
    ("PUT", "/organizations/{organization_id}"): allow(Role.ADMIN),
    ("POST", "/organizations/{organization_id}/retire"): allow(Role.ADMIN),
    ("PUT", "/locations/{location_id}"): allow(Role.ADMIN),
    ("DELETE", "/locations/{location_id}"): allow(Role.ADMIN),
    ("PUT", "/taxonomy_terms/{term_id}"): allow(Role.ADMIN),
    ("DELETE", "/taxonomy_terms/{term_id}"): allow(Role.ADMIN),
    # agency ids are in every program's public document; the list by name is for operators
    ("GET", "/agencies"): allow(Role.ADMIN, Role.OPS),
    ("PATCH", "/services/{service_id}"): LISTING_OWNERS,
    ("PATCH", "/services/{service_id}/capacity"): LISTING_OWNERS,
    ("POST", "/services/{service_id}/confirmation"): LISTING_OWNERS,
    ("GET", "/agencies/{agency_id}/services"): allow(
        Role.AGENCY_STAFF, Role.ADMIN, owners=[OWN_AGENCY]
    ),
    ("POST", "/listing-reviews"): allow(Role.ADMIN),
    ("POST", "/listing-reviews/confirmation"): Public(
        "whoever holds an agency's emailed link: it confirms that agency's listing, once"
    ),
    ("GET", "/audit"): allow(Role.ADMIN),
}


def open_data_reads() -> list[str]:
    """The public HSDS reads: any web page may read them (ORUK), see `open_data`."""
    return [path for (method, path), entry in TABLE.items() if method == "GET" and entry is HSDS]
