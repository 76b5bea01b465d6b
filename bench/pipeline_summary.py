"""What a pipeline run comes to: per-stage latency rows over the measured window (after the
warm-up, until the load stops), throughput, outbox and consumer backlog, peak memory, and the
per-second series the figure draws."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from bench import load
from bench.pipeline_baselines import latency_row, tool_row
from bench.pipeline_probes import Sample


class Record(NamedTuple):
    """One referral as the agency saw it (Unix seconds): filed, its webhook arrived, the agency
    asked to accept it (once one of its workers was free), the answer came; status is the
    answer's."""

    referral_id: str
    filed: float
    arrived: float
    asked: float | None
    accepted: float | None
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.accepted is not None


@dataclass(frozen=True)
class Run:
    """One phase of the run."""

    name: str
    think_ms: int
    started: float  # the load's start, Unix seconds
    load_ended: float
    drained: float  # every referral filed arrived and was answered (or the drain timed out)
    warmup_s: float
    intake: load.Figures
    created: list[float]  # each referral's created time, from the referrals database
    progress: dict[str, int]  # the agency's counters
    records: list[Record]
    samples: list[Sample]
    processes: dict[str, dict[str, Any]]  # label -> peak memory, CPU seconds

    @property
    def window(self) -> tuple[float, float]:
        return self.started + self.warmup_s, self.load_ended

    def rate(self, times: Iterable[float | None]) -> float:
        """How many of `times` fall in the measured window, per second."""
        low, high = self.window
        return round(sum(1 for t in times if t is not None and low <= t < high) / (high - low), 1)


def rows(run: Run) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The stage rows (referrals filed in the window) and the window's throughput."""
    low, high = run.window
    measured = [r for r in run.records if low <= r.filed < high]
    accepted = [r for r in measured if r.ok]
    seconds = high - low
    throughput = {
        "filed_per_s": run.rate(run.created),
        "webhooks_per_s": run.rate(r.arrived for r in run.records),
        "accepted_per_s": run.rate(r.accepted for r in run.records if r.ok),
    }
    stages = [
        latency_row(
            "filed -> webhook received", [(r.arrived - r.filed) * 1000 for r in measured], seconds
        ),
        latency_row(
            "webhook -> accepted (agency API)",
            [(r.accepted - r.arrived) * 1000 for r in accepted if r.accepted],
            seconds,
        ),
        latency_row(
            "  of which the accept call itself",
            [(r.accepted - r.asked) * 1000 for r in accepted if r.accepted and r.asked],
            seconds,
        ),
        latency_row(
            "filed -> accepted",
            [(r.accepted - r.filed) * 1000 for r in accepted if r.accepted],
            seconds,
        ),
    ]
    # a stage's rate: how many it completed per second of the window, not how many were filed
    stages[0]["per_second"] = throughput["webhooks_per_s"]
    for stage in stages[1:]:
        stage["per_second"] = throughput["accepted_per_s"]
    return [tool_row(run.intake), *stages], throughput


def backlog(run: Run) -> dict[str, Any]:
    """Outbox rows not yet published and consumer messages not yet acknowledged, under load."""
    low, high = run.window
    during = [s for s in run.samples if low <= s.t < high] or run.samples
    outboxes = {
        database: {
            "max_pending": max(s.outbox[database][0] for s in during),
            "mean_pending": round(statistics.fmean(s.outbox[database][0] for s in during), 1),
            "max_oldest_age_ms": round(max(s.outbox[database][1] for s in during) * 1000, 1),
        }
        for database in (during[0].outbox if during else {})
    }
    names = sorted({name for s in run.samples for name in s.consumers})
    consumers = {
        name: {
            "max_pending": max(s.consumers.get(name, (0, 0))[0] for s in during),
            "max_ack_pending": max(s.consumers.get(name, (0, 0))[1] for s in during),
            "mean_waiting": round(
                statistics.fmean(sum(s.consumers.get(name, (0, 0))) for s in during), 1
            ),
        }
        for name in names
    }
    return {"outboxes": outboxes, "consumers": consumers}


def _per_second(pairs: Iterable[tuple[float, float]], started: float) -> dict[str, list[Any]]:
    """p50 and p99 of (when, latency ms) pairs, per whole second since `started`."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for when, latency in pairs:
        buckets[int(when - started)].append(latency)
    seconds = sorted(buckets)
    figures = [latency_row("", buckets[s], 1) for s in seconds]
    return {
        "t": [s + 0.5 for s in seconds],
        "p50_ms": [f["p50_ms"] for f in figures],
        "p99_ms": [f["p99_ms"] for f in figures],
    }


def _counts(times: Iterable[float | None], started: float, span: int) -> list[int]:
    counts = [0] * span
    for when in times:
        if when is not None and 0 <= int(when - started) < span:
            counts[int(when - started)] += 1
    return counts


def series(run: Run) -> dict[str, Any]:
    """What `pipeline_plot.draw` draws, in seconds since the load started."""
    start, span = run.started, int(run.drained - run.started) + 2
    consumers = {
        name: [sum(s.consumers.get(name, (0, 0))) for s in run.samples]
        for name in sorted({name for s in run.samples for name in s.consumers})
    }
    return {
        "name": run.name,
        "warmup_s": run.warmup_s,
        "load_s": round(run.load_ended - start, 2),
        "filed_to_webhook": _per_second(
            ((r.filed, (r.arrived - r.filed) * 1000) for r in run.records), start
        ),
        "webhook_to_accepted": _per_second(
            ((r.arrived, (r.accepted - r.arrived) * 1000) for r in run.records if r.accepted), start
        ),
        "rates": {
            "t": [s + 0.5 for s in range(span)],
            "filed": _counts(run.created, start, span),
            "webhooks": _counts((r.arrived for r in run.records), start, span),
            "accepted": _counts((r.accepted for r in run.records if r.ok), start, span),
        },
        "backlog": {
            "t": [round(s.t - start, 2) for s in run.samples],
            "outbox_pending": [s.outbox["referrals"][0] for s in run.samples],
            "consumers": {name: values for name, values in consumers.items() if any(values)},
        },
    }


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def print_table(
    title: str, phases: list[tuple[str, list[dict[str, Any]]]], baselines: list[dict[str, Any]]
) -> None:
    print(f"\n{title}")
    header = f"{'':<52}{'count':>8}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(header)
    print("-" * len(header))
    for heading, group in [*phases, ("raw baselines, same run", baselines)]:
        print(heading)
        for row in group:
            print(
                f"  {row['label']:<50}{row['count']:>8}{_cell(row['per_second']):>9}"
                f"{_cell(row['p50_ms']):>9}{_cell(row['p95_ms']):>9}{_cell(row['p99_ms']):>9}"
            )


def per_referral(processes: dict[str, dict[str, Any]], filed: int) -> dict[str, dict[str, Any]]:
    """Each process's CPU milliseconds per referral filed (over the whole sampled run)."""
    return {
        label: {**figures, "cpu_ms_per_referral": round(figures["cpu_s"] * 1000 / filed, 1)}
        if filed
        else figures
        for label, figures in processes.items()
    }


def print_processes(processes: dict[str, dict[str, Any]]) -> None:
    header = f"{'process':<28}{'count':>6}{'peak MB':>9}{'CPU s':>8}{'CPU ms/referral':>17}"
    print(f"\n{header}\n{'-' * len(header)}")
    for label, figures in processes.items():
        print(
            f"{label:<28}{figures['processes']:>6}{figures['peak_mb']:>9}{figures['cpu_s']:>8}"
            f"{_cell(figures.get('cpu_ms_per_referral')):>17}"
        )


def print_phase(phase: dict[str, Any]) -> None:
    """A phase's throughput, backlog, warnings and processes, in a few lines."""
    rate = phase["throughput"]
    print(f"\n{phase['name']}: {phase['filed']} filed, {phase['accepted']} accepted")
    print(
        f"  per second of the measured window: {rate['filed_per_s']} filed, "
        f"{rate['webhooks_per_s']} webhooks, {rate['accepted_per_s']} accepted"
    )
    for name, outbox in phase["outboxes"].items():
        print(
            f"  {name} outbox: up to {outbox['max_pending']} rows waiting "
            f"(mean {outbox['mean_pending']}), the oldest {outbox['max_oldest_age_ms']} ms old"
        )
    for name, consumer in phase["consumers"].items():
        print(
            f"  consumer {name}: up to {consumer['max_pending']} pending, "
            f"{consumer['max_ack_pending']} unacknowledged (mean waiting {consumer['mean_waiting']})"
        )
    drained = "drained" if phase["drained"] else "NOT drained (--drain-timeout)"
    print(f"  after the load: {drained} in {phase['drain_s']} s")
    if phase["rows"][0].get("errors"):
        print(f"  WARNING: {phase['rows'][0]['errors']} intake requests failed (wrk errors)")
    print_processes(phase["processes"])
