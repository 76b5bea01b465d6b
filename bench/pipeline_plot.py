"""The pipeline benchmark's figure, one column per phase: latency per second of the run (p50 and
p99 of filed -> webhook and webhook -> accepted), throughput per second, and the backlog (outbox
rows not yet published, JetStream messages not yet acknowledged), on a shared time axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure  # not pyplot: no backend, no display, no global state

FILED_TO_WEBHOOK = "#1f77b4"
WEBHOOK_TO_ACCEPTED = "#d62728"
SHORT_NAMES = {  # JetStream consumers, as a reader knows them
    "BRIDGES_REFERRAL/bridges-notifications-referrals": "notifications' referral events",
    "BRIDGES_DELIVERY/bridges-referrals-delivery": "referrals' delivery outcomes",
}


def _latency(axis: Axes, phase: dict[str, Any]) -> None:
    for key, label, color in (
        ("filed_to_webhook", "filed → webhook", FILED_TO_WEBHOOK),
        ("webhook_to_accepted", "webhook → accepted", WEBHOOK_TO_ACCEPTED),
    ):
        stage = phase[key]
        axis.plot(stage["t"], stage["p50_ms"], color=color, lw=1.6, label=f"{label} p50")
        axis.plot(stage["t"], stage["p99_ms"], color=color, lw=0.9, ls="--", label=f"{label} p99")
    axis.set_yscale("log")
    axis.grid(True, which="both", alpha=0.3)


def _rates(axis: Axes, phase: dict[str, Any]) -> None:
    rates = phase["rates"]
    for key, label, color in (
        ("filed", "filed", "#7f7f7f"),
        ("webhooks", "webhooks", FILED_TO_WEBHOOK),
        ("accepted", "accepted", WEBHOOK_TO_ACCEPTED),
    ):
        axis.plot(rates["t"], rates[key], color=color, lw=1.1, label=label)
    axis.grid(True, alpha=0.3)


def _backlog(axis: Axes, phase: dict[str, Any]) -> None:
    backlog = phase["backlog"]
    axis.plot(
        backlog["t"], backlog["outbox_pending"], color="#2ca02c", lw=1.2, label="referrals outbox"
    )
    for name, values in backlog["consumers"].items():
        axis.plot(backlog["t"], values, lw=1.1, label=SHORT_NAMES.get(name, name))
    axis.grid(True, alpha=0.3)


def draw(path: Path, phases: list[dict[str, Any]], title: str) -> None:
    """`phases` as `bench.pipeline_summary.series` makes each (seconds since its load started)."""
    figure = Figure(figsize=(6 * len(phases), 9.5))
    grid = figure.subplots(3, len(phases), sharex="col", height_ratios=[3, 1.5, 1.5], squeeze=False)
    for axis in grid[0][1:]:  # one latency scale to compare phases; counts each at its own
        axis.sharey(grid[0][0])
    for column, phase in enumerate(phases):
        latency, rate, backlog = grid[0][column], grid[1][column], grid[2][column]
        _latency(latency, phase)
        _rates(rate, phase)
        _backlog(backlog, phase)
        latency.set_title(phase["name"], fontsize=10)
        backlog.set_xlabel("seconds since this phase's load started")
        for axis in (latency, rate, backlog):
            axis.axvspan(0, phase["warmup_s"], color="#000000", alpha=0.07, lw=0)
            axis.axvline(phase["load_s"], color="#000000", lw=0.8, ls=":")
        latency.text(
            phase["load_s"], 0.02, " load stops", transform=latency.get_xaxis_transform(),
            fontsize=8, color="#555555",
        )  # fmt: skip
    grid[0][0].set_ylabel("latency, per second of the run (ms)")
    grid[1][0].set_ylabel("per second")
    grid[2][0].set_ylabel("messages waiting")
    # legends in the last column: the paced phase leaves its upper part empty
    grid[0][-1].legend(loc="upper right", fontsize=7.5, ncol=2, framealpha=0.9)
    grid[1][-1].legend(loc="lower center", fontsize=7.5, ncol=3, framealpha=0.9)
    grid[2][-1].legend(loc="upper right", fontsize=7.5, framealpha=0.9)
    figure.suptitle(title, fontsize=10)
    figure.text(
        0.5, 0.005, "shaded: warm-up, not measured; dotted: the load stops, the backlog drains",
        ha="center", fontsize=8, color="#555555",
    )  # fmt: skip
    figure.tight_layout(rect=(0, 0.015, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
