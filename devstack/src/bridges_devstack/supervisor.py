"""Keep `bridges up`'s processes running: whichever exits is started again, after a delay that
doubles while it keeps failing, so a process that crashes on every start does not spin hot. A
process that no longer answers its liveness probe (stopped, deadlocked, its event loop blocked:
bridges_kit.healthcheck.LIVE) is killed and restarted the same way. Restarts that fall due
together happen together: infrastructure first (services come back onto a working PostgreSQL
and NATS), then every other process at once."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from bridges_kit import backoff as kit_backoff
from bridges_kit.healthcheck import LIVE


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


@dataclass(frozen=True)
class Liveness:
    """Probe every `period_s`; `misses` in a row and the process is hung."""

    period_s: float = LIVE.period_s
    misses: int = LIVE.misses


class Supervised(Protocol):
    """A child process the supervisor can (re)start."""

    @property
    def pid(self) -> int | None: ...

    def launch(self) -> None:
        """Start it (quickly: readiness is waited for apart)."""

    def wait_ready(self) -> None:
        """Until it is ready; raise if it cannot get there."""

    def poll(self) -> int | None:
        """Its exit status once it has exited (negative: killed by that signal), else None."""

    def alive(self) -> bool:
        """It answers its liveness probe (bounded in time)."""

    def kill(self) -> None:
        """SIGKILL: what a hung process still obeys."""

    def stop(self) -> None:
        """Stop it if it runs (a half-started one too)."""


@dataclass
class _Watch:
    process: Supervised
    started_at: float
    restarts: int = 0  # consecutive, for the backoff
    due_at: float | None = None  # a restart is pending until then
    misses: int = 0  # liveness probes missed in a row


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


class Supervisor:
    """Call `check()` periodically (or `run()`): it notices exits and hung processes, schedules
    restarts with backoff and performs the due ones, `first` (infrastructure) before the rest,
    each group at once."""

    def __init__(
        self,
        processes: Mapping[str, Supervised],
        *,
        first: Collection[str] = (),
        policy: Backoff | None = None,
        liveness: Liveness | None = None,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.policy = policy or Backoff()
        self.liveness = liveness or Liveness()
        self._first = set(first)
        self._clock = clock
        self._say = say or _print
        self._on_restart = on_restart or (lambda: None)
        now = clock()
        self._watches = {name: _Watch(process, now) for name, process in processes.items()}
        self._next_probe = now + self.liveness.period_s
        self.restarting: tuple[str, ...] = ()  # the processes being started right now

    def pending(self) -> dict[str, float]:
        """Processes waiting to be restarted, and when."""
        return {n: w.due_at for n, w in self._watches.items() if w.due_at is not None}

    def check(self) -> None:
        for name, watch in self._watches.items():
            if watch.due_at is None and (code := watch.process.poll()) is not None:
                self._schedule(name, watch, f"exited with {describe_exit(code)}")
        if self._clock() >= self._next_probe:
            self._probe()
            self._next_probe = self._clock() + self.liveness.period_s
        due = [n for n, w in self._watches.items() if w.due_at and self._clock() >= w.due_at]
        for group in (
            [n for n in due if n in self._first],
            [n for n in due if n not in self._first],
        ):
            if group:
                self._restart(group)

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

    def _probe(self) -> None:
        """Every running process's liveness probe, all at once (each bounded in time)."""
        running = {n: w for n, w in self._watches.items() if w.due_at is None}
        with ThreadPoolExecutor(max_workers=max(len(running), 1)) as pool:
            probed = pool.map(lambda w: w.process.alive(), running.values())
            answers = dict(zip(running, probed, strict=True))
        for name, alive in answers.items():
            watch = running[name]
            watch.misses = 0 if alive else watch.misses + 1
            if watch.misses >= self.liveness.misses:
                watch.process.kill()
                seconds = watch.misses * self.liveness.period_s
                self._schedule(name, watch, f"stopped answering (no answer for {seconds:.0f} s)")

    def _schedule(self, name: str, watch: _Watch, what: str) -> None:
        now = self._clock()
        watch.restarts = self.policy.next_restart(watch.restarts, now - watch.started_at)
        watch.misses = 0
        delay = self.policy.delay(watch.restarts)
        watch.due_at = now + delay
        self._say(f"{name} {what}; restarting in {delay:.1f} s (restart {watch.restarts})")

    def _restart(self, names: list[str]) -> None:
        """Launch each, then wait for all of them to be ready at once."""
        self.restarting = tuple(names)
        try:
            launched: list[str] = []
            for name in names:
                watch = self._watches[name]
                watch.due_at, watch.started_at = None, self._clock()
                if self._attempt(name, watch, watch.process.launch):
                    launched.append(name)
            failed: dict[str, BaseException] = {}

            def ready(name: str) -> None:
                try:
                    self._watches[name].process.wait_ready()
                except Exception as exc:  # any failure to start is one more crash
                    failed[name] = exc

            waiting = [threading.Thread(target=ready, args=(n,), daemon=True) for n in launched]
            for thread in waiting:
                thread.start()
            for thread in waiting:
                thread.join()
            for name in launched:
                watch = self._watches[name]
                if name in failed:
                    self._failed(name, watch, failed[name])
                else:
                    self._say(f"{name} is back (pid {watch.process.pid})")
            if len(failed) < len(launched):
                self._on_restart()
        finally:
            self.restarting = ()

    def _attempt(self, name: str, watch: _Watch, step: Callable[[], None]) -> bool:
        try:
            step()
        except Exception as exc:
            self._failed(name, watch, exc)
            return False
        return True

    def _failed(self, name: str, watch: _Watch, exc: BaseException) -> None:
        watch.process.stop()  # a half-started process would hold the port
        self._schedule(name, watch, f"failed to start ({_last_line(exc)})")


def _last_line(exc: BaseException) -> str:
    # the start errors end with the child's last log line, usually the actual cause
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _print(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)
