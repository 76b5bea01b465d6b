"""How an identity provider's access-token claims name a Bridges role, agency, name and email.

Providers each put roles somewhere else: Keycloak in `realm_access.roles`, Entra ID in `roles`
(app roles), Auth0 under a namespaced claim such as `https://bridges.example.org/roles`. The
mapping is configuration (BRIDGES_JWT_ROLE_CLAIM, _ROLE_VALUES, _AGENCY_CLAIM, _NAME_CLAIM,
_EMAIL_CLAIM); it reshapes a verified payload into Bridges' own claims, which `Claims` then
validates. With no configuration a token carries them under their own names (`role`,
`agency_id`), as the development tokens do.

A token must name exactly one Bridges role: a user holding two (an officer who is also an admin)
is refused rather than guessed at, so the provider's assignment stays the one source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridges_kit.problems import Unauthorized
from bridges_schema import Role

_MISSING = object()


def claim_at(payload: Mapping[str, Any], claim: str) -> Any:
    """The claim named `claim`: a top-level key as written (URL-named claims hold dots), else a
    dotted path into nested objects (`realm_access.roles`). `_MISSING` when absent."""
    if claim in payload:
        return payload[claim]
    value: Any = payload
    for part in claim.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


@dataclass(frozen=True)
class ClaimMapping:
    """Where the provider's claims are, and which of its role values mean which Bridges role."""

    role_claim: str = "role"
    # provider value -> Bridges role; empty: the values are Bridges role names themselves
    role_values: Mapping[str, Role] = field(default_factory=dict)
    agency_claim: str = "agency_id"
    name_claim: str = "name"
    email_claim: str = "email"

    def bridges_claims(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`payload` with `role`, `agency_id`, `name` and `email` taken from where the provider
        puts them (the rest is kept for `Claims` to validate or ignore). Unauthorized when the
        role claim names no Bridges role, or more than one."""
        # only the configured places count: a stray `role` claim must not pick the role
        mapped = {
            k: v for k, v in payload.items() if k not in ("role", "agency_id", "name", "email")
        }
        mapped["role"] = self._role(payload)
        for own, claim in (
            ("agency_id", self.agency_claim),
            ("name", self.name_claim),
            ("email", self.email_claim),
        ):
            value = claim_at(payload, claim)
            if value is not _MISSING:
                mapped[own] = value
        return mapped

    def _role(self, payload: Mapping[str, Any]) -> str:
        value = claim_at(payload, self.role_claim)
        if value is _MISSING:
            raise Unauthorized(f"the token has no '{self.role_claim}' claim")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Unauthorized(f"the token's '{self.role_claim}' claim must be a string or a list")
        roles = {role for v in values if (role := self._bridges_role(v)) is not None}
        if not roles:
            raise Unauthorized(f"the token's '{self.role_claim}' claim names no Bridges role")
        if len(roles) > 1:
            held = ", ".join(sorted(r.value for r in roles))
            raise Unauthorized(
                f"the token's '{self.role_claim}' claim names several Bridges roles ({held}): "
                "give each user exactly one"
            )
        return roles.pop().value

    def _bridges_role(self, value: str) -> Role | None:
        if self.role_values:
            return self.role_values.get(value)
        try:
            return Role(value)
        except ValueError:
            return None
