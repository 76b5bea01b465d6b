"""How every benchmark summarises what it measured: percentiles of samples (nearest rank), the
ratio of two series paired round by round (the median of the per-round ratios, so a noisy
moment on a shared machine weighs on both sides of one ratio alike), and CPU time of a process
(psutil: a figure other load on the machine does not inflate, unlike latency)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import psutil


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank `p`th percentile of `samples` (0 <= p <= 100; 100 is the maximum)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """numerator / denominator of each round (both measured in that round)."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError("paired ratios need the same number of rounds on both sides, at least one")
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of the per-round ratios (never the ratio of two separate medians)."""
    return statistics.median(paired_ratios(numerators, denominators))


def child_running(module: str, port: int | None = None) -> psutil.Process:
    """The child of this process running `python -m <module>` (a service `harness` started),
    the one serving `port` when given."""
    for child in psutil.Process().children():
        try:
            argv = child.cmdline()
            served = child.environ().get("BRIDGES_HTTP_PORT")
        except psutil.NoSuchProcess:
            continue
        runs_module = "-m" in argv[:-1] and argv[argv.index("-m") + 1] == module
        if runs_module and (port is None or served == str(port)):
            return child
    raise RuntimeError(f"{module} is not running")


def cpu_s(process: psutil.Process) -> float:
    """User + system CPU seconds `process` has used so far (all its threads)."""
    times = process.cpu_times()
    return float(times.user + times.system)
