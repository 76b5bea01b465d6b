"""`python -m bridges_referrals [--json] [serve|migrate|dead-letters|purge|audit-verify|keys]`
(bridges_kit.cli); `keys status|rotate|add|activate` for the ring sealing families' data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from bridges_kit import sealing
from bridges_kit.cli import errors, progress, run, service_cli, session
from bridges_referrals import audit, audit_log, bootstrap, data_keys, privacy

app = service_cli(
    "bridges-referrals",
    bootstrap.build_runtime,
    bootstrap.build_app,
    help_text="Referral intake and lifecycle: its API, upkeep and the keys sealing family data.",
)
keys_app = typer.Typer(help="The keys sealing families' data: status, rotate, add, activate.")
app.add_typer(keys_app, name="keys")


@app.command("purge")
def purge(ctx: typer.Context) -> None:
    """Erase the client data of cases closed beyond the retention period."""
    current = session(ctx)
    retention = current.runtime.settings.retention()
    purged = current.database(lambda _: privacy.purge_all(current.runtime.uow, retention))
    if current.json:
        current.show({"purged_cases": purged, "retention_days": retention.days})
    else:
        print(f"purged client data of {purged} case(s) closed over {retention.days} days ago")


@app.command("audit-verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log's hash chain (exit 1 when it is broken)."""
    current = session(ctx)

    async def verify(pool: asyncpg.Pool) -> audit.Verification:
        async with pool.acquire() as conn:
            return await audit_log.verify(conn)

    result = current.database(verify)
    if current.json:
        current.show(
            {"ok": result.ok, "entries": result.entries, "first_bad_id": result.first_bad_id}
        )
    elif result.ok:
        print(f"audit log intact: {result.entries} entries")
    else:
        errors.print(
            f"audit log BROKEN at entry {result.first_bad_id}: {result.problem}", markup=False
        )
    if not result.ok:
        raise typer.Exit(1)


KeyFile = Annotated[
    Path | None, typer.Option("--file", help="the key file (default BRIDGES_DATA_KEY_FILE)")
]


def _refusing_keys(work: object) -> None:
    try:
        work()  # type: ignore[operator]
    except (sealing.KeyRingInvalid, data_keys.DataKeysMissing) as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _describe_usage(ctx: typer.Context, rotate: bool, batch: int) -> None:
    current = session(ctx)
    ring = current.runtime.settings.key_ring()

    async def work(pool: asyncpg.Pool) -> data_keys.Usage:
        if rotate:
            with progress(not current.json) as bar:
                task = bar.add_task(f"re-wrapping under {ring.active}", total=None)

                def advance(key_id: str, done: int, total: int) -> None:
                    bar.update(
                        task, description=f"{key_id} -> {ring.active}", completed=done, total=total
                    )

                done = await data_keys.rotate(pool, ring, batch, advance)
            if not current.json:
                print(f"re-wrapped {done.rewrapped} case key(s) under {ring.active!r}")
                print(f"re-indexed {done.reindexed} family name(s) under {ring.active!r}")
        async with pool.acquire() as conn:
            return await data_keys.usage(conn)

    usage = current.database(work)
    if current.json:
        current.show(
            {"active": ring.active, "keys": sorted(ring.keys), "usage": usage.describe(ring)}
        )
    else:
        print(usage.describe(ring))


@keys_app.command("status")
def keys_status(ctx: typer.Context) -> None:
    """How many cases each key still covers (an unused key may be removed)."""
    _refusing_keys(lambda: _describe_usage(ctx, rotate=False, batch=data_keys.BATCH))


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context, batch: int = data_keys.BATCH) -> None:
    """Re-wrap every case key under the active key (batches, resumable)."""
    _refusing_keys(lambda: _describe_usage(ctx, rotate=True, batch=batch))


def _edit_key_file(ctx: typer.Context, path: Path | None, ring_of: object) -> None:
    current = session(ctx)
    path = path or current.runtime.settings.data_key_file
    if path is None:
        raise sealing.KeyRingInvalid("which key file? pass --file or set BRIDGES_DATA_KEY_FILE")
    ring = ring_of(path)  # type: ignore[operator]
    sealing.write_key_file(path, ring)
    if current.json:
        current.show({"file": str(path), "keys": sorted(ring.keys), "active": ring.active})
    else:
        print(f"{path}: keys {', '.join(sorted(ring.keys))}; active {ring.active!r}")


@keys_app.command("add")
def keys_add(
    ctx: typer.Context,
    file: KeyFile = None,
    id_: Annotated[
        str | None, typer.Option("--id", help="the new key's id (default today)")
    ] = None,
    activate: Annotated[bool, typer.Option(help="new cases use it at once")] = False,
) -> None:
    """Add a new key to the ring (or make a new ring)."""

    def ring_of(path: Path) -> sealing.KeyRing:
        if path.exists():
            return sealing.read_key_file(path).with_new_key(id_, activate=activate)
        return sealing.new_key_ring(id_)

    _refusing_keys(lambda: _edit_key_file(ctx, file, ring_of))


@keys_app.command("activate")
def keys_activate(
    ctx: typer.Context,
    id_: Annotated[str, typer.Option("--id", help="the key new cases are sealed with")],
    file: KeyFile = None,
) -> None:
    """Make a key of the ring the one new cases use (then restart every replica)."""
    _refusing_keys(
        lambda: _edit_key_file(ctx, file, lambda path: sealing.read_key_file(path).activating(id_))
    )


def main(argv: list[str] | None = None) -> None:
    run(app, argv)


if __name__ == "__main__":
    main()
