"""The programs this process read lately, kept in memory: what an intake in one statement
decides on (its statement then checks their versions in the database, `intake_rows`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from bridges_referrals.domain import Program


class ProgramMemory:
    """The programs this process read lately, as it read them: an intake relies on them only
    while their versions in the database still match (see `intake_rows`)."""

    LIMIT = 10_000  # programs; past it, forgotten all at once and read again as needed

    def __init__(self) -> None:
        self._programs: dict[UUID, Program] = {}

    def recall(self, ids: Sequence[UUID]) -> dict[UUID, Program]:
        return {i: self._programs[i] for i in ids if i in self._programs}

    def keep(self, programs: Mapping[UUID, Program]) -> None:
        if len(self._programs) + len(programs) > self.LIMIT:
            self._programs.clear()
        self._programs.update(programs)

    def forget(self, service_id: UUID) -> None:
        self._programs.pop(service_id, None)
