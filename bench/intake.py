"""Referral intake through HTTP (consent, idempotency, history, outbox, all in one transaction)
beside a raw baseline in the same run (one INSERT per transaction, same concurrency); then agency
inbox page latency with 10k and with 1M referrals in the database (keyset paging).

    .venv/bin/python -m bench.intake [--requests 400] [--sizes 10000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from bench import harness
from bridges_devstack.servers import free_port
from bridges_schema import Role

CONCURRENCY = 8
AGENCIES = 20


def _intake(program_id: uuid.UUID) -> dict[str, Any]:
    return {
        "client": {
            "given_name": "Amara",
            "family_name": "Diallo",
            "date_of_birth": "1988-04-02",
            "contact": {"phone": "+1 503 555 0142", "safe_to_leave_message": False},
            "household": [{"given_name": "Tomas", "relationship": "child", "age": 3}],
        },
        "needs": ["food.pantry"],
        "situation": "Lost job last month.",
        "urgency": "high",
        "program_ids": [str(program_id)],
        "consent": {
            "given_by": "client",
            "method": "verbal",
            "given_at": datetime.now(UTC).isoformat(),
            "scopes": ["contact", "needs"],
        },
    }


async def _add_program(pool: asyncpg.Pool, agency: uuid.UUID) -> uuid.UUID:
    program_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO program (service_id, version, name, organization_name, agency_id, status,
               accepting_referrals, capacity_status, taxonomy_codes)
           VALUES ($1, 1, 'Bench Pantry', 'Bench Org', $2, 'active', true, 'available',
                   '{food.pantry}')""",
        program_id,
        agency,
    )
    return program_id


async def intake_figures(url: str, pool: asyncpg.Pool, token: str, requests: int) -> list:
    program_id = await _add_program(pool, uuid.uuid4())
    body = _intake(program_id)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:

        async def file(i: int) -> None:
            response = await client.post(
                "/referrals", json=body, headers={"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
            )
            assert response.status_code == 201, response.text

        for i in range(20):
            await file(i)
        http = await harness.closed_loop(
            "POST /referrals (HTTP)", file, count=requests, concurrency=CONCURRENCY
        )
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, body jsonb)")
    payload = json.dumps(body)

    async def insert(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bench_raw (id, body) VALUES ($1, $2::text::jsonb)",
                uuid.uuid4(),
                payload,
            )

    raw = await harness.closed_loop(
        "raw INSERT per transaction", insert, count=requests, concurrency=CONCURRENCY
    )
    return [http, raw]


async def fill(pool: asyncpg.Pool, total: int, agency: uuid.UUID, program: uuid.UUID) -> float:
    """`total` referrals over AGENCIES agencies (one in AGENCIES is `agency`'s), in bulk."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO referral_case (id, officer_id, need_codes, urgency, created_at)
               SELECT gen_random_uuid(), 'bench-officer', '{food.pantry}', 'high',
                      now() - make_interval(mins => g)
               FROM generate_series(1, $1) AS g""",
            max(total // 10, 1),
        )
        await conn.execute(
            """INSERT INTO referral (id, case_id, program_id, agency_id, officer_id, status,
                   urgency, respond_by, created_at, updated_at)
               SELECT gen_random_uuid(), cases.ids[1 + g % cardinality(cases.ids)], $2,
                      CASE WHEN g % $4 = 0 THEN $3 ELSE gen_random_uuid() END, 'bench-officer',
                      (ARRAY['requested','received','accepted','in-progress','completed'])[1 + g % 5],
                      (ARRAY['emergency','high','routine'])[1 + g % 3],
                      now() + make_interval(hours => g % 72), now() - make_interval(secs => g),
                      now() - make_interval(secs => g)
               FROM generate_series(1, $1) AS g,
                    (SELECT array_agg(id) AS ids FROM referral_case) AS cases""",
            total,
            program,
            agency,
            AGENCIES,
        )
        await conn.execute("ANALYZE referral, referral_case")
    return time.perf_counter() - started


async def inbox_figures(url: str, token: str, label: str, pages: int = 30) -> list:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        cursors: list[str | None] = [None]
        for _ in range(pages):  # collect cursors deep into the inbox
            params: dict[str, Any] = {"limit": 50}
            if cursors[-1]:
                params["cursor"] = cursors[-1]
            page = (await client.get("/inbox", params=params)).json()
            cursors.append(page["next_cursor"])
        cursors = [c for c in cursors if c is not None or c is cursors[0]]

        async def newest(i: int) -> None:
            cursor = cursors[i % len(cursors)]
            params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            (await client.get("/inbox", params=params)).raise_for_status()

        async def filtered(i: int) -> None:
            params = {"limit": 50, "status": "requested", "sort": "due"}
            (await client.get("/inbox", params=params)).raise_for_status()

        return [
            await harness.closed_loop(
                f"inbox page, {label}", newest, count=300, concurrency=CONCURRENCY
            ),
            await harness.closed_loop(
                f"inbox requested by due, {label}", filtered, count=300, concurrency=CONCURRENCY
            ),
        ]


async def measure_size(
    infra: harness.Infra, url: str, database_url: str, size: int, requests: int | None
) -> tuple[list[harness.Figures], float]:
    """Intake figures (when `requests`), then inbox figures with `size` referrals stored."""
    rows: list[harness.Figures] = []
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=CONCURRENCY)
    try:
        if requests:
            rows += await intake_figures(url, pool, infra.token(Role.OFFICER), requests)
        agency = uuid.uuid4()
        program = await _add_program(pool, agency)
        seconds = await fill(pool, size, agency, program)
        staff = infra.token(Role.AGENCY_STAFF, agency_id=agency)
        rows += await inbox_figures(url, staff, f"{size // 1000}k referrals")
    finally:
        await pool.close()
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--sizes", default="10000,1000000")
    args = parser.parse_args()
    rows: list[harness.Figures] = []
    extra: dict[str, Any] = {"concurrency": CONCURRENCY}
    with harness.infrastructure() as infra:
        for index, size in enumerate(int(s) for s in args.sizes.split(",")):
            database_url = infra.database(f"bench_referrals_{size}")
            port = free_port()
            env = infra.service_env(
                database_url,
                port,
                BRIDGES_SLA_SWEEP_INTERVAL_S="3600",
                BRIDGES_RETENTION_SWEEP_INTERVAL_S="3600",
            )
            with harness.service(infra, "bridges_referrals", env, port) as url:
                requests = args.requests if index == 0 else None
                measured, seconds = asyncio.run(
                    measure_size(infra, url, database_url, size, requests)
                )
            rows += measured
            extra[f"fill_{size}_s"] = round(seconds, 1)
    http, raw = rows[0], rows[1]
    extra["intake_http_vs_raw"] = round(http.per_second / raw.per_second, 2)
    inbox = [r for r in rows if r.label.startswith("inbox page")]
    if len(inbox) == 2:
        extra["inbox_p99_ratio_1m_vs_10k"] = round(
            inbox[1].percentile(99) / inbox[0].percentile(99), 2
        )
    result = harness.report("Referral intake and inbox: concurrency 8", rows, extra)
    for key, value in result.items():
        if key not in {"title", "rows"}:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
