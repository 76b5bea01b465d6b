"""JetStream streams and the subjects events travel on.

Every name hangs off a namespace ("bridges" in production). A different namespace gives an
isolated set of streams on the same NATS server: a staging copy, or one test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_NAMESPACE = "bridges"
_NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class Domain(StrEnum):
    REFERRAL = "referral"
    DIRECTORY = "directory"
    DELIVERY = "delivery"
    DEAD_LETTER = "deadletter"


# The one service that speaks for each domain: it alone may publish the domain's events (the
# bus refuses anyone else: bridges_kit.bus_access), and a consumer refuses an event of the
# domain whose `source` names another. Dead letters are every consumer's own.
PRODUCERS: dict[Domain, str] = {
    Domain.REFERRAL: "referrals",
    Domain.DIRECTORY: "directory",
    Domain.DELIVERY: "notifications",
}


def producer_source(domain: Domain) -> str:
    """The CloudEvents `source` of the events of `domain` (`/bridges/directory`, ...)."""
    return f"/bridges/{PRODUCERS[domain]}"


@dataclass(frozen=True)
class Stream:
    name: str
    subjects: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Streams:
    """The streams of one namespace."""

    namespace: str = DEFAULT_NAMESPACE

    def __post_init__(self) -> None:
        if not _NAMESPACE_RE.match(self.namespace):
            raise ValueError(f"invalid namespace {self.namespace!r}: want {_NAMESPACE_RE.pattern}")

    def subject(self, domain: Domain, version: int, name: str) -> str:
        return f"{self.namespace}.{domain.value}.v{version}.{name}"

    def stream(self, domain: Domain) -> Stream:
        return Stream(
            name=f"{self.namespace.upper()}_{domain.value.upper()}",
            subjects=(f"{self.namespace}.{domain.value}.>",),
            description=f"Bridges {domain.value} events ({self.namespace})",
        )

    def all(self) -> list[Stream]:
        return [self.stream(d) for d in Domain]

    def dead_letter_subject(self, consumer: str) -> str:
        return f"{self.namespace}.{Domain.DEAD_LETTER.value}.{consumer}"
