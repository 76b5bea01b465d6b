"""Who may call each route of the notifications service: its access policy in one table.

The kit enforces the roles before a route runs (401, 403). Ownership is enforced where the data
is (`domain.may_read_agency`, in the endpoints use cases) and answered 404; it is named here. A
route without an entry, or an entry without a route, stops the app from starting.
"""

from __future__ import annotations

from bridges_kit.access import DEAD_LETTERS, OPERATIONS, Owner, Table, allow
from bridges_schema import Role

OFFICER, STAFF, ADMIN, OPS = Role.OFFICER, Role.AGENCY_STAFF, Role.ADMIN, Role.OPS

OWN_AGENCY = Owner(STAFF, "their own agency's")
OPERATORS = allow(OPS, ADMIN)

TABLE: Table = {
    **OPERATIONS,
    **DEAD_LETTERS,
    ("GET", "/agencies/{agency_id}/endpoints"): allow(STAFF, ADMIN, OPS, owners=[OWN_AGENCY]),
    ("POST", "/agencies/{agency_id}/endpoints"): allow(ADMIN),
    ("PUT", "/agencies/{agency_id}/endpoints/{endpoint_id}"): allow(ADMIN),
    ("POST", "/agencies/{agency_id}/endpoints/{endpoint_id}/rotate-secret"): allow(ADMIN),
    ("POST", "/agencies/{agency_id}/endpoints/{endpoint_id}/test"): allow(ADMIN),
    ("GET", "/endpoints"): OPERATORS,
    ("POST", "/endpoints/{endpoint_id}/pause"): OPERATORS,
    ("POST", "/endpoints/{endpoint_id}/resume"): OPERATORS,
    ("POST", "/endpoints/{endpoint_id}/replay-dead-letters"): OPERATORS,
    ("POST", "/dead-letters/replay"): OPERATORS,
    ("GET", "/agencies/{agency_id}/email-recipients"): allow(
        STAFF, ADMIN, OPS, owners=[OWN_AGENCY]
    ),
    ("POST", "/agencies/{agency_id}/email-recipients"): allow(ADMIN),
    ("DELETE", "/agencies/{agency_id}/email-recipients/{recipient_id}"): allow(ADMIN),
    # "me": an officer's own preferences, by construction
    ("PUT", "/officers/me/notifications"): allow(OFFICER),
    ("GET", "/deliveries"): OPERATORS,
    ("GET", "/deliveries/{delivery_id}"): OPERATORS,
    ("POST", "/deliveries/{delivery_id}/replay"): OPERATORS,
    ("GET", "/dead-letters"): OPERATORS,
}
