"""`python -m bridges_directory [serve|migrate|seed]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bridges_directory import bootstrap, seed
from bridges_kit import cli


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bridges-directory")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the HTTP API (default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    seed_cmd = sub.add_parser("seed", help="load an HSDS dataset (default: the demo county)")
    seed_cmd.add_argument("--file", type=Path, default=seed.DEMO_COUNTY)
    args = parser.parse_args(argv)
    runtime = bootstrap.build_runtime()
    if args.command == "migrate":
        cli.migrate(runtime)
    elif args.command == "seed":
        total, changed = asyncio.run(_seed(runtime, args.file))
        print(f"seeded {total} services ({changed} created or changed)")
    else:
        cli.serve(bootstrap.build_app(runtime), runtime)


async def _seed(runtime: bootstrap.Runtime, path: Path) -> tuple[int, int]:
    pool = await runtime.open_database()
    try:
        return await seed.load(pool, runtime.streams, path)
    finally:
        await pool.close()


if __name__ == "__main__":
    main()
