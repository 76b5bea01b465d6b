"""The demo directory of fictional Alder County, loaded by `make up` (idempotent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from bridges_directory import catalog, hsds
from bridges_directory.seed import demo_county
from bridges_schema import Streams


def read_dataset(path: Path | None = None) -> dict[str, Any]:
    """A dataset file, or the built-in demo county when no path is given."""
    if path is None:
        return demo_county.build()
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def load(pool: asyncpg.Pool, streams: Streams, path: Path | None = None) -> tuple[int, int]:
    """Load the dataset; returns (services in the file, services created or changed)."""
    data = read_dataset(path)
    await catalog.load_taxonomy(
        pool,
        hsds.Taxonomy.model_validate(data["taxonomy"]),
        [hsds.TaxonomyTerm.model_validate(t) for t in data["taxonomy_terms"]],
    )
    changed = 0
    for raw in data["services"]:
        result = await catalog.upsert_service(pool, streams, hsds.Service.model_validate(raw))
        changed += result.changed
    return len(data["services"]), changed
