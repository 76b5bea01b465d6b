"""Mapping an identity provider's claims to Bridges' own: Keycloak, Entra ID and Auth0 shapes,
and the tokens that must be refused (no Bridges role, two roles, a stray `role` claim)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bridges_kit.auth import Claims
from bridges_kit.claim_mapping import ClaimMapping
from bridges_kit.problems import Unauthorized
from bridges_schema import Role

AGENCY = str(uuid.uuid4())
KEYCLOAK = ClaimMapping(
    role_claim="realm_access.roles",
    role_values={"bridges-officer": Role.OFFICER, "bridges-agency": Role.AGENCY_STAFF},
    agency_claim="bridges_agency",
    name_claim="preferred_username",
)


def principal(mapping: ClaimMapping, payload: dict[str, Any]) -> Any:
    return Claims.from_payload(mapping.bridges_claims({"sub": "u-1", **payload})).principal()


def test_the_default_mapping_reads_bridges_own_claims() -> None:
    who = principal(ClaimMapping(), {"role": "agency_staff", "agency_id": AGENCY, "name": "Lee"})
    assert (who.role, str(who.agency_id), who.name) == (Role.AGENCY_STAFF, AGENCY, "Lee")


def test_keycloak_realm_roles_map_to_a_bridges_role_and_agency() -> None:
    who = principal(
        KEYCLOAK,
        {
            "realm_access": {"roles": ["offline_access", "bridges-agency", "uma_authorization"]},
            "bridges_agency": AGENCY,
            "preferred_username": "lee.chen",
        },
    )
    assert (who.role, str(who.agency_id), who.name) == (Role.AGENCY_STAFF, AGENCY, "lee.chen")


def test_an_auth0_namespaced_claim_with_dots_in_its_name_is_read_whole() -> None:
    claim = "https://bridges.example.org/roles"
    mapping = ClaimMapping(role_claim=claim, role_values={"Officer": Role.OFFICER})
    assert principal(mapping, {claim: ["Officer"]}).role is Role.OFFICER


def test_a_role_claim_in_the_wrong_place_is_not_trusted() -> None:
    # the provider puts roles in realm_access.roles: a plain `role` claim is not the provider's
    with pytest.raises(Unauthorized, match=r"realm_access\.roles"):
        principal(KEYCLOAK, {"role": "admin"})


@pytest.mark.parametrize(
    ("roles", "why"),
    [
        (["offline_access"], "names no Bridges role"),
        ([], "names no Bridges role"),
        (["bridges-officer", "bridges-agency"], "several Bridges roles"),
        ("bridges-officer bridges-agency", "names no Bridges role"),
        ([1, 2], "must be a string or a list"),
        ({"nested": "x"}, "must be a string or a list"),
    ],
)
def test_a_token_naming_no_or_several_bridges_roles_is_refused(roles: Any, why: str) -> None:
    with pytest.raises(Unauthorized, match=why):
        principal(KEYCLOAK, {"realm_access": {"roles": roles}, "bridges_agency": AGENCY})


def test_agency_staff_without_the_configured_agency_claim_are_refused() -> None:
    with pytest.raises(Unauthorized, match="agency_id"):
        principal(KEYCLOAK, {"realm_access": {"roles": ["bridges-agency"]}, "agency_id": AGENCY})


def test_a_single_string_role_is_accepted() -> None:
    mapping = ClaimMapping(role_claim="roles", role_values={"Bridges.Officer": Role.OFFICER})
    assert principal(mapping, {"roles": "Bridges.Officer"}).role is Role.OFFICER
