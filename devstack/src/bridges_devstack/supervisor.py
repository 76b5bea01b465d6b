"""Keep `bridges up`'s processes running: whichever exits is started again, after a delay that
doubles while it keeps failing, so a process that crashes on every start does not spin hot."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bridges_kit import backoff as kit_backoff


@dataclass(frozen=True)
class Backoff:
    """Restart n (consecutive) waits `first_s` * 2**(n-1), at most `cap_s`; a process that ran
    `healthy_after_s` or longer before it exited counts as healthy, so its count starts over."""

    first_s: float = 0.5
    cap_s: float = 10.0
    healthy_after_s: float = 60.0

    def delay(self, restart: int) -> float:
        return kit_backoff.Backoff(first_s=self.first_s, cap_s=self.cap_s).delay(restart)

    def next_restart(self, previous: int, ran_for_s: float) -> int:
        """The consecutive restart number for a process that exited after `ran_for_s`."""
        return 1 if ran_for_s >= self.healthy_after_s else previous + 1


class Supervised(Protocol):
    """A child process the supervisor can (re)start."""

    @property
    def pid(self) -> int | None: ...

    def start(self) -> None:
        """Launch and wait until it is ready; raise if it cannot get there."""

    def poll(self) -> int | None:
        """Its exit status once it has exited (negative: killed by that signal), else None."""

    def stop(self) -> None:
        """Stop it if it runs (a half-started one too)."""


@dataclass
class _Watch:
    process: Supervised
    started_at: float
    restarts: int = 0  # consecutive, for the backoff
    due_at: float | None = None  # a restart is pending until then


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


class Supervisor:
    """Call `check()` periodically (or `run()`): it notices exits, schedules restarts with
    backoff and performs the due ones, in the order the processes were given (infrastructure
    first, so services come back onto a working PostgreSQL and NATS)."""

    def __init__(
        self,
        processes: Mapping[str, Supervised],
        *,
        policy: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.policy = policy or Backoff()
        self._clock = clock
        self._say = say or _print
        self._on_restart = on_restart or (lambda: None)
        now = clock()
        self._watches = {name: _Watch(process, now) for name, process in processes.items()}
        self.restarting: str | None = None  # the process being started right now, if any

    def pending(self) -> dict[str, float]:
        """Processes waiting to be restarted, and when."""
        return {n: w.due_at for n, w in self._watches.items() if w.due_at is not None}

    def check(self) -> None:
        for name, watch in self._watches.items():
            if watch.due_at is None and (code := watch.process.poll()) is not None:
                self._schedule(name, watch, f"exited with {describe_exit(code)}")
        for name, watch in self._watches.items():
            if watch.due_at is not None and self._clock() >= watch.due_at:
                self._restart(name, watch)

    def run(
        self,
        stopping: Callable[[], bool],
        interval_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Supervise until `stopping()`; a pending restart is simply abandoned then."""
        while not stopping():
            self.check()
            sleep(interval_s)

    def _schedule(self, name: str, watch: _Watch, what: str) -> None:
        now = self._clock()
        watch.restarts = self.policy.next_restart(watch.restarts, now - watch.started_at)
        delay = self.policy.delay(watch.restarts)
        watch.due_at = now + delay
        self._say(f"{name} {what}; restarting in {delay:.1f} s (restart {watch.restarts})")

    def _restart(self, name: str, watch: _Watch) -> None:
        watch.due_at = None
        watch.started_at = self._clock()
        self.restarting = name
        try:
            watch.process.start()
        except Exception as exc:  # any failure to start is one more crash: back off and retry
            watch.process.stop()  # a half-started process would hold the port
            self._schedule(name, watch, f"failed to start ({_last_line(exc)})")
            return
        finally:
            self.restarting = None
        self._say(f"{name} is back (pid {watch.process.pid})")
        self._on_restart()


def _last_line(exc: Exception) -> str:
    # the start errors end with the child's last log line, usually the actual cause
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _print(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)
