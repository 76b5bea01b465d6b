"""Command-line plumbing every service's `__main__` uses: serve, migrate, dev tokens, and the
dead letters of its consumers."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from bridges_kit import dead_letters
from bridges_kit.logs import configure_logging
from bridges_kit.runtime import Runtime

AnyRuntime = Runtime[Any, Any]


def serve(app: FastAPI, runtime: AnyRuntime) -> None:
    """Serve until SIGINT/SIGTERM; then stop taking requests, finish in-flight work, exit."""
    s = runtime.settings
    uvicorn.run(
        app,
        host=s.http_host,
        port=s.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(s.shutdown_grace_s),
        lifespan="on",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the kit trusts the proxies
        # BRIDGES_TRUSTED_PROXIES names, and only for the client address
        proxy_headers=False,
    )


T = TypeVar("T")


def with_database(runtime: AnyRuntime, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run a one-off command's `work` on the migrated database, then close the pool."""

    async def run() -> T:
        pool = await runtime.open_database()
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def migrate(runtime: AnyRuntime) -> None:
    async def _run() -> None:
        pool = await runtime.open_database()
        await pool.close()

    asyncio.run(_run())


DEFAULT_RUN_DIR = Path(".bridges")


def print_json(result: Any) -> None:
    """Print a command's result (pydantic models, lists of them, plain values) as JSON."""
    if isinstance(result, list):
        result = [r.model_dump(mode="json") if isinstance(r, BaseModel) else r for r in result]
    elif isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    print(json.dumps(result, indent=2, default=str))


def run_and_print(runtime: AnyRuntime, work: Callable[[asyncpg.Pool], Awaitable[Any]]) -> None:
    """Run `work` on the database and print its result; a refusal is a plain message, exit 2."""
    try:
        result = with_database(runtime, work)
    except (LookupError, ValueError, RuntimeError) as exc:  # not found, bad input, failed again
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print_json(result)


def _dead_letter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "show", "replay"])
    parser.add_argument("--id", type=int, help="dead letter id (show, replay)")
    parser.add_argument("--consumer", help="only this consumer's (list)")
    parser.add_argument("--open", action="store_true", help="only those not replayed (list)")
    parser.add_argument("--limit", type=int, default=50)


def _dead_letters(runtime: AnyRuntime, args: argparse.Namespace) -> None:
    if args.action != "list" and args.id is None:
        raise SystemExit(f"dead-letters {args.action} needs --id")
    actions: dict[str, Callable[[asyncpg.Pool], Awaitable[Any]]] = {
        "list": lambda pool: dead_letters.list_letters(
            pool, consumer=args.consumer, replayed=False if args.open else None, limit=args.limit
        ),
        "show": lambda pool: dead_letters.get_letter(pool, args.id),
        "replay": lambda pool: dead_letters.replay(pool, runtime.dispatchers, args.id),
    }
    run_and_print(runtime, actions[args.action])


Command = Callable[[AnyRuntime, argparse.Namespace], None]


def service_main(
    prog: str,
    build_runtime: Callable[[], AnyRuntime],
    build_app: Callable[[AnyRuntime], FastAPI],
    argv: list[str] | None = None,
    *,
    extra: Mapping[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {},
) -> None:
    """`prog [serve|migrate|dead-letters|<extra>]`: the same command line for every service."""
    parser = argparse.ArgumentParser(prog=prog)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the HTTP API (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    extra = {
        "dead-letters": (
            "events this service's consumers parked: list, show, replay",
            _dead_letter_arguments,
            _dead_letters,
        ),
        **extra,
    }
    for name, (help_text, configure, _) in extra.items():
        configure(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    runtime = build_runtime()
    s = runtime.settings
    configure_logging(s.service_name, s.log_level, s.log_format)  # stderr: stdout is output
    if args.command == "migrate":
        migrate(runtime)
    elif args.command in extra:
        extra[args.command][2](runtime, args)
    else:
        serve(build_app(runtime), runtime)
