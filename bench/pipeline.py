"""The whole pipeline under load: officers file referrals (wrk, POST /referrals), the outbox
relay publishes, notifications delivers signed webhooks, the agency (its own process,
`bench.pipeline_agency`) accepts each one through the referrals API. Beside it, raw baselines from
the same run on the same servers: JetStream publish -> consume, one-INSERT transactions, GET /healthz.

Two phases, each drained before the next: officers filing back to back (the most the pipeline
takes in, and how its backlog grows when intake outruns delivery), then officers paced to about
half of the end-to-end rate the first phase reached (the latency of a pipeline that keeps up).
Each reports throughput, filed -> webhook and webhook -> accepted percentiles (referrals filed
after its warm-up), outbox lag and consumer pending (sampled), each process's peak memory and
CPU; writes bench/results/pipeline.json and the figure docs/img/pipeline.png.

    .venv/bin/python -m bench.pipeline [--duration 75] [--warmup 5] [--concurrency 8]
        [--paced-fraction 0.5 | --think-ms N] [--workers 8] [--figure docs/img/pipeline.png]
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
from bench.intake import NEED
from bench.pipeline_probes import OUTBOX_LAG, Sampler, consumers
from bench.pipeline_summary import Record, Run
from bridges_devstack.samples import intake_body
from bridges_devstack.servers import free_port
from bridges_referrals import need_codes
from bridges_referrals.repository import know_need_codes
from bridges_schema import Role

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "img" / "pipeline.png"
DELIVERY_CONCURRENCY = 16  # notifications' webhooks in flight (all to the one agency here)


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
                       ARRAY[$3])""",
            program_id,
            agency,
            NEED,
        )
        await know_need_codes(conn, need_codes.known_from([NEED]))  # as its event would
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


async def _drain(
    agency_url: str, databases: dict[str, str], monitor_url: str, timeout_s: float
) -> dict[str, Any]:
    """Until every referral filed has arrived and been answered, and nothing waits in an outbox
    or a consumer (the status changes accepting caused, delivered too), or `timeout_s` passed."""
    referrals = await asyncpg.connect(databases["referrals"])
    notifications = await asyncpg.connect(databases["notifications"])
    deadline = time.monotonic() + timeout_s
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                # counted each time: requests in flight when wrk stopped still file their referral
                filed = int(await referrals.fetchval("SELECT count(*) FROM referral"))
                progress = (await client.get(f"{agency_url}/progress")).json()
                answered = progress["accepted"] + progress["failed"]
                waiting = sum(sum(c) for c in (await consumers(client, monitor_url)).values())
                for conn in (referrals, notifications):
                    waiting += (await conn.fetchrow(OUTBOX_LAG))["pending"]
                drained = (
                    progress["received"] >= filed
                    and answered >= progress["received"]
                    and not waiting
                )
                if drained or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
    finally:
        await referrals.close()
        await notifications.close()
    return {"filed": filed, "drained": drained, **progress}


async def run_phase(
    infra: harness.Infra,
    urls: dict[str, str],
    databases: dict[str, str],
    program_id: uuid.UUID,
    args: argparse.Namespace,
    *,
    name: str,
    duration_s: float,
    think_ms: int,
) -> Run:
    """`duration_s` of officers filing (`think_ms` apart), sampled until drained."""
    monitor = f"http://127.0.0.1:{infra.nats.monitor_port}"
    outboxes = {name: databases[name] for name in ("referrals", "notifications")}
    sampler = Sampler(outboxes, monitor)
    sampling = asyncio.create_task(sampler.run())
    await asyncio.sleep(1)  # a quiet sample or two first
    started = time.time()
    intake = await asyncio.to_thread(
        pipeline_baselines.wrk,
        "POST /referrals, officers (wrk)",
        f"{urls['referrals']}/referrals",
        method="POST",
        body=json.dumps(intake_body([program_id])),
        headers={"Authorization": f"Bearer {infra.token(Role.OFFICER)}"},
        unique_header="Idempotency-Key",
        concurrency=args.concurrency,
        duration_s=duration_s,
        think_ms=think_ms,
    )
    load_ended = time.time()
    progress = await _drain(urls["agency"], databases, monitor, args.drain_timeout)
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
            for (at,) in await conn.fetch(
                "SELECT extract(epoch FROM created_at) FROM referral WHERE created_at >= $1",
                datetime.fromtimestamp(started, UTC),
            )
        ]
    finally:
        await conn.close()
    return Run(
        name=name,
        think_ms=think_ms,
        started=started,
        load_ended=load_ended,
        drained=drained,
        warmup_s=min(args.warmup, duration_s / 3),
        intake=intake,
        created=created,
        progress=progress,
        records=[r for r in records if r.filed >= started],  # this phase's referrals only
        samples=sampler.samples,
        processes=sampler.processes.summary(),
    )


async def both_phases(
    infra: harness.Infra,
    urls: dict[str, str],
    databases: dict[str, str],
    program_id: uuid.UUID,
    args: argparse.Namespace,
) -> list[Run]:
    back_to_back = await run_phase(
        infra,
        urls,
        databases,
        program_id,
        args,
        name="back to back",
        duration_s=args.duration * 0.4,
        think_ms=0,
    )
    think_ms = args.think_ms
    if think_ms is None:  # about `paced_fraction` of what went all the way through
        _, throughput = pipeline_summary.rows(back_to_back)
        ceiling = min(throughput["webhooks_per_s"], throughput["accepted_per_s"])
        think_ms = round(args.concurrency * 1000 / max(ceiling * args.paced_fraction, 0.5))
    paced = await run_phase(
        infra,
        urls,
        databases,
        program_id,
        args,
        name=f"paced, {think_ms} ms apart",
        duration_s=args.duration * 0.6,
        think_ms=think_ms,
    )
    return [back_to_back, paced]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=75, help="s of load, both phases")
    parser.add_argument("--warmup", type=float, default=5, help="first s of a phase not measured")
    parser.add_argument("--baseline-duration", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=load.CONCURRENCY, help="officers")
    parser.add_argument(
        "--paced-fraction",
        type=float,
        default=0.5,
        help="the paced phase's rate, as a fraction of the first phase's end-to-end rate",
    )
    parser.add_argument(
        "--think-ms", type=int, default=None, help="the paced phase's pause between filings"
    )
    parser.add_argument("--workers", type=int, default=8, help="agency accepts in flight")
    parser.add_argument(
        "--drain-timeout", type=float, default=240
    )  # a back-to-back backlog drains at the accept rate
    parser.add_argument("--figure", type=Path, default=FIGURE)
    args = parser.parse_args()
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
                runs = asyncio.run(both_phases(infra, urls, databases, program_id, args))
    report(runs, baseline_rows, args)


def phase_result(run: Run) -> dict[str, Any]:
    rows, throughput = pipeline_summary.rows(run)
    progress = run.progress
    low, high = run.window
    return {
        "name": run.name,
        "think_ms": run.think_ms,
        "load_s": round(run.load_ended - run.started, 1),
        "measured_s": round(high - low, 1),
        "rows": rows,
        "throughput": throughput,
        **pipeline_summary.backlog(run),
        "processes": pipeline_summary.per_referral(run.processes, len(run.created)),
        "filed": len(run.created),
        "webhooks_received": len(run.records),
        "accepted": sum(1 for r in run.records if r.ok),
        "drained": progress["drained"],
        "drain_s": round(run.drained - run.load_ended, 1),
    }


def report(runs: list[Run], baseline_rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    title = (
        f"Pipeline: {args.concurrency} officers filing (wrk) -> signed webhooks -> an agency "
        f"accepting; {args.duration:.0f} s of load in two phases"
    )
    phases = [phase_result(run) for run in runs]
    pipeline_summary.print_table(
        title,
        [
            (f"{p['name']} (first {r.warmup_s:.0f} s not measured)", p["rows"])
            for p, r in zip(phases, runs, strict=True)
        ],
        baseline_rows,
    )
    for phase in phases:
        pipeline_summary.print_phase(phase)
    last = runs[-1].progress
    totals = {
        "accept_failures": last["failed"],
        "status_change_webhooks": last["other"],
        "bad_signatures": last["unsigned"],
    }
    print(
        f"\nwhole run: {totals['status_change_webhooks']} status-change webhooks received too; "
        f"{totals['accept_failures']} accepts failed; {totals['bad_signatures']} bad signatures"
    )
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    date = datetime.now(UTC).isoformat(timespec="seconds")
    result = {
        "title": title,
        "date": date,
        "machine": machine,
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "officers": args.concurrency,
            "agency_workers": args.workers,
            "delivery_concurrency": DELIVERY_CONCURRENCY,
        },
        "phases": phases,
        "baselines": baseline_rows,
        **totals,
        "series": [pipeline_summary.series(run) for run in runs],
    }
    harness.RESULTS.mkdir(exist_ok=True)
    (harness.RESULTS / "pipeline.json").write_text(json.dumps(result, indent=1) + "\n")
    pipeline_plot.draw(
        args.figure, [pipeline_summary.series(run) for run in runs], f"{title}\n{date}, {machine}"
    )
    print(f"\nwrote {harness.RESULTS / 'pipeline.json'} and {args.figure}")


if __name__ == "__main__":
    main()
