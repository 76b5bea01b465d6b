"""Structured JSON logs (structlog) with the correlation id of the request or message at hand."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

CORRELATION_HEADER = "X-Correlation-Id"
NATS_CORRELATION_HEADER = "Bridges-Correlation-Id"


# A UUID (with or without hyphens) or a W3C trace id: what clients and tracers send. Anything
# else is replaced, since a client could put a name there and the id travels to agencies.
_WELL_FORMED = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)


def correlation_id() -> str | None:
    return _correlation_id.get()


def well_formed_correlation_id(value: str | None) -> str | None:
    """`value` normalised (lower case) if it is a UUID or a W3C trace id, else None."""
    if not value or not _WELL_FORMED.fullmatch(value) or not value.strip("0-"):
        return None
    return value.lower()


def bind_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    """Set the correlation id for the current task: `value` if well formed, else a fresh one."""
    return _correlation_id.set(well_formed_correlation_id(value) or uuid.uuid4().hex)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    _correlation_id.reset(token)


def _add_correlation_id(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    cid = _correlation_id.get()
    if cid is not None:
        event.setdefault("correlation_id", cid)
    return event


def configure_logging(service: str, level: str = "info", fmt: str = "json") -> None:
    # No access log, whoever attaches a handler: a URL's query may hold what a person typed (a
    # search for a family's name), and uvicorn logs every request once its logger has a handler.
    logging.getLogger("uvicorn.access").disabled = True
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_correlation_id,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
