"""Directory search at region and state scale (issue 22): a directory of ~20k services (the
demo county and a generated region) and one of ~120k (the demo county and a state-sized region,
as dense around any one place as the smaller one: `seed.generator`); wrk drives
`GET /services` one query shape at a time at concurrency 4, in rounds (every shape once per
round, so a noisy moment hits one round of each, not all of one), then the whole mix at
concurrency 8; the directories take turns round by round, both services up, so the ratio of
their p99s is the median of same-round ratios. Misspellings and sentences come from generated
lists (English and Spanish, `bridges_directory.seed.queries`), each request the next of the
list. Beside each shape, pgbench
runs the same search statements (typos already corrected, as the service caches them) with no
HTTP at all; and wrk a trivial endpoint (`/healthz`). A shape whose requests fail (any non-2xx,
timeout or socket error that wrk counts, or a pgbench failure) is refused: the run stops.

    .venv/bin/python -m bench.directory_search [--seconds 10] [--rounds 3] [--sizes 20k,120k]
    .venv/bin/python -m bench.directory_search --sizes 1k,3k --seconds 2 --rounds 2   # a check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from bench import harness
from bench.figures import median_ratio
from bench.load import Figures, pgbench, wrk
from bridges_devstack.servers import free_port
from bridges_directory import queries as directory_queries
from bridges_directory.corrections import Corrections
from bridges_directory.lexicon import LEXICON
from bridges_directory.matching import Concept
from bridges_directory.search_sql import SearchQuery, search_sql
from bridges_directory.seed import demo_county
from bridges_directory.seed import queries as generated
from bridges_kit import db

TERMS = {t["code"]: UUID(t["id"]) for t in demo_county.build()["taxonomy_terms"]}
AT = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # a Wednesday, noon in the region
SHAPE_CONCURRENCY = 4
MIX_CONCURRENCY = 8
GENERATED = 300  # misspellings and sentences each
PGBENCH_STATEMENTS = 20  # of a shape's queries, run by pgbench
MIX_PER_SHAPE = 10  # of a shape's queries, in the mix (each shape weighs the same)
RANDOM_SEED = 7
# A p99 needs about 100 answers past it to hold still: at concurrency 4 and a slow shape's
# 20-30 req/s on a loaded machine, 10 s a round; the spread over rounds shows how still it is.
SECONDS = 10


def sizes(text: str) -> dict[str, int]:
    """ "20k,120k" -> {"20k": 20000, "120k": 120000}: generated services beside the demo
    county in each directory measured."""
    found = {}
    for label in (part.strip() for part in text.split(",") if part.strip()):
        number = label.lower().removesuffix("k")
        if not number.isdigit():
            raise argparse.ArgumentTypeError(f"{label!r}: sizes are like 20k,120k")
        found[label] = int(number) * (1000 if label.lower().endswith("k") else 1)
    return found


class ShapeFailed(RuntimeError):
    """A shape's requests failed: its latency would not mean anything."""


@dataclass(frozen=True)
class Shape:
    label: str
    queries: list[SearchQuery]


def shapes(lat: float, lon: float, known: set[str]) -> list[Shape]:
    """The query shapes of issue 22, near (lat, lon)."""
    near = {"lat": lat, "lon": lon}
    misspelled = [SearchQuery(text=q.text) for q in generated.misspellings(GENERATED, known)]
    sentences = [
        SearchQuery(text=q.text) for q in generated.sentences(GENERATED) if len(q.text.split()) >= 4
    ]
    rows = [
        ("two words", [SearchQuery(text=t) for t in ("food bank", "family shelter", "legal aid")]),
        ("two words run together", [SearchQuery(text=t) for t in ("foodbank", "crisisline")]),
        ("one misspelled word", misspelled),
        ("a plain sentence", sentences),
        ("a word near a point, 10 km", [SearchQuery(text="pantry", radius_km=10, **near)]),
        (
            "near a point, 5 km, by distance",
            [SearchQuery(radius_km=5, sort="distance", **near)],
        ),
        ("language + age", [SearchQuery(language="es", age=4)]),
        ("open now near a point, 15 km", [SearchQuery(open_at=AT, radius_km=15, **near)]),
        ("accepting + a word", [SearchQuery(text="shelter", accepting=True)]),
        ("a word + language + open now", [SearchQuery(text="food", language="es", open_at=AT)]),
        (
            "two words, by relevance",
            [SearchQuery(text=t) for t in ("rent assistance", "family counseling")],
        ),
        ("a word near a point, 25 km", [SearchQuery(text="counseling", radius_km=25, **near)]),
    ]
    return [Shape(label, [replace(q, limit=20) for q in qs]) for label, qs in rows]


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


def inline_sql(
    q: SearchQuery, concepts: Sequence[Concept] | None, words_probe: bool = False
) -> str:
    sql, params = search_sql(q, concepts=concepts, words_probe=words_probe)
    for number in range(len(params), 0, -1):  # $12 before $1
        sql = sql.replace(f"${number}", sql_literal(params[number - 1]))
    return sql + ";\n"


def seed(infra: harness.Infra, database_url: str, generated: int) -> float:
    started = time.perf_counter()
    env = infra.service_env(database_url, 0)
    commands = [["seed"], ["seed", "--generate", str(generated), "--random-seed", str(RANDOM_SEED)]]
    for command in commands:
        subprocess.run(
            [sys.executable, "-m", "bridges_directory", *command],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


async def _prepare(database_url: str, mix: list[Shape]) -> dict[str, list[str]]:
    """Each shape's statements for pgbench, as the service runs them once settled: typos
    corrected, and common words read among the first programs where that finds the cap (a
    probe that came up short is not tried again for ten minutes)."""
    conn = await db.connect(database_url)
    try:
        corrections = Corrections(LEXICON)
        shares = directory_queries.WordShares()
        statements = {}
        for shape in mix:
            statements[shape.label] = []
            for q in shape.queries[:PGBENCH_STATEMENTS]:
                concepts = (
                    await directory_queries.resolve_words(conn, corrections, q.text)
                    if q.text
                    else None
                )
                found = (
                    await directory_queries.among_first_programs(conn, q, concepts, shares)
                    if concepts
                    else None
                )
                statements[shape.label].append(inline_sql(q, concepts, found is not None))
        return statements
    finally:
        await conn.close()


async def _place_and_vocabulary(database_url: str) -> tuple[float, float, set[str]]:
    """Where an officer stands (the first program's first site, in a town: a region of any
    size has the same density of towns), and the stems the directory knows."""
    conn = await db.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT l.latitude, l.longitude FROM service s
               JOIN service_at_location sal ON sal.service_id = s.id
               JOIN location l ON l.id = sal.location_id
               WHERE l.earth IS NOT NULL ORDER BY s.id, sal.id LIMIT 1"""
        )
        known = {r["stem"] for r in await conn.fetch("SELECT DISTINCT stem FROM search_word")}
        return float(row["latitude"]), float(row["longitude"]), known | LEXICON.stems
    finally:
        await conn.close()


def settle(database_url: str) -> int:
    """Mark the seeding's events published: the relay would otherwise publish them (120k of
    them) while search is timed. Fresh statistics, as after any big import."""

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


def _checked(figures: Figures) -> Figures:
    if figures.errors:
        raise ShapeFailed(f"{figures.label}: {figures.errors} failed requests; not timed")
    return figures


@dataclass(frozen=True)
class Measured:
    """One shape (or the mix) over the rounds: each round's wrk figures, and pgbench's."""

    label: str
    rounds: list[Figures]
    raw: Figures | None = None

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)

    @property
    def p99_spread(self) -> tuple[float, float]:
        return min(r.p99_ms for r in self.rounds), max(r.p99_ms for r in self.rounds)

    @property
    def per_second(self) -> float:
        return statistics.median(r.per_second for r in self.rounds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "p99_min_ms": round(self.p99_spread[0], 2),
            "p99_max_ms": round(self.p99_spread[1], 2),
            "per_second": round(self.per_second, 1),
            "rounds": [r.as_dict() for r in self.rounds],
            "raw_sql": self.raw.as_dict() if self.raw else None,
        }


@dataclass
class Directory:
    """One directory under its own service: its query shapes as paths and statements, and
    what its rounds measured."""

    tag: str
    url: str
    database_url: str
    mix: list[Shape]
    paths: dict[str, list[str]]
    statements: dict[str, list[str]]
    health: list[Figures] = field(default_factory=list)
    by_shape: dict[str, list[Figures]] = field(default_factory=dict)
    mixed: list[Figures] = field(default_factory=list)


def prepare(tag: str, url: str, database_url: str) -> Directory:
    lat, lon, known = asyncio.run(_place_and_vocabulary(database_url))
    mix = shapes(lat, lon, known)
    paths = {s.label: [http_path(q) for q in s.queries] for s in mix}
    statements = asyncio.run(_prepare(database_url, mix))
    every = [p for s in mix for p in paths[s.label]]
    _checked(wrk(f"{tag} warm-up", url, paths=every, duration_s=max(2, len(every) / 100)))
    return Directory(tag, url, database_url, mix, paths, statements)


def one_round(d: Directory, number: int, seconds: float) -> None:
    """Every shape once, then the mix: a round of `d`."""
    d.health.append(_checked(wrk(f"{d.tag} /healthz", d.url + "/healthz", duration_s=seconds)))
    for shape in d.mix:
        d.by_shape.setdefault(shape.label, []).append(
            _checked(
                wrk(
                    f"{d.tag} {shape.label} (round {number + 1})",
                    d.url,
                    paths=d.paths[shape.label],
                    concurrency=SHAPE_CONCURRENCY,
                    duration_s=seconds,
                )
            )
        )
    weighted = [
        d.paths[s.label][i % len(d.paths[s.label])] for s in d.mix for i in range(MIX_PER_SHAPE)
    ]
    d.mixed.append(
        _checked(
            wrk(
                f"{d.tag} whole mix (round {number + 1})",
                d.url,
                paths=weighted,
                concurrency=MIX_CONCURRENCY,
                duration_s=seconds * 2,
            )
        )
    )


def measured(d: Directory, seconds: float) -> list[Measured]:
    """Each shape over the rounds, with pgbench's run of its statements."""
    rows = [Measured("/healthz", d.health)]
    for shape in d.mix:
        raw = _checked(
            pgbench(
                f"{d.tag} {shape.label} raw SQL",
                d.database_url,
                d.statements[shape.label],
                concurrency=SHAPE_CONCURRENCY,
                duration_s=seconds,
            )
        )
        rows.append(Measured(shape.label, d.by_shape[shape.label], raw))
    rows.append(Measured("whole mix", d.mixed))
    return rows


def print_table(title: str, results: dict[str, list[Measured]]) -> None:
    print(f"\n{title}")
    tags = list(results)
    header = f"{'':<34}" + "".join(
        f"{tag + ' p50':>10}{tag + ' p99':>10}{'spread':>14}{'raw p99':>9}" for tag in tags
    )
    print(header)
    print("-" * len(header))
    for index, row in enumerate(results[tags[0]]):
        line = f"{row.label:<34}"
        for tag in tags:
            m = results[tag][index]
            low, high = m.p99_spread
            raw = f"{m.raw.p99_ms:.1f}" if m.raw else ""
            line += f"{m.p50_ms:>10.1f}{m.p99_ms:>10.1f}{f'{low:.0f}-{high:.0f}':>14}{raw:>9}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=SECONDS, help="per shape and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sizes", type=sizes, default=sizes("20k,120k"), help="generated services per directory"
    )
    args = parser.parse_args()
    seeded: dict[str, float] = {}
    with harness.infrastructure() as infra, contextlib.ExitStack() as services:
        directories = []
        for tag, generated in args.sizes.items():
            database_url = infra.database(f"bench_directory_{tag}")
            seeded[tag] = seed(infra, database_url, generated)
            print(f"seeded {tag} in {seeded[tag]:.0f}s", flush=True)
            print(f"marked {settle(database_url)} seeding events published", flush=True)
            port = free_port()
            env = infra.service_env(database_url, port)
            url = services.enter_context(harness.service(infra, "bridges_directory", env, port))
            directories.append(prepare(tag, url, database_url))
        # the sizes take turns round by round: a noisy moment weighs on one round of each, so
        # the ratio of the same round's figures is a fair one
        for number in range(args.rounds):
            for directory in directories:
                one_round(directory, number, args.seconds)
        results = {d.tag: measured(d, args.seconds) for d in directories}
    title = (
        f"Directory search: each shape at concurrency {SHAPE_CONCURRENCY}, the mix at "
        f"{MIX_CONCURRENCY}; median of {args.rounds} rounds of {args.seconds:g} s (p99 spread)"
    )
    print_table(title, results)
    tags = list(results)
    ratios: dict[str, float] = {}
    if len(tags) >= 2:  # the largest against the smallest, shape by shape (paired by round)
        small, large = results[tags[0]], results[tags[-1]]
        ratios = {
            a.label: round(
                median_ratio([r.p99_ms for r in b.rounds], [r.p99_ms for r in a.rounds]), 2
            )
            for a, b in zip(small, large, strict=True)
        }
        print(f"\np99 {tags[-1]} / {tags[0]}: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    harness.RESULTS.mkdir(exist_ok=True)
    result = {
        "title": title,
        **harness.run_facts(),
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "seeded_seconds": {k: round(v) for k, v in seeded.items()},
        "results": {tag: [m.as_dict() for m in rows] for tag, rows in results.items()},
        "p99_ratio_largest_vs_smallest (median of per-round ratios)": ratios,
    }
    (harness.RESULTS / "directory_search.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
