"""`python -m bridges_referrals [serve|migrate|token|dead-letters|purge|audit-verify]`."""

from __future__ import annotations

import argparse
import sys

import asyncpg

from bridges_kit.cli import service_main, with_database
from bridges_referrals import audit, audit_log, bootstrap, privacy


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def _purge(runtime: bootstrap.ReferralsRuntime, args: argparse.Namespace) -> None:
    retention = runtime.settings.retention()
    purged = with_database(runtime, lambda _: privacy.purge_all(runtime.uow, retention))
    print(f"purged client data of {purged} case(s) closed over {retention.days} days ago")


def _audit_verify(runtime: bootstrap.ReferralsRuntime, args: argparse.Namespace) -> None:
    async def verify(pool: asyncpg.Pool) -> audit.Verification:
        async with pool.acquire() as conn:
            return await audit_log.verify(conn)

    result = with_database(runtime, verify)
    if result.ok:
        print(f"audit log intact: {result.entries} entries")
        return
    print(f"audit log BROKEN at entry {result.first_bad_id}: {result.problem}", file=sys.stderr)
    raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    service_main(
        "bridges-referrals",
        bootstrap.build_runtime,
        bootstrap.build_app,
        argv,
        extra={
            "purge": ("erase PII of cases closed beyond retention", _no_arguments, _purge),
            "audit-verify": ("check the audit log's hash chain", _no_arguments, _audit_verify),
        },
    )


if __name__ == "__main__":
    main()
