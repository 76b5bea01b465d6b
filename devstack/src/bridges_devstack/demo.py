"""The demo people of `bridges up`: who can sign in to the app (written to
`<run dir>/demo-users.json` for the development OpenID provider) and whose dev tokens
`stack.json` holds. Their agencies come from the seeded demo county, so staff see a real inbox."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridges_schema import Role

DEMO_USERS_NAME = "demo-users.json"
DEMO_AGENCY_NAME = "Riverton Community Food Bank"
SECOND_AGENCY_NAME = "Harbor House"  # the family shelter: a second inbox, another kind of need


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    role: Role
    agency_id: str | None = None
    agency_name: str | None = None

    @property
    def email(self) -> str:
        return f"{self.id}@example.org"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "email": self.email,
            "agency_id": self.agency_id,
            "agency_name": self.agency_name,
        }


@dataclass(frozen=True)
class Agency:
    id: str
    name: str


def _agencies() -> tuple[Agency, Agency]:
    """The demo agency (the food bank) and a second seeded agency (the shelter)."""
    from bridges_directory.seed import read_dataset

    services = read_dataset()["services"]
    agencies = [
        Agency(s["x_bridges"]["agency_id"], s["organization"]["name"])
        for s in services
        if s.get("organization")
    ]
    by_service = {s["name"]: s["x_bridges"]["agency_id"] for s in services}
    first_id = by_service.get(DEMO_AGENCY_NAME, services[0]["x_bridges"]["agency_id"])
    first = Agency(first_id, DEMO_AGENCY_NAME)
    others = [a for a in agencies if a.id != first_id]
    second = next((a for a in others if a.name == SECOND_AGENCY_NAME), others[0])
    return first, second


def demo_agency_id() -> str:
    """The seeded agency whose staff get a dev token (Riverton Community Food Bank's)."""
    return _agencies()[0].id


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def demo_users() -> list[DemoUser]:
    food_bank, second = _agencies()
    return [
        DemoUser("badge-1234", "Dana Reyes", Role.OFFICER),
        DemoUser("badge-5678", "Sam Okafor", Role.OFFICER),
        DemoUser(
            "staff-riverton-food-bank", "Lee Chen", Role.AGENCY_STAFF, food_bank.id, food_bank.name
        ),
        DemoUser(
            f"staff-{_slug(second.name)}", "Rosa Alvarez", Role.AGENCY_STAFF, second.id, second.name
        ),
        DemoUser("admin-dev", "Alex Admin", Role.ADMIN),
        DemoUser("ops-dev", "Olu Ops", Role.OPS),
    ]


def read_demo_users(path: Path) -> list[DemoUser]:
    """The users `write_demo_users` wrote."""
    return [
        DemoUser(u["id"], u["name"], Role(u["role"]), u["agency_id"], u["agency_name"])
        for u in json.loads(path.read_text())
    ]


def write_demo_users(run_dir: Path, users: list[DemoUser]) -> Path:
    """`<run dir>/demo-users.json`, replaced in one step (a reader never sees half a file)."""
    path = run_dir / DEMO_USERS_NAME
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps([u.as_json() for u in users], indent=2) + "\n")
    partial.replace(path)
    return path
