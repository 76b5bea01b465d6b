"""`python -m bridges_notifications [serve|migrate|token|dead-letters|endpoints|deliveries]`.

endpoints list --agency A            endpoints add --agency A --url U [--event-type T ...]
endpoints rotate --agency A --id E [--overlap-hours H]
endpoints pause --id E               endpoints resume --id E
endpoints recipients --agency A      endpoints add-recipient --agency A --email X [--language es]
deliveries list [--status dead] [--endpoint E]
deliveries show --id D               deliveries replay --id D
deliveries replay-dead --endpoint E
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg

from bridges_kit.cli import run_and_print, service_main
from bridges_notifications import bootstrap, delivery_log, endpoints
from bridges_notifications.models import EndpointIn, RecipientIn, Rotation

Action = Callable[[asyncpg.Pool], Awaitable[Any]]


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


def _endpoints(runtime: bootstrap.NotificationsRuntime, args: argparse.Namespace) -> None:
    allowed = runtime.settings.allowed_networks()
    actions: dict[str, Action] = {
        "list": lambda _: endpoints.list_for_agency(runtime.uow(), args.agency, reader=None),
        "add": lambda _: endpoints.create(
            runtime.uow(),
            args.agency,
            EndpointIn(url=args.url, event_types=args.event_type),
            allowed,
        ),
        "rotate": lambda _: endpoints.rotate_secret(
            runtime.uow(), args.agency, args.id, Rotation(overlap_hours=args.overlap_hours)
        ),
        "pause": lambda _: endpoints.set_paused(runtime.uow(), args.id, True),
        "resume": lambda _: endpoints.set_paused(runtime.uow(), args.id, False),
        "recipients": lambda _: endpoints.recipients(runtime.uow(), args.agency, reader=None),
        "add-recipient": lambda _: endpoints.add_recipient(
            runtime.uow(), args.agency, RecipientIn(address=args.email, language=args.language)
        ),
    }
    run_and_print(runtime, actions[args.action])


def _delivery_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "show", "replay", "replay-dead"])
    parser.add_argument("--id", type=UUID, help="delivery id")
    parser.add_argument("--endpoint", type=UUID)
    parser.add_argument("--status", choices=["pending", "succeeded", "dead"])
    parser.add_argument("--limit", type=int, default=50)


async def _replay_one(runtime: bootstrap.NotificationsRuntime, delivery_id: UUID) -> Any:
    await delivery_log.replay(runtime.uow(), delivery_id)
    return await delivery_log.get_delivery(runtime.pool, delivery_id)


def _deliveries(runtime: bootstrap.NotificationsRuntime, args: argparse.Namespace) -> None:
    actions: dict[str, Action] = {
        "list": lambda pool: delivery_log.list_deliveries(
            pool, status=args.status, endpoint_id=args.endpoint, limit=args.limit
        ),
        "show": lambda pool: delivery_log.get_delivery(pool, args.id),
        "replay": lambda _: _replay_one(runtime, args.id),
        "replay-dead": lambda _: delivery_log.replay_dead(runtime.uow(), args.endpoint),
    }
    run_and_print(runtime, actions[args.action])


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
