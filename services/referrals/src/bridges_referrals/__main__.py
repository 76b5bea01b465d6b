"""`python -m bridges_referrals [serve|migrate|token|dead-letters|purge|audit-verify|keys]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import asyncpg

from bridges_kit import sealing
from bridges_kit.cli import service_main, with_database
from bridges_referrals import audit, audit_log, bootstrap, data_keys, privacy


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def _purge(runtime: bootstrap.AnyReferralsRuntime, args: argparse.Namespace) -> None:
    retention = runtime.settings.retention()
    purged = with_database(runtime, lambda _: privacy.purge_all(runtime.uow, retention))
    print(f"purged client data of {purged} case(s) closed over {retention.days} days ago")


def _audit_verify(runtime: bootstrap.AnyReferralsRuntime, args: argparse.Namespace) -> None:
    async def verify(pool: asyncpg.Pool) -> audit.Verification:
        async with pool.acquire() as conn:
            return await audit_log.verify(conn)

    result = with_database(runtime, verify)
    if result.ok:
        print(f"audit log intact: {result.entries} entries")
        return
    print(f"audit log BROKEN at entry {result.first_bad_id}: {result.problem}", file=sys.stderr)
    raise SystemExit(1)


def _keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["status", "rotate", "add", "activate"])
    parser.add_argument(
        "--file", type=Path, help="add, activate: the key file (default BRIDGES_DATA_KEY_FILE)"
    )
    parser.add_argument("--id", help="add: the new key's id (default today's date); activate")
    parser.add_argument("--activate", action="store_true", help="add: new cases use it at once")
    parser.add_argument("--batch", type=int, default=data_keys.BATCH, help="rotate: cases each")


def _keys(runtime: bootstrap.AnyReferralsRuntime, args: argparse.Namespace) -> None:
    try:
        if args.action in ("add", "activate"):
            _edit_key_file(runtime, args)
            return
        ring = runtime.settings.key_ring()

        async def work(pool: asyncpg.Pool) -> data_keys.Usage:
            if args.action == "rotate":
                done = await data_keys.rotate(pool, ring, args.batch, _progress)
                print(f"re-wrapped {done.rewrapped} case key(s) under {ring.active!r}")
                print(f"re-indexed {done.reindexed} family name(s) under {ring.active!r}")
            async with pool.acquire() as conn:
                return await data_keys.usage(conn)

        print(with_database(runtime, work).describe(ring))
    except (sealing.KeyRingInvalid, data_keys.DataKeysMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _progress(key_id: str, done: int, total: int) -> None:
    print(f"{key_id}: {done} of {total} case key(s) re-wrapped", flush=True)


def _edit_key_file(runtime: bootstrap.AnyReferralsRuntime, args: argparse.Namespace) -> None:
    path = args.file or runtime.settings.data_key_file
    if path is None:
        raise sealing.KeyRingInvalid("which key file? pass --file or set BRIDGES_DATA_KEY_FILE")
    if args.action == "activate":
        if not args.id:
            raise sealing.KeyRingInvalid("keys activate needs --id")
        ring = sealing.read_key_file(path).activating(args.id)
    elif path.exists():
        ring = sealing.read_key_file(path).with_new_key(args.id, activate=args.activate)
    else:
        ring = sealing.new_key_ring(args.id)
    sealing.write_key_file(path, ring)
    print(f"{path}: keys {', '.join(sorted(ring.keys))}; active {ring.active!r}")


def main(argv: list[str] | None = None) -> None:
    service_main(
        "bridges-referrals",
        bootstrap.build_runtime,
        bootstrap.build_app,
        argv,
        extra={
            "purge": ("erase PII of cases closed beyond retention", _no_arguments, _purge),
            "audit-verify": ("check the audit log's hash chain", _no_arguments, _audit_verify),
            "keys": (
                "the keys sealing families' data: status, rotate, add, activate",
                _keys_arguments,
                _keys,
            ),
        },
    )


if __name__ == "__main__":
    main()
