"""The demo directory of fictional Alder County, loaded by `make up` (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridges_directory import catalog, dataset
from bridges_directory.seed import demo_county
from bridges_directory.uow import DirectoryUnitOfWork


def read_dataset(path: Path | None = None) -> dict[str, Any]:
    """A dataset file, or the built-in demo county when no path is given."""
    if path is None:
        return demo_county.build()
    data: dict[str, Any] = dataset.read_path(path)
    return data


async def load(uow: DirectoryUnitOfWork, path: Path | None = None) -> tuple[int, int]:
    """Load the dataset; returns (services in the file, services created or changed)."""
    report = await catalog.import_dataset(uow, read_dataset(path))
    return report.services, report.created + report.updated
