"""Load that is not the bottleneck: wrk (C, epoll) drives HTTP, pgbench drives raw SQL.

A Python client on this 2-core machine spends as much CPU as the service it measures; wrk and
pgbench spend a few percent. Both are bounded by duration, target 127.0.0.1 only, and print
nothing on success: the figures come back as `Figures` for `harness.report`.

    figures = wrk("POST /referrals", url + "/referrals", method="POST", body=json.dumps(intake),
                  headers={"Authorization": f"Bearer {token}"}, unique_header="Idempotency-Key")
    raw = pgbench_inserts(pg, database, "one INSERT per transaction")
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.figures import percentile
from bridges_devstack.servers import pg_bin

CONCURRENCY = 8
THREADS = 2  # one per core: wrk's threads each drive CONCURRENCY / THREADS connections
DURATION_S = 10


class LoadToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Figures:
    """What a duration-bounded run measured: wrk's or pgbench's own latency percentiles."""

    label: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return {50: self.p50_ms, 90: self.p90_ms, 99: self.p99_ms}[int(p)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "requests": self.requests,
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "mean_ms": round(self.mean_ms, 2),
            "errors": self.errors,
        }


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise LoadToolMissing(
            f"{name} is not installed: `apt-get install -y {name}` (make bench does)"
        )
    return found


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


# Each request gets the next of `paths` (round robin per thread); with `unique_header`, a value
# no other request of the run carries (thread id, counter), as an Idempotency-Key must be.
_SCRIPT = """
local paths = {paths}
local method, body, unique = {method}, {body}, {unique}
local headers = {headers}
local threads, thread_id, counter = {{}}, 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

function request()
  counter = counter + 1
  local h = {{}}
  for k, v in pairs(headers) do h[k] = v end
  if unique ~= "" then h[unique] = string.format("%s-%d-%d", "{prefix}", thread_id, counter) end
  return wrk.format(method, paths[(counter - 1) % #paths + 1], h, body ~= "" and body or nil)
end

{think}
function done(summary, latency, requests)
  io.write("BRIDGES-FIGURES ", string.format(
    '{{"requests": %d, "micros": %d, "p50": %d, "p90": %d, "p99": %d, "mean": %f, '
    .. '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def wrk(
    label: str,
    url: str,
    *,
    method: str = "GET",
    paths: Sequence[str] = (),
    body: str = "",
    headers: Mapping[str, str] | None = None,
    unique_header: str = "",
    concurrency: int = CONCURRENCY,
    duration_s: float = DURATION_S,
    think_ms: int = 0,
) -> Figures:
    """Closed-loop load on `url` (each of `paths` in turn, when given) for `duration_s`; with
    `think_ms`, each connection pauses that long between an answer and its next request."""
    split = urlsplit(url)
    if split.hostname != "127.0.0.1":
        raise ValueError("benchmarks target 127.0.0.1 only")
    base = f"{split.scheme}://{split.netloc}"
    all_paths = list(paths) or [split.path or "/"]
    all_headers = {**(headers or {})}
    if body:
        all_headers.setdefault("Content-Type", "application/json")
    script = _SCRIPT.format(
        paths="{" + ", ".join(_lua_string(p) for p in all_paths) + "}",
        method=_lua_string(method),
        body=_lua_string(body),
        unique=_lua_string(unique_header),
        headers="{"
        + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in all_headers.items())
        + "}",
        prefix=os.urandom(6).hex(),
        think=f"function delay() return {think_ms} end" if think_ms > 0 else "",
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        done = subprocess.run(
            [
                _tool("wrk"),
                f"--threads={min(THREADS, concurrency)}",
                f"--connections={concurrency}",
                f"--duration={max(1, round(duration_s))}s",
                "--timeout=30s",
                f"--script={file.name}",
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration_s + 60,
        )
    finally:
        Path(file.name).unlink()
    line = next(x for x in done.stdout.splitlines() if x.startswith("BRIDGES-FIGURES "))
    raw = json.loads(line.removeprefix("BRIDGES-FIGURES "))
    errors = sum(raw[k] for k in ("status", "connect", "read", "write", "timeout"))
    return Figures(
        label,
        raw["requests"],
        raw["micros"] / 1e6,
        raw["p50"] / 1000,
        raw["p90"] / 1000,
        raw["p99"] / 1000,
        raw["mean"] / 1000,
        errors,
    )


def pgbench(
    label: str,
    dsn: str,
    statements: str | Sequence[str],
    *,
    concurrency: int = CONCURRENCY,
    duration_s: float = DURATION_S,
) -> Figures:
    """`statements` (one pgbench transaction, `:client_id`/random variables allowed; or several,
    each transaction one of them at random) run by `concurrency` clients for `duration_s`, each
    transaction timed (pgbench --log)."""
    scripts = [statements] if isinstance(statements, str) else list(statements)
    with tempfile.TemporaryDirectory(prefix="bridges-pgbench-") as tmp:
        files = []
        for number, text in enumerate(scripts):
            script = Path(tmp) / f"transaction-{number}.sql"
            script.write_text(text)
            files.append(f"--file={script}@1")
        done = subprocess.run(
            [
                str(pg_bin() / "pgbench"),
                "--no-vacuum",
                f"--client={concurrency}",
                f"--jobs={min(THREADS, concurrency)}",
                f"--time={max(1, round(duration_s))}",
                *files,
                "--log",
                f"--log-prefix={tmp}/latency",
                dsn,
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,
            timeout=duration_s + 60,
        )
        latencies = sorted(
            int(line.split()[2]) / 1000
            for log in Path(tmp).glob("latency*")
            for line in log.read_text().splitlines()
        )
    count = len(latencies)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)

    return Figures(
        label,
        count,
        count / float(tps.group(1)) if tps else duration_s,
        percentile(latencies, 50),
        percentile(latencies, 90),
        percentile(latencies, 99),
        sum(latencies) / len(latencies),
        int(failed.group(1)) if failed else 0,
    )


# The raw baseline every intake figure is compared with: the same PostgreSQL, the same
# concurrency, one small INSERT per transaction (what a database round trip costs at best).
RAW_INSERT = """
INSERT INTO bench_raw (id, body) VALUES (gen_random_uuid(), '{"given_name": "Amara"}'::jsonb);
"""
RAW_INSERT_TABLE = "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, body jsonb)"
