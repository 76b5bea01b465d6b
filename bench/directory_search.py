"""Directory search through HTTP on a generated region (20k, then 100k services), beside the
same SQL issued directly with asyncpg in the same run.

    .venv/bin/python bench/directory_search.py [--sizes 20000,100000] [--requests 600]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx

from bench import harness
from bridges_devstack.servers import free_port
from bridges_directory.search_sql import SearchQuery, search_sql
from bridges_directory.seed import demo_county
from bridges_kit import db

TERMS = {t["code"]: UUID(t["id"]) for t in demo_county.build()["taxonomy_terms"]}
AT = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
CENTER = (45.2, -122.5)  # inside the generated region
CONCURRENCY = 8

# A tablet's mix: plain words, typos, a sentence, filters alone and combined, near me.
MIX = [
    SearchQuery(text="food bank"),
    SearchQuery(text="foodbank"),
    SearchQuery(text="conseling"),
    SearchQuery(text="food bank for a family with a toddler spanish"),
    SearchQuery(taxonomy_term_id=TERMS["food"]),
    SearchQuery(lat=CENTER[0], lon=CENTER[1], radius_km=10, sort="distance"),
    SearchQuery(language="es", age=4),
    SearchQuery(text="shelter", open_at=AT),
    SearchQuery(text="counseling", lat=CENTER[0], lon=CENTER[1], radius_km=25, accepting=True),
    SearchQuery(taxonomy_term_id=TERMS["housing"], open_at=AT, language="vi"),
    SearchQuery(text="pantry", accepting=True, age=30),
    SearchQuery(sort="name", offset=40),
]
MIX = [replace(q, limit=20) for q in MIX]


def http_params(q: SearchQuery) -> dict[str, Any]:
    names = {"text": "search", "limit": "per_page"}
    params = {
        names.get(k, k): (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in asdict(q).items()
        if v is not None and k not in {"offset", "sort"}
    }
    params["sort"] = q.sort
    params["page"] = q.offset // q.limit + 1
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


def load(infra: harness.Infra, database_url: str, size: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bridges_directory", "seed", "--generate", str(size)],
        env=infra.service_env(database_url, 0),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


async def measure(url: str, database_url: str, size: int, requests: int) -> list[harness.Figures]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def via_http(i: int) -> None:
            response = await client.get("/services", params=http_params(MIX[i % len(MIX)]))
            response.raise_for_status()

        for i in range(len(MIX) * 3):  # warm caches and plans
            await via_http(i)
        http = await harness.closed_loop(
            f"{size // 1000}k HTTP /services", via_http, count=requests, concurrency=CONCURRENCY
        )
    pool = await db.create_pool(database_url, "public", CONCURRENCY, CONCURRENCY)
    try:
        statements = [search_sql(q) for q in MIX]

        async def raw(i: int) -> None:
            sql, params = statements[i % len(statements)]
            await pool.fetch(sql, *params)

        for i in range(len(MIX) * 3):
            await raw(i)
        baseline = await harness.closed_loop(
            f"{size // 1000}k raw asyncpg (same SQL)", raw, count=requests, concurrency=CONCURRENCY
        )
    finally:
        await pool.close()
    return [http, baseline]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[harness.Figures] = []
    loads: dict[int, float] = {}
    with harness.infrastructure() as infra:
        for size in sizes:
            database_url = infra.database(f"bench_directory_{size}")
            loads[size] = load(infra, database_url, size)
            print(f"loaded {size} services in {loads[size]:.0f}s ({size / loads[size]:.0f}/s)")
            port = free_port()
            env = infra.service_env(database_url, port)
            with harness.service(infra, "bridges_directory", env, port) as url:
                rows += asyncio.run(measure(url, database_url, size, args.requests))
    extra: dict[str, Any] = {
        "concurrency": CONCURRENCY,
        "queries": len(MIX),
        "import_services_per_s": {str(k): round(k / v) for k, v in loads.items()},
    }
    http_rows = [r for r in rows if "HTTP" in r.label]
    if len(http_rows) == 2:
        extra["p99_ratio_large_vs_small"] = round(
            http_rows[1].percentile(99) / http_rows[0].percentile(99), 2
        )
    for http_row, raw_row in zip(rows[::2], rows[1::2], strict=True):
        extra[f"http_vs_raw_throughput_{http_row.label.split()[0]}"] = round(
            http_row.per_second / raw_row.per_second, 2
        )
    result = harness.report("Directory search: mixed queries, concurrency 8", rows, extra)
    for key, value in result.items():
        if key not in {"title", "rows"}:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
