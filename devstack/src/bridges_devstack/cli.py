"""`bridges`, the one command tree for development and ops:

    bridges up [--nats-cluster N] [--replicas N]     the whole system on this machine
    bridges token --user ID | --role ROLE            a demo user's access token
    bridges doctor                                   what is wrong, in plain words
    bridges backup --to DIR --keys-to DIR            databases, stream state; the keys apart
    bridges bus-secrets --to DIR                     NATS users' keys, their grants, TLS (compose)
    bridges restore --from DIR --keys-from FILE
    bridges directory|referrals|notifications ...    each service's own tree (bridges_kit.cli)

`--json` (before the command) prints results for scripts. doctor, backup and restore look at
the deployment the environment names (BRIDGES_<SERVICE>_DATABASE_URL, BRIDGES_NATS_URL,
BRIDGES_DATA_KEY_FILE, BRIDGES_JWT_ISSUER), else at `make up`'s (`--run-dir`, .bridges/); so do
the service trees when BRIDGES_DATABASE_URL is unset.
"""

from __future__ import annotations

import asyncio
import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bridges_devstack import bus_users
from bridges_devstack.ports import Ports
from bridges_directory.__main__ import app as directory_app
from bridges_kit import cli as kit_cli
from bridges_kit.auth import DEV_KEY_NAME
from bridges_notifications.__main__ import app as notifications_app
from bridges_referrals.__main__ import app as referrals_app
from bridges_schema import Role

app = typer.Typer(
    name="bridges",
    help="Bridges on this machine, and the ops tools for any deployment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(directory_app, name="directory")
app.add_typer(referrals_app, name="referrals")
app.add_typer(notifications_app, name="notifications")
SERVICE_TREES = ("directory", "referrals", "notifications")

RunDir = Annotated[Path, typer.Option(help="make up's state (stack.json)")]
MARK = {"ok": "[green]✔ ok[/]", "warn": "[yellow]! warn[/]", "fail": "[red]✘ fail[/]"}


@app.callback()
def main_options(
    ctx: typer.Context,
    as_json: kit_cli.JsonOption = False,
    run_dir: RunDir = kit_cli.DEFAULT_RUN_DIR,
) -> None:
    ctx.obj = kit_cli.Session(lambda: _no_runtime(), json=as_json)
    ctx.meta["run_dir"] = run_dir
    if ctx.invoked_subcommand in SERVICE_TREES:
        _stack_environment(ctx.invoked_subcommand, run_dir)


def _no_runtime() -> Any:
    raise RuntimeError("this command has no service runtime")


def _stack_environment(service: str, run_dir: Path) -> None:
    """`bridges referrals ...` after `make up`: the service's database and NATS from stack.json,
    unless the environment names them."""
    stack_file = run_dir / "stack.json"
    if os.environ.get("BRIDGES_DATABASE_URL") or not stack_file.exists():
        return
    stack = json.loads(stack_file.read_text())
    os.environ["BRIDGES_DATABASE_URL"] = stack["databases"][service]
    os.environ.setdefault("BRIDGES_NATS_URL", stack["nats_url"])
    seed = bus_users.seed_file(run_dir / bus_users.KEYS_DIR, service)
    if seed.exists():  # the service's own NATS user, as `bridges up` runs it
        os.environ.setdefault("BRIDGES_NATS_NKEY_SEED_FILE", str(seed))
    if service == "referrals":
        os.environ.setdefault("BRIDGES_DATA_KEY_FILE", str(run_dir / "data-keys.json"))


@app.command()
def up(
    run_dir: RunDir = kit_cli.DEFAULT_RUN_DIR,
    postgres_port: int = Ports.postgres,
    nats_port: int = Ports.nats,
    nats_monitor_port: int = Ports.nats_monitor,
    nats_route_port: int = Ports.nats_route,
    directory_port: int = Ports.directory,
    referrals_port: int = Ports.referrals,
    notifications_port: int = Ports.notifications,
    identity_port: int = Ports.identity,
    smtp_port: int = Ports.smtp,
    nats_cluster: Annotated[
        int, typer.Option(min=1, max=5, metavar="N", help="N nats-servers as one JetStream cluster")
    ] = 1,
    replicas: Annotated[
        int,
        typer.Option(
            min=1, max=4, metavar="N", help="N processes of each service (ports +10 each)"
        ),
    ] = 1,
) -> None:
    """Run everything on embedded PostgreSQL and NATS (Ctrl-C stops it)."""
    from bridges_devstack.stack import up as run_up

    values = locals()
    ports = Ports(**{name: values[f"{name}_port"] for name in asdict(Ports())})
    raise typer.Exit(run_up(run_dir, ports, nats_cluster=nats_cluster, replicas=replicas))


@app.command()
def token(
    user: Annotated[str | None, typer.Option(help="a demo user's id (badge-1234, ...)")] = None,
    role: Annotated[Role | None, typer.Option(help="the role's first demo user")] = None,
    run_dir: RunDir = kit_cli.DEFAULT_RUN_DIR,
    ttl_hours: float = 12,
) -> None:
    """An access token of a demo user of `bridges up`."""
    if (user is None) == (role is None):
        raise typer.BadParameter("give --user or --role")
    print(demo_token(run_dir, user, role.value if role else None, int(ttl_hours * 3600)))


def demo_token(run_dir: Path, user_id: str | None, role: str | None, ttl_s: int) -> str:
    """What the development provider of the `bridges up` in `run_dir` would issue `user_id` (or
    the first demo user holding `role`)."""
    from bridges_devstack import identity
    from bridges_devstack.demo import DEMO_USERS_NAME, read_demo_users

    stack_file, users_file = run_dir / "stack.json", run_dir / DEMO_USERS_NAME
    if not stack_file.exists() or not users_file.exists():
        raise SystemExit(f"no `bridges up` state in {run_dir}: run `make up` once")
    users = read_demo_users(users_file)
    chosen = next((u for u in users if u.id == user_id or u.role.value == role), None)
    if chosen is None:
        raise SystemExit(f"no demo user {user_id or role!r}: {', '.join(u.id for u in users)}")
    issuer = json.loads(stack_file.read_text())["identity"]["issuer"]
    return identity.access_token(issuer, (run_dir / DEV_KEY_NAME).read_text(), chosen, ttl_s)


def _target(ctx: typer.Context) -> Any:
    from bridges_devstack.ops.target import NoTarget, Target

    return kit_cli.refusing(lambda: _resolve(Target, NoTarget, ctx.meta["run_dir"]))


def _resolve(target: Any, refusal: type[Exception], run_dir: Path) -> Any:
    try:
        return target.resolve(os.environ, run_dir)
    except refusal as exc:
        raise ValueError(str(exc)) from None


@app.command("bus-secrets")
def bus_secrets(
    to: Annotated[Path, typer.Option(help="the deployment's secrets folder (deploy/secrets)")],
    host: Annotated[
        list[str] | None, typer.Option(help="a NATS node's name (repeat); default compose's")
    ] = None,
) -> None:
    """The bus's secrets for a deployment: each service's and ops' NKEY (kept once made), the
    server's users and grants (nats-users.conf, rewritten), its CA and its nodes' certificate."""
    for path in bus_users.deployment_secrets(to, host or bus_users.COMPOSE_NODES):
        print(f"{path}")


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check settings, PostgreSQL and migrations, NATS streams and consumers, the data-key
    ring, the identity provider, clock skew and disk; exit 1 on any failure."""
    from bridges_devstack.ops import doctor as checks

    findings = asyncio.run(checks.examine(_target(ctx)))
    current = kit_cli.session(ctx)
    if current.json:
        print(json.dumps(checks.as_json(findings), indent=2))
    else:
        table = Table(title="bridges doctor", show_lines=False)
        for column in ("", "what", "says", "what to do"):
            table.add_column(column, overflow="fold")
        for f in findings:
            table.add_row(MARK[f.status], f.area, f.says, f.fix)
        Console().print(table)
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(1)


@app.command()
def backup(
    ctx: typer.Context,
    to: Annotated[Path, typer.Option(help="where the backup folder is made")],
    keys_to: Annotated[
        Path, typer.Option(help="where the data-key ring goes: NOT beside the data")
    ],
) -> None:
    """Every database (pg_dump), the stream state to resume; the data-key ring kept apart."""
    from bridges_devstack.ops import backup as ops

    target = _target(ctx)
    _with_progress(
        ctx,
        "backing up",
        ops.steps(target),
        lambda step: ops.backup(target, to, keys_to, step),
        ops.BackupRefused,
    )


@app.command()
def restore(
    ctx: typer.Context,
    from_: Annotated[Path, typer.Option("--from", help="a backup folder (bridges-<time>)")],
    keys_from: Annotated[Path, typer.Option(help="the key ring kept apart with that backup")],
) -> None:
    """Restore every database and the stream state from a backup, with its own key ring."""
    from bridges_devstack.ops import backup as ops

    target = _target(ctx)
    _with_progress(
        ctx,
        "restoring",
        ops.steps(target),
        lambda step: ops.restore(target, from_, keys_from, step),
        ops.BackupRefused,
    )


def _with_progress(
    ctx: typer.Context, what: str, steps: list[str], work: Any, refusal: type[Exception]
) -> None:
    current = kit_cli.session(ctx)
    with kit_cli.progress(not current.json) as bar:
        task = bar.add_task(what, total=len(steps))

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"{what}: {name} done")

        try:
            result = asyncio.run(work(step))
        except refusal as exc:
            kit_cli.errors.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from None
    current.show(result, title=what)


def main(argv: list[str] | None = None) -> int:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); nothing depends on it.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        app(args=argv, prog_name="bridges")  # usage errors are said and exit 2, as click does
    except SystemExit as done:
        if isinstance(done.code, str):  # a refusal in words (`token` without `make up`)
            kit_cli.errors.print(done.code, markup=False, highlight=False)
            return 1
        return done.code or 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
