"""`python -m bridges_notifications [--json] [serve|migrate|dead-letters|endpoints|deliveries]`
(bridges_kit.cli):

    endpoints list --agency A            endpoints add --agency A --url U [--event-type T ...]
    endpoints rotate --agency A --id E [--overlap-hours H]
    endpoints pause --id E               endpoints resume --id E
    endpoints recipients --agency A      endpoints add-recipient --agency A --email X [--language es]
    deliveries list [--status dead] [--endpoint E]
    deliveries show --id D               deliveries replay --id D
    deliveries replay-dead --endpoint E
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer

from bridges_kit.cli import run, service_cli, session
from bridges_notifications import bootstrap, delivery_log, endpoints
from bridges_notifications.models import EndpointIn, RecipientIn, Rotation

app = service_cli(
    "bridges-notifications",
    bootstrap.build_runtime,
    bootstrap.build_app,
    help_text="Webhooks and email to agencies and officers: endpoints, deliveries, replays.",
)
endpoints_app = typer.Typer(help="Agency webhook endpoints and email recipients.")
deliveries_app = typer.Typer(help="The delivery log and replays.")
app.add_typer(endpoints_app, name="endpoints")
app.add_typer(deliveries_app, name="deliveries")


class Language(StrEnum):
    EN = "en"
    ES = "es"


class Status(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


Agency = Annotated[UUID, typer.Option("--agency", help="the agency's id")]
EndpointId = Annotated[UUID, typer.Option("--id", help="the endpoint's id")]
DeliveryId = Annotated[UUID, typer.Option("--id", help="the delivery's id")]


def _on_database(ctx: typer.Context, title: str, work: Any) -> None:
    current = session(ctx)
    runtime = current.runtime
    current.show(current.database(lambda pool: work(runtime, pool)), title=title)


@endpoints_app.command("list")
def list_endpoints(ctx: typer.Context, agency: Agency) -> None:
    _on_database(
        ctx, "endpoints", lambda rt, _: endpoints.list_for_agency(rt.uow(), agency, reader=None)
    )


@endpoints_app.command("add")
def add_endpoint(
    ctx: typer.Context,
    agency: Agency,
    url: Annotated[str, typer.Option(help="where the signed webhooks go")],
    event_type: Annotated[list[str] | None, typer.Option(help="only these event types")] = None,
) -> None:
    """Register a webhook endpoint; its whsec_ secret is shown once."""
    _on_database(
        ctx,
        "endpoint",
        lambda rt, _: endpoints.create(
            rt.uow(),
            agency,
            EndpointIn(url=url, event_types=event_type or []),
            rt.settings.allowed_networks(),
        ),
    )


@endpoints_app.command("rotate")
def rotate_secret(
    ctx: typer.Context, agency: Agency, id_: EndpointId, overlap_hours: float = 24
) -> None:
    """A new signing secret; the old one still signs for --overlap-hours."""
    _on_database(
        ctx,
        "endpoint",
        lambda rt, _: endpoints.rotate_secret(
            rt.uow(), agency, id_, Rotation(overlap_hours=overlap_hours)
        ),
    )


@endpoints_app.command("pause")
def pause(ctx: typer.Context, id_: EndpointId) -> None:
    _on_database(ctx, "endpoint", lambda rt, _: endpoints.set_paused(rt.uow(), id_, True))


@endpoints_app.command("resume")
def resume(ctx: typer.Context, id_: EndpointId) -> None:
    _on_database(ctx, "endpoint", lambda rt, _: endpoints.set_paused(rt.uow(), id_, False))


@endpoints_app.command("recipients")
def recipients(ctx: typer.Context, agency: Agency) -> None:
    _on_database(
        ctx, "recipients", lambda rt, _: endpoints.recipients(rt.uow(), agency, reader=None)
    )


@endpoints_app.command("add-recipient")
def add_recipient(
    ctx: typer.Context,
    agency: Agency,
    email: Annotated[str, typer.Option(help="an agency email recipient")],
    language: Language = Language.EN,
) -> None:
    _on_database(
        ctx,
        "recipient",
        lambda rt, _: endpoints.add_recipient(
            rt.uow(), agency, RecipientIn(address=email, language=language.value)
        ),
    )


@deliveries_app.command("list")
def list_deliveries(
    ctx: typer.Context,
    status: Status | None = None,
    endpoint: Annotated[UUID | None, typer.Option(help="only this endpoint's")] = None,
    limit: int = 50,
) -> None:
    _on_database(
        ctx,
        "deliveries",
        lambda _, pool: delivery_log.list_deliveries(
            pool, status=status.value if status else None, endpoint_id=endpoint, limit=limit
        ),
    )


@deliveries_app.command("show")
def show_delivery(ctx: typer.Context, id_: DeliveryId) -> None:
    """One delivery with every attempt."""
    _on_database(ctx, "delivery", lambda _, pool: delivery_log.get_delivery(pool, id_))


async def _replay_one(runtime: bootstrap.NotificationsRuntime, delivery_id: UUID) -> Any:
    await delivery_log.replay(runtime.uow(), delivery_id)
    return await delivery_log.get_delivery(runtime.pool, delivery_id)


@deliveries_app.command("replay")
def replay(ctx: typer.Context, id_: DeliveryId) -> None:
    """Send a delivery again (a dead one, after the receiver is fixed)."""
    _on_database(ctx, "delivery", lambda rt, _: _replay_one(rt, id_))


@deliveries_app.command("replay-dead")
def replay_dead(
    ctx: typer.Context, endpoint: Annotated[UUID, typer.Option(help="the endpoint's id")]
) -> None:
    """Send every dead delivery of an endpoint again."""
    _on_database(ctx, "replayed", lambda rt, _: delivery_log.replay_dead(rt.uow(), endpoint))


def main(argv: list[str] | None = None) -> None:
    run(app, argv)


if __name__ == "__main__":
    main()
