"""Who may call each route of the referrals service: its access policy in one table.

The kit enforces the roles before a route runs (401, 403). Ownership is enforced where the data
is (`domain.may_see`, `domain.may_manage_case`, the listings' queries) and answered 404; it is
named here. A route without an entry, or an entry without a route, stops the app from starting.
"""

from __future__ import annotations

from bridges_kit.access import DEAD_LETTERS, OPERATIONS, Internal, Owner, Public, Table, allow
from bridges_schema import Role

OFFICER, STAFF, ADMIN = Role.OFFICER, Role.AGENCY_STAFF, Role.ADMIN

FILING_OFFICER = Owner(OFFICER, "the referrals and cases they filed")
RECEIVING_AGENCY = Owner(STAFF, "the referrals sent to their agency")
APP = Public("the tablet app's shell and config")
FAMILY = Public("the family, by the link in its follow-up message (the token is the key)")

TABLE: Table = {
    **OPERATIONS,
    **DEAD_LETTERS,
    # the app asks after sign-in who Bridges takes the caller to be (role, agency)
    ("GET", "/me"): allow(*Role),
    ("POST", "/referrals"): allow(OFFICER),
    ("GET", "/referrals"): allow(OFFICER, owners=[FILING_OFFICER]),
    ("GET", "/inbox"): allow(STAFF, owners=[RECEIVING_AGENCY]),
    # the agency's own programs: directory data, public anyway
    ("GET", "/inbox/programs"): allow(STAFF),
    ("GET", "/referrals/{referral_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("GET", "/referrals/{referral_id}/history"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("POST", "/referrals/{referral_id}/received"): allow(STAFF, owners=[RECEIVING_AGENCY]),
    # which move each of them may make is the lifecycle's rule (403 otherwise)
    ("POST", "/referrals/{referral_id}/transitions"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("POST", "/cases/{case_id}/consent/withdrawal"): allow(OFFICER, ADMIN, owners=[FILING_OFFICER]),
    # the family's follow-up: its officer records what it said; notifications fetches its
    # message (the address) when sending it; the family answers on its page, by its link
    ("POST", "/referrals/{referral_id}/family-feedback"): allow(OFFICER, owners=[FILING_OFFICER]),
    ("GET", "/follow-ups/{follow_up_id}/message"): Internal(
        "the notifications service, sending a family its follow-up message"
    ),
    ("GET", "/family/{token}"): FAMILY,
    ("POST", "/family/{token}"): FAMILY,
    ("GET", "/family/assets/{name}"): FAMILY,
    ("GET", "/audit"): allow(ADMIN),
    ("GET", "/audit/verify"): allow(ADMIN),
    ("GET", "/stats"): Public("anyone: aggregated, small counts hidden"),
    ("GET", "/stats.csv"): Public("anyone: aggregated, small counts hidden"),
    # the FHIR facade: the same owners as the routes above (a Task is a referral, a Patient and
    # its Consent a case); metadata is public, as FHIR servers' capability statements are
    ("GET", "/fhir/metadata"): Public("FHIR clients discovering what the server supports"),
    ("GET", "/fhir/Task"): allow(OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]),
    ("POST", "/fhir/Task"): allow(OFFICER),  # an EHR files as the officer its token names
    ("GET", "/fhir/Task/{referral_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("PUT", "/fhir/Task/{referral_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("GET", "/fhir/ServiceRequest/{referral_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("GET", "/fhir/Patient/{case_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("GET", "/fhir/Consent/{case_id}"): allow(
        OFFICER, STAFF, ADMIN, owners=[FILING_OFFICER, RECEIVING_AGENCY]
    ),
    ("GET", "/fhir/Organization/{agency_id}"): allow(OFFICER, STAFF, ADMIN),
    ("GET", "/fhir/HealthcareService/{service_id}"): allow(OFFICER, STAFF, ADMIN),
    # an endpoint Bridges will POST to: admins only, as agencies' webhook endpoints are
    ("POST", "/fhir/Subscription"): allow(ADMIN),
    ("GET", "/fhir/Subscription/{subscription_id}"): allow(ADMIN),
    ("DELETE", "/fhir/Subscription/{subscription_id}"): allow(ADMIN),
    ("GET", "/app"): APP,
    ("GET", "/app/config.json"): APP,
    ("GET", "/app/{path:path}"): APP,
    ("GET", "/public"): Public("anyone: the transparency page (the app's, no sign-in)"),
}
