"""Who is calling, as their verified token says (pure: no I/O, no framework)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bridges_kit.problems import Forbidden
from bridges_schema import Role


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    agency_id: uuid.UUID | None = None
    email: str | None = None
    name: str | None = None

    def require(self, *roles: Role) -> Principal:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs one of the roles: {allowed}")
        return self


# Who acts through a service's own command line (`python -m bridges_<service> ...`): the operator
# at the console, recorded as such in the operators' log (`bridges_kit.operator_log`).
CONSOLE = Principal(sub="console", role=Role.OPS, name="operator's console")
