"""`python -m bridges_directory [--json] [serve|migrate|dead-letters|seed]` (bridges_kit.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from bridges_directory import bootstrap, catalog, seed
from bridges_directory.seed import generator
from bridges_kit.cli import progress, run, service_cli, session

app = service_cli(
    "bridges-directory",
    bootstrap.build_runtime,
    bootstrap.build_app,
    help_text="The program directory (HSDS 3.0): its API, migrations and data.",
)


@app.command("seed")
def seed_command(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option(help="an HSDS dataset file or folder (default: the demo county)")
    ] = None,
    generate: Annotated[
        int | None, typer.Option(metavar="N", help="a generated region of N services (benchmarks)")
    ] = None,
    random_seed: Annotated[int, typer.Option(help="with --generate")] = 7,
) -> None:
    """Load an HSDS dataset: all or nothing per part, again and again without duplicates."""
    current = session(ctx)
    if file is not None and generate is not None:
        raise typer.BadParameter("--file or --generate, not both")

    async def load(_: asyncpg.Pool) -> dict[str, int]:
        uow = current.runtime.uow
        if generate is None:
            with progress(not current.json) as bar:
                task = bar.add_task(f"importing {file or 'the demo county'}", total=1)
                total, changed = await seed.load(uow(), file)
                bar.update(task, completed=1)
            return {"services": total, "created_or_changed": changed}
        total = changed = 0
        with progress(not current.json) as bar:
            task = bar.add_task("seeding", total=generate)
            for part in generator.generate(generate, seed=random_seed):
                report = await catalog.import_dataset(uow(), part)
                total, changed = total + report.services, changed + report.created + report.updated
                bar.update(task, completed=total)
        return {"services": total, "created_or_changed": changed}

    result = current.database(load)
    if current.json:
        current.show(result)
    else:
        print(
            f"seeded {result['services']} services ({result['created_or_changed']} created or changed)"
        )


def main(argv: list[str] | None = None) -> None:
    run(app, argv)


if __name__ == "__main__":
    main()
