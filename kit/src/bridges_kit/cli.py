"""The command line every service shares, as one typer tree per service:

    python -m bridges_<service> [--json] [serve]          the HTTP API (the default)
    python -m bridges_<service> [--json] migrate          apply the migrations and exit
    python -m bridges_<service> [--json] dead-letters list [--consumer C] [--open] [--limit N]
    python -m bridges_<service> [--json] dead-letters show --id N | replay --id N

and each service's own commands (`service_cli` returns the tree to add them to). `bridges`
(the ops CLI, bridges_devstack.cli) mounts the three trees as `bridges directory|referrals|
notifications ...`, so every command is reached the same way from both.

Output is for people (tables, progress bars: rich, on stdout; logs go to stderr) unless
`--json` is given, which prints the result as JSON for scripts. A refusal (not found, bad
input, failed again) is one line on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bridges_kit import dead_letters, http_server
from bridges_kit.logs import configure_logging
from bridges_kit.principal import CONSOLE
from bridges_kit.runtime import Runtime

AnyRuntime = Runtime[Any, Any]
T = TypeVar("T")
DEFAULT_RUN_DIR = Path(".bridges")
WIDE = 5  # columns a list shows as a table; wider items are shown one card each
REFUSALS = (LookupError, ValueError, RuntimeError)  # not found, bad input, failed again

console = Console()
errors = Console(stderr=True)


@dataclass
class Session:
    """One invocation: how to build the service's runtime (only when a command needs it) and
    whether the output is JSON."""

    build_runtime: Callable[[], AnyRuntime]
    json: bool = False
    _runtime: AnyRuntime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> AnyRuntime:
        if self._runtime is None:
            self._runtime = self.build_runtime()
            s = self._runtime.settings
            configure_logging(s.service_name, s.log_level, s.log_format)  # stderr
        return self._runtime

    def database(self, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        """Run `work` on the migrated database (a refusal: exit 2), then close the pool."""
        return refusing(lambda: with_database(self.runtime, work))

    def show(self, result: Any, *, title: str | None = None) -> None:
        """Print a command's result: JSON with --json, else a table (or the text itself)."""
        if self.json:
            print(json.dumps(plain(result), indent=2, default=str))
        else:
            render(result, title=title)


def session(ctx: typer.Context) -> Session:
    found: Session = ctx.find_object(Session)  # type: ignore[assignment]
    return found


def refusing(work: Callable[[], T]) -> T:
    try:
        return work()
    except REFUSALS as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def with_database(runtime: AnyRuntime, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run a one-off command's `work` on the migrated database, then close the pool."""

    async def run() -> T:
        pool = await runtime.open_database()
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def serve(app: FastAPI, runtime: AnyRuntime) -> None:
    """Serve until SIGINT/SIGTERM; then stop taking requests, finish in-flight work, exit."""
    settings = runtime.settings
    # room for every connection allowed, plus the pools, the bus and the logs
    http_server.allow_open_files(settings.http_max_connections + 256)
    # What importing and building the app made (modules, models, routes, the search lexicon)
    # lives as long as the process: out of the collector's sight, a full collection no longer
    # walks it (it took ~75 ms, every few hundred searches, and set every p99)
    gc.collect()
    gc.freeze()
    uvicorn.Server(http_server.server_config(app, settings)).run()


# -- output ------------------------------------------------------------------------------------


def plain(result: Any) -> Any:
    """Pydantic models (and lists of them) as JSON-ready values."""
    if isinstance(result, list):
        return [plain(r) for r in result]
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return "" if value is None else str(value)


def render(result: Any, *, title: str | None = None) -> None:
    value = plain(result)
    if isinstance(value, str):
        console.print(value, markup=False, highlight=False)
    elif isinstance(value, list):
        if not value:
            console.print(f"({title or 'none'}: nothing)")
            return
        rows = [r if isinstance(r, dict) else {"value": r} for r in value]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        if len(columns) > WIDE:  # too wide for a terminal: one card per item
            for n, row in enumerate(rows, 1):
                render(row, title=f"{title or 'item'} {n} of {len(rows)}")
            return
        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        console.print(table)
    elif isinstance(value, dict):
        table = Table(title=title, show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, item in value.items():
            table.add_row(str(key), _cell(item))
        console.print(table)
    else:
        console.print(str(value), markup=False)


@contextmanager
def progress(show: bool) -> Iterator[Progress]:
    """A rich progress display (on stderr, so stdout stays the result); silent when `show` is
    false (--json)."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )
    with bar:
        yield bar


# -- the tree ----------------------------------------------------------------------------------

JsonOption = Annotated[bool, typer.Option("--json", help="print results as JSON (for scripts)")]
LetterId = Annotated[int, typer.Option("--id", help="the dead letter's id")]


def service_cli(
    prog: str,
    build_runtime: Callable[[], AnyRuntime],
    build_app: Callable[[AnyRuntime], FastAPI],
    *,
    help_text: str,
) -> typer.Typer:
    """`prog [--json] [serve|migrate|dead-letters ...]`; add the service's own commands to it."""
    app = typer.Typer(
        name=prog,
        help=help_text,
        no_args_is_help=False,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback(invoke_without_command=True)
    def main(ctx: typer.Context, as_json: JsonOption = False) -> None:
        parent = ctx.find_object(Session)
        ctx.obj = Session(build_runtime, json=as_json or bool(parent and parent.json))
        if ctx.invoked_subcommand is None:
            serve_command(ctx)

    @app.command("serve")
    def serve_command(ctx: typer.Context) -> None:
        """Serve the HTTP API (the default)."""
        runtime = session(ctx).runtime
        serve(build_app(runtime), runtime)

    @app.command("migrate")
    def migrate_command(ctx: typer.Context) -> None:
        """Apply the database migrations and exit (compose runs this once before rollout)."""
        current = session(ctx)
        applied = current.database(_applied_migrations)
        current.show({"migrations_applied": applied}, title="migrations")

    app.add_typer(_dead_letters(), name="dead-letters")
    return app


async def _applied_migrations(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM schema_migrations")
    return count


def _dead_letters() -> typer.Typer:
    group = typer.Typer(help="Events this service's consumers parked: list, show, replay.")

    @group.command("list")
    def list_letters(
        ctx: typer.Context,
        consumer: Annotated[str | None, typer.Option(help="only this consumer's")] = None,
        only_open: Annotated[bool, typer.Option("--open", help="only those not replayed")] = False,
        limit: int = 50,
    ) -> None:
        current = session(ctx)
        letters = current.database(
            lambda pool: dead_letters.list_letters(
                pool, consumer=consumer, replayed=False if only_open else None, limit=limit
            )
        )
        current.show(letters, title="dead letters")

    @group.command("show")
    def show_letter(ctx: typer.Context, id_: LetterId) -> None:
        current = session(ctx)
        current.show(current.database(lambda pool: dead_letters.get_letter(pool, id_)))

    @group.command("replay")
    def replay_letter(ctx: typer.Context, id_: LetterId) -> None:
        """Apply a parked event again (after a fix)."""
        current = session(ctx)
        dispatchers = current.runtime.dispatchers
        current.show(
            current.database(lambda pool: dead_letters.replay_by(pool, dispatchers, id_, CONSOLE))
        )

    return group


def run(app: typer.Typer, argv: Sequence[str] | None = None) -> None:
    """Run a tree as a program (its exit code is the process's)."""
    app(args=list(argv) if argv is not None else None, prog_name=app.info.name)
