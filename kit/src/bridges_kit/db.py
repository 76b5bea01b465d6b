"""The asyncpg pool and plain-SQL migrations applied in order under an advisory lock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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


def _server_settings(schema: str) -> dict[str, str]:
    return {"search_path": f"{schema},public", "application_name": "bridges"}


async def connect(dsn: str, schema: str = "public") -> asyncpg.Connection:
    """One connection outside the pool (LISTEN, migrations)."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn, server_settings=_server_settings(schema))
    return conn


async def create_pool(
    dsn: str, schema: str = "public", min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first, then public (where extensions live)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings=_server_settings(schema),
        command_timeout=60,
    )
    assert pool is not None
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
