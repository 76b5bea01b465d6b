"""The pipeline benchmark's figure: latency per second of the run (p50 and p99 of filed ->
webhook and webhook -> accepted), throughput per second, and the backlog (outbox rows not yet
published, JetStream messages not yet acknowledged) on one shared time axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure  # not pyplot: no backend, no display, no global state

FILED_TO_WEBHOOK = "#1f77b4"
WEBHOOK_TO_ACCEPTED = "#d62728"


def draw(path: Path, series: dict[str, Any], title: str) -> None:
    """`series` as `bench.pipeline.series` makes it (seconds since the load started)."""
    figure = Figure(figsize=(10, 9))
    latency, rate, backlog = figure.subplots(3, 1, sharex=True, height_ratios=[3, 1.6, 1.6])
    for key, label, color in (
        ("filed_to_webhook", "filed → webhook received", FILED_TO_WEBHOOK),
        ("webhook_to_accepted", "webhook → accepted", WEBHOOK_TO_ACCEPTED),
    ):
        stage = series[key]
        latency.plot(stage["t"], stage["p50_ms"], color=color, lw=1.6, label=f"{label}, p50")
        latency.plot(stage["t"], stage["p99_ms"], color=color, lw=1, ls="--", label=f"{label}, p99")
    latency.set_yscale("log")
    latency.set_ylabel("latency per second of the run (ms)")
    latency.grid(True, which="both", alpha=0.3)
    latency.legend(loc="upper left", fontsize=8, ncol=2)
    latency.set_title(title, fontsize=11)

    for key, label, color in (
        ("filed", "filed (referrals created)", "#7f7f7f"),
        ("webhooks", "webhooks received", FILED_TO_WEBHOOK),
        ("accepted", "accepted", WEBHOOK_TO_ACCEPTED),
    ):
        rate.plot(series["rates"]["t"], series["rates"][key], color=color, lw=1.2, label=label)
    rate.set_ylabel("per second")
    rate.grid(True, alpha=0.3)
    rate.legend(loc="upper left", fontsize=8, ncol=3)

    backlog.plot(
        series["backlog"]["t"],
        series["backlog"]["outbox_pending"],
        color="#2ca02c",
        lw=1.2,
        label="referrals outbox: rows not yet published",
    )
    for name, values in series["backlog"]["consumers"].items():
        backlog.plot(
            series["backlog"]["t"], values, lw=1.2, label=f"consumer {name}: pending + unacked"
        )
    backlog.set_ylabel("messages waiting")
    backlog.set_xlabel("seconds since the load started")
    backlog.grid(True, alpha=0.3)
    backlog.legend(loc="upper left", fontsize=8)

    for axis in (latency, rate, backlog):
        axis.axvspan(0, series["warmup_s"], color="#000000", alpha=0.06, lw=0)
        axis.axvline(series["load_s"], color="#000000", lw=0.8, ls=":")
    latency.text(
        series["warmup_s"] / 2,
        0.02,
        "warm-up",
        transform=latency.get_xaxis_transform(),
        ha="center",
        fontsize=8,
        color="#555555",
    )
    latency.text(
        series["load_s"],
        0.02,
        " load stops",
        transform=latency.get_xaxis_transform(),
        fontsize=8,
        color="#555555",
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
