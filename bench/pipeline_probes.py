"""What the pipeline benchmark samples while the load runs: the outboxes (rows not yet published,
the oldest one's age), JetStream consumers (pending, awaiting ack; nats-server's /jsz) and the
memory and CPU time of every process the benchmark started (its own descendants, psutil)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import psutil

from bench.figures import cpu_s

OUTBOX_LAG = """SELECT count(*) AS pending,
                       coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s
                FROM outbox WHERE published_at IS NULL"""


def _label(process: psutil.Process) -> str:
    """What a process is: `python -m <module>`'s module, else its program's name."""
    words = [w for w in process.cmdline() if w]
    if not words:
        return "?"
    if os.path.basename(words[0]).startswith("python") and "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    return os.path.basename(words[0].split(":")[0].split()[0])  # "postgres: writer" -> postgres


def descendants(root: int) -> dict[int, tuple[psutil.Process, str]]:
    """Every live process under `root` (and `root`), with its label."""
    top = psutil.Process(root)
    found: dict[int, tuple[psutil.Process, str]] = {}
    for process in [top, *top.children(recursive=True)]:
        try:
            found[process.pid] = (process, _label(process))
        except psutil.Error:
            continue  # gone meanwhile
    return found


@dataclass
class Processes:
    """Per label, over the sampling: peak memory (a lone process's peak sampled RSS; for a
    label with several processes, PostgreSQL's backends, the peak of their summed PSS, shared
    memory split between them rather than counted once each) and CPU seconds used (user +
    system, from the first sample on; a process born later counts from zero). Read through
    psutil."""

    root: int = field(default_factory=os.getpid)
    rss_kib: dict[str, int] = field(default_factory=dict)
    pss_kib: dict[str, int] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)
    first_cpu_s: dict[int, float] = field(default_factory=dict)
    last_cpu_s: dict[int, tuple[str, float]] = field(default_factory=dict)

    def sample(self) -> None:
        pss: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        first_sample = not self.last_cpu_s
        for pid, (process, label) in descendants(self.root).items():
            try:
                memory = process.memory_full_info()
                used = cpu_s(process)
            except psutil.Error:
                continue  # gone meanwhile
            self.rss_kib[label] = max(self.rss_kib.get(label, 0), memory.rss // 1024)
            pss[label] += memory.pss // 1024
            count[label] += 1
            self.first_cpu_s.setdefault(pid, used if first_sample else 0.0)
            self.last_cpu_s[pid] = (label, used)
        for label, kib in pss.items():
            self.pss_kib[label] = max(self.pss_kib.get(label, 0), kib)
            self.processes[label] = max(self.processes.get(label, 0), count[label])

    def cpu_s(self) -> dict[str, float]:
        used: dict[str, float] = defaultdict(float)
        for pid, (label, seconds) in self.last_cpu_s.items():
            used[label] += seconds - self.first_cpu_s[pid]
        return dict(used)

    def summary(self) -> dict[str, dict[str, Any]]:
        cpu = self.cpu_s()
        return {
            label: {
                "processes": self.processes[label],
                "peak_mb": round(
                    (self.rss_kib[label] if self.processes[label] == 1 else self.pss_kib[label])
                    / 1024,
                    1,
                ),
                "measure": "peak RSS" if self.processes[label] == 1 else "peak of summed PSS",
                "cpu_s": round(cpu.get(label, 0.0), 1),
            }
            for label in sorted(self.processes)
        }


@dataclass
class Sample:
    t: float  # Unix seconds
    outbox: dict[str, tuple[int, float]]  # database -> (pending rows, oldest pending age s)
    consumers: dict[str, tuple[int, int]]  # stream/consumer -> (num_pending, num_ack_pending)


async def consumers(client: httpx.AsyncClient, monitor_url: str) -> dict[str, tuple[int, int]]:
    answer = (await client.get(f"{monitor_url}/jsz", params={"consumers": "true"})).json()
    found: dict[str, tuple[int, int]] = {}
    for account in answer.get("account_details", []):
        for stream in account.get("stream_detail", []):
            for consumer in stream.get("consumer_detail", []) or []:
                key = f"{stream['name']}/{consumer['name']}"
                found[key] = (consumer["num_pending"], consumer["num_ack_pending"])
    return found


@dataclass
class Sampler:
    """Samples every `every_s` until stopped; `samples` and `processes` are what it saw."""

    databases: dict[str, str]  # name -> URL
    monitor_url: str
    every_s: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    processes: Processes = field(default_factory=Processes)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        connections = {name: await asyncpg.connect(url) for name, url in self.databases.items()}
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                while not self._stop.is_set():
                    started = time.time()
                    outbox = {}
                    for name, conn in connections.items():
                        row = await conn.fetchrow(OUTBOX_LAG)
                        outbox[name] = (int(row["pending"]), float(row["oldest_s"]))
                    pending = await consumers(client, self.monitor_url)
                    self.samples.append(Sample(started, outbox, pending))
                    if len(self.samples) % 2 == 1:  # /proc walks cost more: every other tick
                        await asyncio.to_thread(self.processes.sample)
                    elapsed = time.time() - started
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), max(0.0, self.every_s - elapsed))
        finally:
            for conn in connections.values():
                await conn.close()

    def stop(self) -> None:
        self._stop.set()
