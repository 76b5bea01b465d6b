"""Command-line plumbing every service's `__main__` uses: serve over HTTP, migrate."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from bridges_kit.runtime import Runtime


def serve(app: FastAPI, runtime: Runtime) -> None:
    """Serve until SIGINT/SIGTERM; then stop taking requests, finish in-flight work, exit."""
    s = runtime.settings
    uvicorn.run(
        app,
        host=s.http_host,
        port=s.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(s.shutdown_grace_s),
        lifespan="on",
    )


def migrate(runtime: Runtime) -> None:
    async def _run() -> None:
        pool = await runtime.open_database()
        await pool.close()

    asyncio.run(_run())
