"""The asyncpg pool and plain-SQL migrations applied in order under an advisory lock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

_KIT_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6272_6964_6765  # "bridge": one lock id for every service's migrations


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A released connection is not reset beyond rolling back an open transaction (asyncpg
    does that first, always): nothing the services run leaves session state on a pooled
    connection (settings are SET LOCAL, advisory locks transaction-scoped, cursors inside
    transactions, LISTEN on connections of its own), and the default reset is a round trip
    per unit of work."""


def _server_settings(schema: str) -> dict[str, str]:
    return {
        "search_path": f"{schema},public",
        "application_name": "bridges",
        # a scan of a large table reads it from its first page, never from where another
        # scan is: the directory reads "the first programs" and means the same ones each time
        "synchronize_seqscans": "off",
    }


async def connect(dsn: str, schema: str = "public") -> asyncpg.Connection:
    """One connection outside the pool (LISTEN, migrations)."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn, server_settings=_server_settings(schema))
    return conn


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg ships no types
    """A pool whose every acquire (its own `fetch`/`execute` too) gives up after
    `acquire_timeout_s` with `TimeoutError`, an outage (503 with `Retry-After` over HTTP; a
    consumer waits and retries): with PostgreSQL saturated, a request is refused in seconds
    instead of queueing without end behind the pool (asyncpg's default waits forever)."""

    def __init__(self, *args: Any, acquire_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout_s = acquire_timeout_s
        self.waiting = 0  # acquisitions under way (the bridges_db_pool_waiting gauge)

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout_s if timeout is None else timeout)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's own)
        self.waiting += 1
        try:
            return await super()._acquire(timeout)
        finally:
            self.waiting -= 1


async def create_pool(
    dsn: str,
    schema: str = "public",
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout_s: float = 10.0,
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first, then public (where extensions live)."""
    pool = BoundedPool(
        dsn,
        acquire_timeout_s=acquire_timeout_s,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        reset=_nothing_to_reset,
        server_settings=_server_settings(schema),
        command_timeout=60,
    )
    await pool
    return pool


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(*folders: Path) -> list[Migration]:
    """The kit's own migrations, then each folder's `NNN_name.sql` files, in name order."""
    found: list[Migration] = []
    for folder in (_KIT_MIGRATIONS, *folders):
        for path in sorted(folder.glob("*.sql")):
            found.append(Migration(f"{folder.name}/{path.name}", path.read_text("utf-8")))
    return found


class MigrationDrift(RuntimeError):
    """An applied migration's file changed after it ran."""


async def migrate(dsn: str, schema: str, migrations: Iterable[Migration]) -> list[str]:
    """Apply pending migrations in `schema`; safe with many replicas starting at once."""
    conn = await connect(dsn, schema)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                r["name"]: r["checksum"]
                for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
            }
            for migration in migrations:
                if migration.name in done:
                    if done[migration.name] != migration.checksum:
                        raise MigrationDrift(f"{migration.name} changed after it was applied")
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                        migration.name,
                        migration.checksum,
                    )
                applied_now.append(migration.name)
                log.info("migration_applied", migration=migration.name, schema=schema)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    finally:
        await conn.close()
    return applied_now
