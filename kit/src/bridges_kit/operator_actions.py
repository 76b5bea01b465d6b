"""What ops and admins did through the operations surfaces (replays, pauses, endpoint and
recipient changes, test events), as one record: who, what, on what, how it ended (pure). Ids,
action names and outcomes only, never family data. Kept by `bridges_kit.operator_log`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridges_kit.principal import Principal


@dataclass(frozen=True)
class OperatorAction:
    """One action: who (`actor` is the token's subject), what (`action`, e.g.
    "delivery.replay"), on what (`target`, an id) and how it ended."""

    actor: str
    role: str
    action: str
    target: str
    outcome: str = "done"
    name: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by(
        cls,
        principal: Principal,
        action: str,
        target: object,
        *,
        outcome: str = "done",
        **detail: Any,
    ) -> OperatorAction:
        return cls(
            principal.sub,
            principal.role.value,
            action,
            str(target),
            outcome,
            principal.name,
            detail,
        )
