"""Referral intake through HTTP (consent, idempotency, case, referrals, history, outbox, all or
nothing) on both of its paths, each a service process of its own on the same database: in one
statement (new intakes for programs read lately) and reading first (BRIDGES_INTAKE_ONE_STATEMENT
=false); beside two raw baselines at the same concurrency: one INSERT per transaction from
pgbench (the engine's pace) and from asyncpg in a Python process (the best a Python service can
do). The paths and the baselines take turns round by round; every ratio is the median of the
per-round ratios. Then agency inbox page latency with 10k and with 1M referrals in the database
(keyset paging): newest first, least time left, by urgency, and a search by name (its blind
index) and by reference. Each row shows the family's label, opened from its sealed case, and a
page showing any is one audit entry. wrk and pgbench drive the load (`bench.load`).

    .venv/bin/python -m bench.intake [--duration 10] [--rounds 3] [--sizes 10000,1000000]
                                     [--profile intake.speedscope.json]

`--profile` records the service with py-spy (when on PATH) while wrk files referrals (the
first round of each path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from bench import harness, load
from bench.figures import child_running, cpu_s, median_ratio, paired_ratios, percentile
from bridges_devstack.samples import intake_body
from bridges_devstack.servers import free_port
from bridges_referrals import need_codes, references
from bridges_referrals.repository import know_need_codes
from bridges_schema import Role

NEED = "food.pantry"

CONCURRENCY = load.CONCURRENCY
AGENCIES = 20
WARM_UP = 50


async def _add_program(pool: asyncpg.Pool, agency: uuid.UUID) -> uuid.UUID:
    program_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO program (service_id, version, name, organization_name, agency_id, status,
               accepting_referrals, capacity_status, taxonomy_codes)
           VALUES ($1, 1, 'Bench Pantry', 'Bench Org', $2, 'active', true, 'available',
                   ARRAY[$3])""",
        program_id,
        agency,
        NEED,
    )
    async with pool.acquire() as conn:  # its event would make its needs known
        await know_need_codes(conn, need_codes.known_from([NEED]))
    return program_id


async def asyncpg_inserts(dsn: str, duration_s: float) -> load.Figures:
    """`load.RAW_INSERT` from CONCURRENCY asyncpg connections (one each, no pool) for
    `duration_s`: one round trip per transaction, as pgbench does it."""
    conns = [await asyncpg.connect(dsn) for _ in range(CONCURRENCY)]
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s

    async def client(conn: asyncpg.Connection) -> None:
        while (started := time.perf_counter()) < deadline:
            await conn.execute(load.RAW_INSERT)
            latencies.append((time.perf_counter() - started) * 1000)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(client(c) for c in conns))
        seconds = time.perf_counter() - began
    finally:
        for conn in conns:
            await conn.close()
    return load.Figures(
        "raw INSERT per tx, asyncpg",
        len(latencies),
        seconds,
        percentile(latencies, 50),
        percentile(latencies, 90),
        percentile(latencies, 99),
        sum(latencies) / len(latencies),
    )


def _start_profile(output: Path, duration_s: float) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        print("--profile: py-spy is not on PATH (pip install py-spy); not profiling")
        return None
    return subprocess.Popen(
        [
            py_spy,
            "record",
            f"--pid={child_running('bridges_referrals').pid}",
            "--format=speedscope",
            f"--duration={max(1, round(duration_s) - 1)}",
            f"--output={output}",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
    )


async def _warm_up(url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        for i in range(WARM_UP):
            response = await client.post(
                "/referrals",
                json=body,
                headers={"Idempotency-Key": f"warm-up-{i:04d}-{uuid.uuid4()}"},
            )
            assert response.status_code == 201, response.text


def _median_round(rounds: list[load.Figures]) -> load.Figures:
    """The round with the median rate (its own percentiles)."""
    return sorted(rounds, key=lambda r: r.per_second)[len(rounds) // 2]


async def intake_figures(
    services: dict[str, tuple[str, psutil.Process]],
    database_url: str,
    token: str,
    duration_s: float,
    rounds: int,
    profile: Path | None,
) -> tuple[list[load.Figures], dict[str, Any]]:
    """Each of `services` (label: its URL and process; all on `database_url`) filing intakes
    under wrk, and both raw baselines, in turn in each of `rounds` (the services' order
    alternating), so every ratio is of two figures from the same round."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        program_id = await _add_program(pool, uuid.uuid4())
        await pool.execute(load.RAW_INSERT_TABLE)
    finally:
        await pool.close()
    body = intake_body([program_id])
    headers = {"Authorization": f"Bearer {token}"}
    for url, _ in services.values():
        await _warm_up(url, headers, body)
    series: dict[str, list[load.Figures]] = {label: [] for label in services}
    series |= {"raw pgbench": [], "raw asyncpg": []}
    cpu = dict.fromkeys(services, 0.0)
    for number in range(rounds):
        labels = list(services) if number % 2 == 0 else list(reversed(services))
        for label in labels:
            url, process = services[label]
            profiler = (
                _start_profile(profile, duration_s) if profile and not series[label] else None
            )
            pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
            try:
                filed_before = await pool.fetchval("SELECT count(*) FROM referral")
                cpu_before = cpu_s(process)
                figures = load.wrk(
                    f"POST /referrals, {label}",
                    url + "/referrals",
                    method="POST",
                    body=json.dumps(body),
                    headers=headers,
                    unique_header="Idempotency-Key",
                    duration_s=duration_s,
                )
                cpu[label] += cpu_s(process) - cpu_before
                filed = await pool.fetchval("SELECT count(*) FROM referral") - filed_before
            finally:
                await pool.close()
            if profiler is not None:
                profiler.wait(timeout=60)
            assert figures.errors == 0, f"{figures.label}: {figures.errors} requests failed"
            # wrk counts the answers it read; requests cut off at the end may have been filed too
            assert filed >= figures.requests, (label, filed, figures.requests)
            series[label].append(figures)
        series["raw pgbench"].append(
            load.pgbench(
                "raw INSERT per tx, pgbench", database_url, load.RAW_INSERT, duration_s=duration_s
            )
        )
        series["raw asyncpg"].append(await asyncpg_inserts(database_url, duration_s))
    rate = {label: [f.per_second for f in runs] for label, runs in series.items()}
    extra: dict[str, Any] = {
        "rounds": rounds,
        "per_round_per_s": {k: [round(v, 1) for v in rates] for k, rates in rate.items()},
        "service_cpu_ms_per_intake": {
            label: round(cpu[label] * 1000 / sum(f.requests for f in series[label]), 2)
            for label in services
        },
    }
    for label in services:
        for raw in ("raw pgbench", "raw asyncpg"):
            key = f"{label} vs {raw} (median of per-round ratios)"
            extra[key] = round(median_ratio(rate[label], rate[raw]), 3)
    if len(services) == 2:
        first, second = services
        extra[f"{first} vs {second} (per round)"] = [
            round(r, 3) for r in paired_ratios(rate[first], rate[second])
        ]
        extra[f"{first} vs {second} (median of per-round ratios)"] = round(
            median_ratio(rate[first], rate[second]), 3
        )
        extra[f"{first} vs {second}, p99 (median of per-round ratios)"] = round(
            median_ratio([f.p99_ms for f in series[first]], [f.p99_ms for f in series[second]]),
            3,
        )
    return [_median_round(runs) for runs in series.values()], extra


# Random references collide in bulk (birthdays: ~2 in 10k, ~20k in 1M), which the service
# draws again one intake at a time; the fill gives row g the g-th of a permutation of all of
# them instead (7919 is coprime to 30^5), skipping the few the real intakes drew.
_DISTINCT_REFERENCE = "'BR-' || " + " || ".join(
    f"substr('{references.ALPHABET}', 1 + ((g::bigint * 7919) / {30**k} % 30)::int, 1)"
    for k in range(5)
)

CASES = 200  # real intakes (sealed client, consent) the filled referrals belong to


async def _real_cases(url: str, officer: str, program: uuid.UUID) -> list[str]:
    """CASES cases filed through the API: their families sealed, with a consent to share."""
    headers = {"Authorization": f"Bearer {officer}"}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:

        async def one(n: int) -> str:
            body = intake_body([program])
            body["client"] = {**body["client"], "given_name": f"Bench{n}"}
            answer = await client.post(
                "/referrals", json=body, headers={"Idempotency-Key": f"fill-{uuid.uuid4()}"}
            )
            answer.raise_for_status()
            return str(answer.json()["case_id"])

        found: list[str] = []
        for start in range(0, CASES, CONCURRENCY):
            batch = range(start, min(CASES, start + CONCURRENCY))
            found += await asyncio.gather(*(one(n) for n in batch))
        return found


async def fill(
    pool: asyncpg.Pool, total: int, agency: uuid.UUID, program: uuid.UUID, cases: list[str]
) -> float:
    """`total` referrals over AGENCIES agencies (one in AGENCIES is `agency`'s), in bulk, each
    of one of `cases` (real, sealed families), so an inbox page opens each row's family."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute(
            f"""INSERT INTO referral (id, case_id, program_id, agency_id, officer_id, status,
                   urgency, respond_by, created_at, updated_at, reference)
               SELECT gen_random_uuid(), ($5::uuid[])[1 + g % cardinality($5::uuid[])], $2,
                      CASE WHEN g % $4 = 0 THEN $3 ELSE gen_random_uuid() END, 'bench-officer',
                      (ARRAY['requested','received','accepted','in-progress','completed'])[1 + g % 5],
                      (ARRAY['emergency','high','routine'])[1 + g % 3],
                      now() + make_interval(hours => g % 72), now() - make_interval(secs => g),
                      now() - make_interval(secs => g), ({_DISTINCT_REFERENCE})
               FROM generate_series(1, $1) AS g
               ON CONFLICT (reference) DO NOTHING""",
            total,
            program,
            agency,
            AGENCIES,
            cases,
        )
        await conn.execute("ANALYZE referral, referral_case, family_name_token")
    return time.perf_counter() - started


async def _inbox_pages(url: str, headers: dict[str, str], pages: int = 30) -> list[str]:
    """Paths of the inbox's first `pages` pages (keyset cursors deep into it)."""
    paths = ["/inbox?limit=50"]
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        cursor: str | None = None
        for _ in range(pages):
            params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            cursor = (await client.get("/inbox", params=params)).json()["next_cursor"]
            if cursor is None:
                break
            paths.append(str(httpx.URL("/inbox", params={"limit": 50, "cursor": cursor})))
    return paths


async def inbox_figures(
    url: str, token: str, label: str, duration_s: float
) -> tuple[list[load.Figures], dict[str, float]]:
    """Each inbox query under wrk, and the service's CPU per request for each (ms)."""
    headers = {"Authorization": f"Bearer {token}"}
    pages = await _inbox_pages(url, headers)
    waiting = "/inbox?limit=25&status=requested&status=received&sort=due"  # what the app polls
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        first = (await client.get("/inbox", params={"limit": 1})).json()["items"][0]
        etag = (await client.get(waiting)).headers["etag"]
    polled = {**headers, "If-None-Match": etag}
    queries: list[tuple[str, str, list[str], dict[str, str]]] = [
        ("inbox page", "/inbox", pages, headers),
        ("inbox requested+due", "/inbox?limit=50&status=requested&sort=due", [], headers),
        ("inbox poll, nothing new (304)", waiting, [], polled),
        (
            "inbox by urgency",
            "/inbox?limit=50&status=requested&status=received&sort=urgency",
            [],
            headers,
        ),
        ("inbox name search", "/inbox?limit=50&q=bench7%20diallo&sort=due", [], headers),
        ("inbox reference search", f"/inbox?limit=50&q={first['reference']}", [], headers),
    ]
    service = child_running("bridges_referrals")
    rows, cpu_ms = [], {}
    for name, path, paths, sent in queries:
        before = cpu_s(service)
        row = load.wrk(
            f"{name}, {label}", url + path, paths=paths, headers=sent, duration_s=duration_s
        )
        assert row.errors == 0, f"{row.label}: {row.errors} errors"
        cpu_ms[row.label] = round((cpu_s(service) - before) * 1000 / row.requests, 2)
        rows.append(row)
    return rows, cpu_ms


async def inbox_at_size(
    infra: harness.Infra, url: str, database_url: str, size: int, duration_s: float
) -> tuple[list[load.Figures], dict[str, float], float]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        agency = uuid.uuid4()
        program = await _add_program(pool, agency)
        cases = await _real_cases(url, infra.token(Role.OFFICER), program)
        seconds = await fill(pool, size, agency, program, cases)
    finally:
        await pool.close()
    staff = infra.token(Role.AGENCY_STAFF, agency_id=agency)
    label = f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"
    rows, cpu_ms = await inbox_figures(url, staff, f"{label} referrals", duration_s)
    return rows, cpu_ms, seconds


# The intake paths compared in one run: each a service process of its own on the same database.
PATHS = {"one statement": {}, "read first": {"BRIDGES_INTAKE_ONE_STATEMENT": "false"}}


def _intake_run(
    infra: harness.Infra, database_url: str, args: argparse.Namespace
) -> tuple[list[load.Figures], dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        services = {}
        for label, settings in PATHS.items():
            port = free_port()
            env = infra.service_env(database_url, port, **_QUIET_WORKERS, **settings)
            url = stack.enter_context(harness.service(infra, "bridges_referrals", env, port))
            services[label] = (url, child_running("bridges_referrals", port))
        return asyncio.run(
            intake_figures(
                services,
                database_url,
                infra.token(Role.OFFICER),
                args.duration,
                args.rounds,
                args.profile,
            )
        )


_QUIET_WORKERS = {
    "BRIDGES_SLA_SWEEP_INTERVAL_S": "3600",
    "BRIDGES_RETENTION_SWEEP_INTERVAL_S": "3600",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=load.DURATION_S, help="seconds per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="intake: paths and baselines alternate"
    )
    parser.add_argument("--sizes", default="10000,1000000", help="inbox sizes; '' for none")
    parser.add_argument("--profile", type=Path, help="py-spy speedscope output of an intake run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[load.Figures] = []
    extra: dict[str, Any] = {"concurrency": CONCURRENCY, "duration_s": args.duration}
    with harness.infrastructure() as infra:
        measured, intake_extra = _intake_run(infra, infra.database("bench_intake"), args)
        rows += measured
        extra |= intake_extra
        for size in sizes:
            database_url = infra.database(f"bench_referrals_{size}")
            port = free_port()
            env = infra.service_env(database_url, port, **_QUIET_WORKERS)
            with harness.service(infra, "bridges_referrals", env, port) as url:
                measured, cpu_ms, seconds = asyncio.run(
                    inbox_at_size(infra, url, database_url, size, args.duration)
                )
                rows += measured
                extra[f"fill_{size}_s"] = round(seconds, 1)
                extra.setdefault("service_cpu_ms_per_request", {}).update(cpu_ms)
    inbox = [r for r in rows if r.label.startswith("inbox page")]
    if len(inbox) == 2:
        extra["inbox_p99_ratio_1m_vs_10k"] = round(
            inbox[1].percentile(99) / inbox[0].percentile(99), 2
        )
    result = harness.report("Referral intake and inbox: concurrency 8", rows, extra)  # type: ignore[arg-type]
    for key, value in result.items():
        if key not in {"title", "rows"}:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
