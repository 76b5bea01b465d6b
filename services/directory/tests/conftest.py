from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI

from bridges_devstack.testing import RunningService
from bridges_directory import seed
from bridges_directory.bootstrap import DirectorySettings, build_app, build_runtime
from bridges_kit.runtime import Runtime


def build(env: dict[str, str]) -> tuple[FastAPI, Runtime]:
    runtime = build_runtime(DirectorySettings.from_env(env))
    return build_app(runtime), runtime


@pytest.fixture
def make_directory(
    services_factory: Callable[..., Awaitable[RunningService]], isolation: tuple[str, str]
) -> Callable[[str], Awaitable[RunningService]]:
    """Start another directory instance on its own schema (e.g. an import target)."""

    async def start(suffix: str) -> RunningService:
        schema, namespace = isolation
        return await services_factory(
            "directory", build, schema=f"{schema}_{suffix}", namespace=namespace
        )

    return start


@pytest.fixture
async def directory(
    services_factory: Callable[..., Awaitable[RunningService]], isolation: tuple[str, str]
) -> RunningService:
    schema, namespace = isolation
    return await services_factory("directory", build, schema=schema, namespace=namespace)


@pytest.fixture
async def seeded(directory: RunningService) -> RunningService:
    """The directory with the Alder County demo dataset loaded."""
    await seed.load(directory.runtime.uow())
    return directory
