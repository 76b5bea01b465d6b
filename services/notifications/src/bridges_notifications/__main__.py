"""`python -m bridges_notifications [serve|migrate|token|endpoints|deliveries]`.

endpoints list --agency A            endpoints add --agency A --url U [--event-type T ...]
endpoints rotate --agency A --id E [--overlap-hours H]
endpoints pause --id E               endpoints resume --id E
deliveries list [--status dead] [--endpoint E]
deliveries show --id D               deliveries replay --id D
deliveries replay-dead --endpoint E
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from bridges_kit.cli import service_main, with_database
from bridges_kit.runtime import Runtime
from bridges_notifications import bootstrap, delivery_log, endpoints, netguard


def _run(runtime: Runtime, work: Callable[[asyncpg.Pool], Awaitable[Any]]) -> None:
    try:
        result = with_database(runtime, work)
    except (LookupError, ValueError) as exc:  # not found, unsafe URL, bad input: say so plainly
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if isinstance(result, list):
        result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    elif isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    print(json.dumps(result, indent=2, default=str))


def _endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["list", "add", "rotate", "pause", "resume", "recipients", "add-recipient"],
    )
    parser.add_argument("--agency", type=UUID)
    parser.add_argument("--id", type=UUID, help="endpoint id")
    parser.add_argument("--url")
    parser.add_argument("--event-type", action="append", default=[])
    parser.add_argument("--overlap-hours", type=float, default=24)
    parser.add_argument("--email", help="an agency email recipient")
    parser.add_argument("--language", choices=["en", "es"], default="en")


def _endpoints(runtime: Runtime, args: argparse.Namespace) -> None:
    settings = runtime.settings
    assert isinstance(settings, bootstrap.NotificationsSettings)
    allowed = netguard.parse_networks(settings.webhook_allowed_networks)
    actions: dict[str, Callable[[asyncpg.Pool], Awaitable[Any]]] = {
        "list": lambda pool: endpoints.list_for_agency(pool, args.agency),
        "add": lambda pool: endpoints.create(
            pool,
            args.agency,
            endpoints.EndpointIn(url=args.url, event_types=args.event_type),
            allowed,
        ),
        "rotate": lambda pool: endpoints.rotate_secret(
            pool, args.agency, args.id, endpoints.Rotation(overlap_hours=args.overlap_hours)
        ),
        "pause": lambda pool: endpoints.set_paused(pool, None, args.id, True),
        "resume": lambda pool: endpoints.set_paused(pool, None, args.id, False),
        "recipients": lambda pool: endpoints.recipients(pool, args.agency),
        "add-recipient": lambda pool: endpoints.add_recipient(
            pool, args.agency, endpoints.RecipientIn(address=args.email, language=args.language)
        ),
    }
    _run(runtime, actions[args.action])


def _delivery_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "show", "replay", "replay-dead"])
    parser.add_argument("--id", type=UUID, help="delivery id")
    parser.add_argument("--endpoint", type=UUID)
    parser.add_argument("--status", choices=["pending", "succeeded", "dead"])
    parser.add_argument("--limit", type=int, default=50)


def _deliveries(runtime: Runtime, args: argparse.Namespace) -> None:
    actions: dict[str, Callable[[asyncpg.Pool], Awaitable[Any]]] = {
        "list": lambda pool: delivery_log.list_deliveries(
            pool, status=args.status, endpoint_id=args.endpoint, event_id=None, limit=args.limit
        ),
        "show": lambda pool: delivery_log.get_delivery(pool, args.id),
        "replay": lambda pool: delivery_log.replay(pool, args.id),
        "replay-dead": lambda pool: delivery_log.replay_dead(pool, args.endpoint),
    }
    _run(runtime, actions[args.action])


def main(argv: list[str] | None = None) -> None:
    service_main(
        "bridges-notifications",
        bootstrap.build_runtime,
        bootstrap.build_app,
        argv,
        extra={
            "endpoints": ("agency webhook endpoints", _endpoint_arguments, _endpoints),
            "deliveries": ("the delivery log and replays", _delivery_arguments, _deliveries),
        },
    )


if __name__ == "__main__":
    main()
