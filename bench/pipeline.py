"""The whole pipeline under load: officers file referrals (wrk, POST /referrals), the outbox
relay publishes, notifications delivers signed webhooks, the agency (its own process,
`bench.pipeline_agency`) accepts each one through the referrals API. Beside it, raw baselines from
the same run on the same servers: JetStream publish -> consume, one-INSERT transactions, GET /healthz.

Reports throughput, filed -> webhook and webhook -> accepted percentiles (referrals filed after
the warm-up), outbox lag and consumer pending (sampled), each process's peak memory; writes
bench/results/pipeline.json and the figure docs/img/pipeline.png.

    .venv/bin/python -m bench.pipeline [--duration 75] [--warmup 10] [--concurrency 8]
                                       [--think-ms 0] [--workers 8] [--figure docs/img/pipeline.png]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import harness, load, pipeline_baselines, pipeline_plot, pipeline_summary
from bench.pipeline_probes import Sampler
from bench.pipeline_summary import Record, Run
from bridges_devstack.servers import free_port
from bridges_schema import Role

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "img" / "pipeline.png"
DELIVERY_CONCURRENCY = 16  # notifications' webhooks in flight (all to the one agency here)


def intake_body(program_id: uuid.UUID) -> dict[str, Any]:
    return {
        "client": {
            "given_name": "Amara",
            "family_name": "Diallo",
            "date_of_birth": "1988-04-02",
            "contact": {"phone": "+1 503 555 0142", "safe_to_leave_message": False},
        },
        "needs": ["food.pantry"],
        "urgency": "high",
        "program_ids": [str(program_id)],
        "consent": {
            "given_by": "client",
            "method": "verbal",
            "given_at": datetime.now(UTC).isoformat(),
            "scopes": ["contact", "needs"],
        },
    }


async def prepare(
    infra: harness.Infra, referrals_db: str, notifications_url: str, agency: uuid.UUID, hook: str
) -> tuple[uuid.UUID, str]:
    """A program of `agency` in referrals' read-model; `agency`'s webhook endpoint at `hook`."""
    program_id = uuid.uuid4()
    conn = await asyncpg.connect(referrals_db)
    try:
        await conn.execute(
            """INSERT INTO program (service_id, version, name, organization_name, agency_id,
                   status, accepting_referrals, capacity_status, taxonomy_codes)
               VALUES ($1, 1, 'Bench Pantry', 'Bench Org', $2, 'active', true, 'available',
                       '{food.pantry}')""",
            program_id,
            agency,
        )
    finally:
        await conn.close()
    async with httpx.AsyncClient(base_url=notifications_url, timeout=10) as client:
        created = await client.post(
            f"/agencies/{agency}/endpoints",
            json={"url": hook},
            headers={"Authorization": f"Bearer {infra.token(Role.ADMIN)}"},
        )
        created.raise_for_status()
    return program_id, created.json()["secret"]


async def baselines(
    nats_url: str, raw_db: str, referrals_url: str, seconds: float
) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(raw_db)
    try:
        await conn.execute(load.RAW_INSERT_TABLE)
    finally:
        await conn.close()
    return [
        await pipeline_baselines.jetstream_round_trip(nats_url, seconds),
        await asyncio.to_thread(pipeline_baselines.pgbench_inserts, raw_db, seconds),
        await asyncio.to_thread(pipeline_baselines.trivial_endpoint, referrals_url, seconds),
    ]


async def _drain(agency_url: str, referrals_db: str, timeout_s: float) -> dict[str, int]:
    """Until every referral filed has arrived and been answered, or `timeout_s` passed."""
    conn = await asyncpg.connect(referrals_db)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=agency_url, timeout=5) as client:
        while True:
            # counted each time: requests in flight when wrk stopped still file their referral
            filed = int(await conn.fetchval("SELECT count(*) FROM referral"))
            progress = (await client.get("/progress")).json()
            answered = progress["accepted"] + progress["failed"]
            if progress["received"] >= filed and answered >= progress["received"]:
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
    await conn.close()
    return {"filed": filed, **progress}


async def run_pipeline(
    infra: harness.Infra,
    urls: dict[str, str],
    databases: dict[str, str],
    program_id: uuid.UUID,
    args: argparse.Namespace,
) -> Run:
    monitor = f"http://127.0.0.1:{infra.nats.monitor_port}"
    outboxes = {name: databases[name] for name in ("referrals", "notifications")}
    sampler = Sampler(outboxes, monitor)
    sampling = asyncio.create_task(sampler.run())
    await asyncio.sleep(1)  # a quiet sample or two first
    started = time.time()
    intake = await asyncio.to_thread(
        load.wrk,
        "POST /referrals, officers (wrk)",
        f"{urls['referrals']}/referrals",
        method="POST",
        body=json.dumps(intake_body(program_id)),
        headers={"Authorization": f"Bearer {infra.token(Role.OFFICER)}"},
        unique_header="Idempotency-Key",
        concurrency=args.concurrency,
        duration_s=args.duration,
        think_ms=args.think_ms,
    )
    load_ended = time.time()
    progress = await _drain(urls["agency"], databases["referrals"], args.drain_timeout)
    drained = time.time()
    await asyncio.sleep(1)
    sampler.stop()
    await sampling
    async with httpx.AsyncClient(base_url=urls["agency"], timeout=30) as client:
        records = [Record(*row) for row in (await client.get("/records")).json()]
    conn = await asyncpg.connect(databases["referrals"])
    try:
        created = [
            float(at)
            for (at,) in await conn.fetch("SELECT extract(epoch FROM created_at) FROM referral")
        ]
    finally:
        await conn.close()
    return Run(
        started=started,
        load_ended=load_ended,
        drained=drained,
        warmup_s=args.warmup,
        intake=intake,
        created=created,
        progress=progress,
        records=records,
        samples=sampler.samples,
        peak_memory=sampler.memory.peaks(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=75, help="seconds of load, warm-up in")
    parser.add_argument("--warmup", type=float, default=10, help="first seconds not measured")
    parser.add_argument("--baseline-duration", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=load.CONCURRENCY, help="officers")
    parser.add_argument(
        "--think-ms", type=int, default=0, help="each officer's pause between filings (0: none)"
    )
    parser.add_argument("--workers", type=int, default=8, help="agency accepts in flight")
    parser.add_argument("--drain-timeout", type=float, default=60)
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()
    args.warmup = min(args.warmup, args.duration / 3)
    with harness.infrastructure(nats_monitoring=True) as infra:
        databases = {
            "referrals": infra.database("bench_referrals"),
            "notifications": infra.database("bench_notifications"),
            "raw": infra.database("bench_raw"),
        }
        ports = {"referrals": free_port(), "notifications": free_port(), "agency": free_port()}
        referrals_env = infra.service_env(
            databases["referrals"],
            ports["referrals"],
            BRIDGES_SLA_SWEEP_INTERVAL_S="3600",
            BRIDGES_RETENTION_SWEEP_INTERVAL_S="3600",
        )
        notifications_env = infra.service_env(
            databases["notifications"],
            ports["notifications"],
            BRIDGES_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
            BRIDGES_DELIVERY_CONCURRENCY=str(DELIVERY_CONCURRENCY),
            BRIDGES_DELIVERY_PER_ENDPOINT=str(DELIVERY_CONCURRENCY),
        )
        agency = uuid.uuid4()
        hook = f"http://127.0.0.1:{ports['agency']}/hooks/bridges"
        with (
            harness.service(infra, "bridges_referrals", referrals_env, ports["referrals"]) as r,
            harness.service(
                infra, "bridges_notifications", notifications_env, ports["notifications"]
            ) as n,
        ):
            program_id, secret = asyncio.run(
                prepare(infra, databases["referrals"], n, agency, hook)
            )
            agency_env = {
                **os.environ,
                "BENCH_AGENCY_PORT": str(ports["agency"]),
                "BENCH_REFERRALS_URL": r,
                "BENCH_AGENCY_TOKEN": infra.token(Role.AGENCY_STAFF, agency_id=agency),
                "BENCH_AGENCY_SECRET": secret,
                "BENCH_AGENCY_WORKERS": str(args.workers),
            }
            with harness.service(infra, "bench.pipeline_agency", agency_env, ports["agency"]) as a:
                urls = {"referrals": r, "notifications": n, "agency": a}
                baseline_rows = asyncio.run(
                    baselines(infra.nats.url, databases["raw"], r, args.baseline_duration)
                )
                run = asyncio.run(run_pipeline(infra, urls, databases, program_id, args))
    report(run, baseline_rows, args)


def report(run: Run, baseline_rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    rows, throughput = pipeline_summary.rows(run)
    pace = f", {args.think_ms} ms apart" if args.think_ms else " back to back"
    title = (
        f"Pipeline: {args.concurrency} officers filing{pace} (wrk) -> signed webhooks -> agency "
        f"accepting; {args.duration:.0f} s of load, the first {args.warmup:.0f} s not measured"
    )
    pipeline_summary.print_table(title, rows, baseline_rows)
    progress = run.progress
    extra = {
        "throughput": throughput,
        **pipeline_summary.backlog(run),
        "peak_memory": run.peak_memory,
        "filed": progress["filed"],
        "webhooks_received": progress["received"],
        "accepted": progress["accepted"],
        "accept_failures": progress["failed"],
        "status_change_webhooks": progress["other"],
        "bad_signatures": progress["unsigned"],
        "drain_s": round(run.drained - run.load_ended, 1),
    }
    print()
    for key, value in extra.items():
        print(f"{key}: {value}")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    series = pipeline_summary.series(run)
    result = {
        "title": title,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "officers": args.concurrency,
            "think_ms": args.think_ms,
            "agency_workers": args.workers,
            "delivery_concurrency": DELIVERY_CONCURRENCY,
        },
        "rows": rows,
        "baselines": baseline_rows,
        **extra,
        "series": series,
    }
    harness.RESULTS.mkdir(exist_ok=True)
    (harness.RESULTS / "pipeline.json").write_text(json.dumps(result, indent=1) + "\n")
    pipeline_plot.draw(args.figure, series, f"{title}\n{result['date']}, {machine}")
    print(f"\nwrote {harness.RESULTS / 'pipeline.json'} and {args.figure}")


if __name__ == "__main__":
    main()
