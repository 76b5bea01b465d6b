"""Whether an event could come from a producer of Bridges at all: it travels on the subject its
type names, and its `source` is the service that speaks for its domain (the schema's PRODUCERS:
only the directory speaks for programs). The bus already lets no other service publish there
(bridges_kit.bus_access); this is what a consumer checks of each event, and a replay again."""

from __future__ import annotations

from typing import Any

from bridges_kit import text
from bridges_schema import CloudEvent, event_spec, producer_source


def impostor(event: CloudEvent[Any], subject: str, namespace: str) -> str | None:
    """Why `event`, received on `subject`, is no Bridges producer's, or None."""
    spec = event_spec(event)
    expected = spec.subject(namespace)
    if subject != expected:
        return f"a {event.type} event on {subject}, not on {expected}"
    speaker = producer_source(spec.domain)
    if event.source != speaker:
        claimed = text.storable(event.source[:80])
        return f"source {claimed!r} may not speak for the {spec.domain} domain, only {speaker}"
    return None
