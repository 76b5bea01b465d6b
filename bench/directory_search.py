"""Directory search on a generated region (20k, then 100k services): wrk drives `GET /services`
one query shape at a time (so the slow one shows), then the whole tablet mix; beside them, in
the same run, pgbench runs each shape's own SQL and wrk a trivial endpoint (`/healthz`).

    .venv/bin/python -m bench.directory_search [--sizes 20000,100000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from bench import harness
from bench.load import CONCURRENCY, Figures, pgbench, wrk
from bridges_devstack.servers import free_port
from bridges_directory.search_sql import SearchQuery, search_sql
from bridges_directory.seed import demo_county
from bridges_kit import db

TERMS = {t["code"]: UUID(t["id"]) for t in demo_county.build()["taxonomy_terms"]}
AT = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # a Wednesday, noon in the region
RANDOM_SEED = 7


@dataclass(frozen=True)
class Shape:
    label: str
    query: SearchQuery


def shapes(lat: float, lon: float) -> list[Shape]:
    """A tablet's mix, near (lat, lon): plain words, typos, a sentence, filters alone and
    combined, near me."""
    return [
        Shape(label, replace(query, limit=20))
        for label, query in [
            ("words", SearchQuery(text="food bank")),
            ("run-together words", SearchQuery(text="foodbank")),
            ("typo", SearchQuery(text="conseling")),
            ("sentence", SearchQuery(text="food bank for a family with a toddler spanish")),
            ("taxonomy", SearchQuery(taxonomy_term_id=TERMS["food"])),
            (
                "near me 10 km by distance",
                SearchQuery(lat=lat, lon=lon, radius_km=10, sort="distance"),
            ),
            ("language + age", SearchQuery(language="es", age=4)),
            ("open now", SearchQuery(open_at=AT)),
            ("accepting", SearchQuery(accepting=True)),
            ("words + open now", SearchQuery(text="shelter", open_at=AT)),
            (
                "words + near 25 km + accepting",
                SearchQuery(text="counseling", lat=lat, lon=lon, radius_km=25, accepting=True),
            ),
            (
                "taxonomy + open now + language",
                SearchQuery(taxonomy_term_id=TERMS["housing"], open_at=AT, language="vi"),
            ),
            ("words + accepting + age", SearchQuery(text="pantry", accepting=True, age=30)),
            ("listing by name, page 3", SearchQuery(sort="name", offset=40)),
        ]
    ]


def http_path(q: SearchQuery) -> str:
    names = {"text": "search", "limit": "per_page"}
    params = {
        names.get(k, k): (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in asdict(q).items()
        if v is not None and k not in {"offset", "sort"}
    }
    params["sort"] = q.sort
    params["page"] = q.offset // q.limit + 1
    return "/services?" + urlencode(
        {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    )


def sql_literal(value: Any) -> str:
    """A value as an SQL literal, for pgbench (which takes no bound parameters)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "ARRAY[" + ",".join(sql_literal(v) for v in value) + "]::text[]"
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, UUID):
        return f"'{value}'::uuid"
    return "'" + str(value).replace("'", "''") + "'"


def inline_sql(q: SearchQuery) -> str:
    sql, params = search_sql(q)
    for number in range(len(params), 0, -1):  # $12 before $1
        sql = sql.replace(f"${number}", sql_literal(params[number - 1]))
    return sql + ";\n"


def seed(infra: harness.Infra, database_url: str, size: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bridges_directory",
            "seed",
            "--generate",
            str(size),
            "--random-seed",
            str(RANDOM_SEED),
        ],
        env=infra.service_env(database_url, 0),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def near_me(database_url: str) -> tuple[float, float]:
    """Where an officer stands: the first program's first site, in a town (a region of any size
    has the same density of towns, so "near me" finds as much at 20k as at 100k)."""

    async def run() -> tuple[float, float]:
        conn = await db.connect(database_url)
        try:
            row = await conn.fetchrow(
                """SELECT l.latitude, l.longitude FROM service s
                   JOIN service_at_location sal ON sal.service_id = s.id
                   JOIN location l ON l.id = sal.location_id
                   WHERE l.earth IS NOT NULL ORDER BY s.id, sal.id LIMIT 1"""
            )
            return float(row["latitude"]), float(row["longitude"])
        finally:
            await conn.close()

    return asyncio.run(run())


def settle(database_url: str) -> int:
    """Mark the seeding's events published: the relay would otherwise publish them (100k of
    them at 100k services) while search is timed. Fresh statistics, as after any big import."""

    async def run() -> int:
        conn = await db.connect(database_url)
        try:
            done = await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE published_at IS NULL"
            )
            await conn.execute("VACUUM ANALYZE")
            return int(done.split()[-1])
        finally:
            await conn.close()

    return asyncio.run(run())


def measure(url: str, database_url: str, size: int, seconds: float) -> list[Figures]:
    tag = f"{size // 1000}k"
    mix = shapes(*near_me(database_url))
    paths = [http_path(s.query) for s in mix]
    # warm caches and plans; and refuse to time a shape that does not answer 200
    wrk(f"{tag} warm-up", url, paths=paths, duration_s=2)
    rows = [wrk(f"{tag} /healthz", url + "/healthz", duration_s=seconds)]
    for shape, path in zip(mix, paths, strict=True):
        rows.append(wrk(f"{tag} {shape.label}", url, paths=[path], duration_s=seconds))
        rows.append(
            pgbench(f"{tag}   raw SQL", database_url, inline_sql(shape.query), duration_s=seconds)
        )
    rows.append(wrk(f"{tag} whole mix", url, paths=paths, duration_s=seconds * 2))
    return rows


def print_table(title: str, rows: list[Figures]) -> None:
    print(f"\n{title}")
    header = f"{'':<42}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.label:<42}{row.per_second:>9.0f}{row.p50_ms:>9.1f}{row.p90_ms:>9.1f}"
            f"{row.p99_ms:>9.1f}{row.errors:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--seconds", type=float, default=3, help="per shape")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: dict[int, list[Figures]] = {}
    seeded: dict[int, float] = {}
    with harness.infrastructure() as infra:
        for size in sizes:
            database_url = infra.database(f"bench_directory_{size}")
            seeded[size] = seed(infra, database_url, size)
            print(f"seeded {size} services in {seeded[size]:.0f}s ({size / seeded[size]:.0f}/s)")
            print(f"marked {settle(database_url)} seeding events published")
            port = free_port()
            env = infra.service_env(database_url, port)
            with harness.service(infra, "bridges_directory", env, port) as url:
                rows[size] = measure(url, database_url, size, args.seconds)
    title = f"Directory search: each query shape, then the mix; wrk, concurrency {CONCURRENCY}"
    print_table(title, [r for size in sizes for r in rows[size]])
    result: dict[str, Any] = {
        "title": title,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "concurrency": CONCURRENCY,
        "seconds_per_shape": args.seconds,
        "seed_services_per_s": {str(k): round(k / v) for k, v in seeded.items()},
        "rows": [r.as_dict() for size in sizes for r in rows[size]],
    }
    if len(sizes) == 2:
        small, large = (rows[s] for s in sizes)
        ratios = {
            a.label.split(" ", 1)[1]: round(b.p99_ms / a.p99_ms, 2)
            for a, b in zip(small, large, strict=True)
            if "raw SQL" not in a.label
        }
        result["p99_ratio_large_vs_small"] = ratios
        print(f"\np99 ratio {sizes[1] // 1000}k / {sizes[0] // 1000}k:")
        for label, ratio in ratios.items():
            print(f"  {label:<40}{ratio:>6}")
    print(
        "seeding: "
        + ", ".join(f"{k}: {v} services/s" for k, v in result["seed_services_per_s"].items())
    )
    harness.RESULTS.mkdir(exist_ok=True)
    (harness.RESULTS / "directory_search.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
