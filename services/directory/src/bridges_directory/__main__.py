"""`python -m bridges_directory [serve|migrate|token|seed]`."""

from __future__ import annotations

import argparse
from pathlib import Path

import asyncpg

from bridges_directory import bootstrap, catalog, seed
from bridges_directory.seed import generator
from bridges_kit.cli import service_main, with_database


def _seed_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, default=None, help="an HSDS dataset file or folder")
    source.add_argument(
        "--generate", type=int, metavar="N", help="a generated region of N services (benchmarks)"
    )
    parser.add_argument("--random-seed", type=int, default=7, help="with --generate")


def _seed(runtime: bootstrap.DirectoryRuntime, args: argparse.Namespace) -> None:
    async def load(_: asyncpg.Pool) -> tuple[int, int]:
        if args.generate is None:
            return await seed.load(runtime.uow(), args.file)
        total = changed = 0
        for part in generator.generate(args.generate, seed=args.random_seed):
            report = await catalog.import_dataset(runtime.uow(), part)
            total, changed = total + report.services, changed + report.created + report.updated
        return total, changed

    total, changed = with_database(runtime, load)
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
