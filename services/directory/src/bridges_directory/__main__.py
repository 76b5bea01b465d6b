"""`python -m bridges_directory [serve|migrate|token|seed]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bridges_directory import bootstrap, seed
from bridges_kit.cli import service_main
from bridges_kit.runtime import Runtime


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=None, help="an HSDS dataset JSON file")


def _seed(runtime: Runtime, args: argparse.Namespace) -> None:
    async def run() -> tuple[int, int]:
        pool = await runtime.open_database()
        try:
            return await seed.load(pool, runtime.streams, args.file)
        finally:
            await pool.close()

    total, changed = asyncio.run(run())
    print(f"seeded {total} services ({changed} created or changed)")


def main(argv: list[str] | None = None) -> None:
    service_main(
        "bridges-directory",
        bootstrap.build_runtime,
        bootstrap.build_app,
        argv,
        extra={"seed": ("load an HSDS dataset (default: the demo county)", _seed_arguments, _seed)},
    )


if __name__ == "__main__":
    main()
