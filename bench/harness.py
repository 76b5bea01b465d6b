"""What every benchmark shares: embedded servers on free ports, services as real processes,
a bounded closed-loop load generator and a figures table. Benchmarks target 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import percentile
from bridges_devstack.limits import LOCAL_RATE_LIMITS
from bridges_devstack.servers import EmbeddedNats, EmbeddedPostgres, free_port
from bridges_devstack.stack import wait_ready
from bridges_kit.auth import DEV_PUBLIC_KEY_NAME, ensure_dev_keypair, mint_token
from bridges_kit.sealing import DEV_KEY_FILE_NAME, ensure_key_file
from bridges_schema import Role

RESULTS = Path(__file__).parent / "results"
# Every benchmark's data fits in PostgreSQL's cache (the search bench's two directories, ~120k
# and ~20k programs, take ~700 MB), as on a production server given a quarter of its memory:
# otherwise reads copy pages from the OS cache and checksum them, and that is timed instead.
SHARED_BUFFERS = "1GB"


@dataclass
class Infra:
    run_dir: Path
    pg: EmbeddedPostgres
    nats: EmbeddedNats
    private_key: str

    def database(self, name: str) -> str:
        self.pg.create_database(name)
        return self.pg.url(name)

    def token(self, role: Role, **claims: Any) -> str:
        return mint_token(self.private_key, sub=f"bench-{role.value}", role=role, **claims)

    def service_env(self, database_url: str, port: int, **extra: str) -> dict[str, str]:
        return {
            **LOCAL_RATE_LIMITS,  # one client, a few tokens: production's limits would cap it
            **os.environ,
            "BRIDGES_DATABASE_URL": database_url,
            "BRIDGES_NATS_URL": self.nats.url,
            "BRIDGES_HTTP_PORT": str(port),
            "BRIDGES_JWT_PUBLIC_KEY_FILE": str(self.run_dir / DEV_PUBLIC_KEY_NAME),
            "BRIDGES_DATA_KEY_FILE": str(ensure_key_file(self.run_dir / DEV_KEY_FILE_NAME)),
            "BRIDGES_LOG_LEVEL": "warning",
            "BRIDGES_DB_POOL_MAX": "10",
            **extra,
        }


@contextlib.contextmanager
def infrastructure(*, nats_monitoring: bool = False) -> Iterator[Infra]:
    """With `nats_monitoring`, nats-server also serves /jsz (consumer pending) on `monitor_port`."""
    with tempfile.TemporaryDirectory(prefix="bridges-bench-") as tmp:
        run_dir = Path(tmp)
        private_path, _ = ensure_dev_keypair(run_dir)
        pg = EmbeddedPostgres(
            run_dir / "pg", free_port(), fast_and_unsafe=True, shared_buffers=SHARED_BUFFERS
        )
        monitor_port = free_port() if nats_monitoring else None
        nats = EmbeddedNats(run_dir / "nats", free_port(), monitor_port)
        pg.start()
        nats.start()
        try:
            yield Infra(run_dir, pg, nats, private_path.read_text())
        finally:
            nats.stop()
            pg.stop()


@contextlib.contextmanager
def service(infra: Infra, module: str, env: dict[str, str], port: int) -> Iterator[str]:
    """`python -m <module> serve` as its own process (as in production), until the block ends."""
    log = infra.run_dir / f"{module}-{port}.log"
    with open(log, "ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", module, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(module, port, child, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


@dataclass(frozen=True)
class Figures:
    label: str
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": self.requests,
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2),
        }


async def closed_loop(
    label: str, operation: Callable[[int], Awaitable[Any]], *, count: int, concurrency: int
) -> Figures:
    """Run `operation(i)` for i in range(count) with `concurrency` workers; time each call."""
    latencies: list[float] = []
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            await operation(index)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Figures(label, count, time.perf_counter() - started, latencies)


def run_facts() -> dict[str, Any]:
    """When, on what and by which command a run measured: what a quoted figure needs to be
    reproduced (keep a quoted run's JSON in bench/results/quoted/)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.orig_argv),
        "commit": commit or None,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "postgres_shared_buffers": SHARED_BUFFERS,
    }


def report(title: str, rows: list[Figures], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    print(f"\n{title}")
    header = f"{'':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        d = row.as_dict()
        print(
            f"{d['label']:<34}{d['per_second']:>10}{d['p50_ms']:>10}{d['p99_ms']:>10}"
            f"{d['mean_ms']:>10}"
        )
    result = {"title": title, **run_facts(), "rows": [r.as_dict() for r in rows], **(extra or {})}
    RESULTS.mkdir(exist_ok=True)
    name = title.lower().split(":")[0].replace(" ", "_")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
