"""The supervisor of `bridges up` on fake processes and a fake clock: its backoff, restarts,
crash loops that do not spin, and stopping while a restart is pending. (The real thing, killed
with SIGKILL, is in test_make_up.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import pytest

from bridges_devstack.supervisor import Backoff, Supervisor, describe_exit


def test_the_delay_doubles_from_half_a_second_up_to_ten():
    policy = Backoff()
    assert [policy.delay(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.delay(10_000) == 10.0  # no overflow however long it keeps failing


def test_a_process_that_ran_a_healthy_while_starts_its_count_over():
    policy = Backoff(healthy_after_s=60)
    assert policy.next_restart(0, ran_for_s=0.1) == 1
    assert policy.next_restart(4, ran_for_s=59.9) == 5
    assert policy.next_restart(4, ran_for_s=60.0) == 1


def test_exit_statuses_name_their_signal():
    assert describe_exit(-9) == "-9 (SIGKILL)"
    assert describe_exit(3) == "3"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeProcess:
    exit_code: int | None = None
    broken: bool = False  # every start fails (a bad configuration)
    hung: bool = False  # runs, but answers no probe (SIGSTOP, a blocked event loop)
    starts: list[float] = field(default_factory=list)
    stops: int = 0
    kills: int = 0
    clock: FakeClock | None = None
    ready_after_s: float = 0.0  # how long wait_ready takes (real time)
    waits: list[tuple[float, float]] = field(default_factory=list)  # (began, ended), real time

    @property
    def pid(self) -> int | None:
        return 100 + len(self.starts)

    def launch(self) -> None:
        self.starts.append(self.clock() if self.clock else 0.0)
        self.exit_code = None
        self.hung = False

    def wait_ready(self) -> None:
        began = time.monotonic()
        time.sleep(self.ready_after_s)
        if self.broken:
            raise RuntimeError("notifications exited; last log lines:\nValidationError: smtp_port")
        self.waits.append((began, time.monotonic()))

    def poll(self) -> int | None:
        return self.exit_code

    def alive(self) -> bool:
        return not self.hung

    def kill(self) -> None:
        self.kills += 1
        self.exit_code = -9

    def stop(self) -> None:
        self.stops += 1


def _supervise(
    clock: FakeClock,
    on_restart: Callable[[], None] | None = None,
    first: tuple[str, ...] = (),
    **processes: FakeProcess,
) -> tuple[Supervisor, list[str]]:
    said: list[str] = []
    for process in processes.values():
        process.clock = clock
    supervisor = Supervisor(
        processes, first=first, clock=clock, say=said.append, on_restart=on_restart
    )
    return supervisor, said


def test_an_exited_process_is_restarted_after_the_delay_and_reported():
    clock = FakeClock()
    referrals = FakeProcess()
    restarted: list[bool] = []
    supervisor, said = _supervise(clock, lambda: restarted.append(True), referrals=referrals)

    supervisor.check()
    assert said == [] and referrals.starts == []
    referrals.exit_code = -9
    supervisor.check()
    assert said == ["referrals exited with -9 (SIGKILL); restarting in 0.5 s (restart 1)"]
    clock.now += 0.4
    supervisor.check()
    assert referrals.starts == []  # not before its time
    clock.now += 0.1
    supervisor.check()
    assert referrals.starts == [clock.now]
    assert said[-1] == "referrals is back (pid 101)"
    assert restarted == [True]  # stack.json gets the new pid


def test_quick_successive_crashes_back_off_and_a_long_healthy_run_resets_it():
    clock = FakeClock()
    nats = FakeProcess()
    supervisor, said = _supervise(clock, nats=nats)
    for _ in range(3):  # dies two seconds after each start
        clock.now += 2
        nats.exit_code = 1
        supervisor.check()
        clock.now += 10  # the longest delay
        supervisor.check()
    assert [line.split("; ")[1] for line in said if "exited" in line] == [
        "restarting in 0.5 s (restart 1)",
        "restarting in 1.0 s (restart 2)",
        "restarting in 2.0 s (restart 3)",
    ]
    clock.now += 61
    nats.exit_code = 1
    supervisor.check()
    assert said[-1] == "nats exited with 1; restarting in 0.5 s (restart 1)"


def test_a_process_that_fails_every_start_does_not_spin():
    clock = FakeClock()
    broken, healthy = FakeProcess(broken=True), FakeProcess()
    supervisor, said = _supervise(clock, notifications=broken, directory=healthy)
    broken.exit_code = 1
    supervisor.run(lambda: clock.now > 1060, sleep=clock.sleep)  # one simulated minute

    gaps = [later - earlier for earlier, later in pairwise(broken.starts)]
    assert 8 <= len(broken.starts) <= 10  # after 0.5 + 1 + 2 + 4 + 8 s, every 10 s
    assert gaps[-1] == pytest.approx(10.0, abs=0.2)
    assert broken.stops == len(broken.starts)  # each half-started attempt is cleaned up
    assert said[-1].startswith("notifications failed to start (ValidationError: smtp_port);")
    assert healthy.starts == []


def test_stopping_while_a_restart_is_pending_abandons_it():
    clock = FakeClock()
    directory = FakeProcess(exit_code=-15)
    supervisor, _ = _supervise(clock, directory=directory)
    supervisor.run(lambda: bool(supervisor.pending()), sleep=clock.sleep)
    assert supervisor.pending() == {"directory": pytest.approx(1000.5)}
    assert directory.starts == []


def test_a_hung_process_is_killed_and_restarted_after_three_missed_probes():
    clock = FakeClock()
    notifications, directory = FakeProcess(), FakeProcess()
    supervisor, said = _supervise(clock, notifications=notifications, directory=directory)
    supervisor.check()
    notifications.hung = True  # SIGSTOP: its process is there, its port answers nothing
    for _ in range(2):
        clock.now += 5
        supervisor.check()
    assert notifications.kills == 0 and said == []  # two misses may be a slow moment
    clock.now += 5
    supervisor.check()
    assert notifications.kills == 1  # SIGKILL: a stopped process obeys nothing else
    assert said == [
        "notifications stopped answering (no answer for 15 s); restarting in 0.5 s (restart 1)"
    ]
    clock.now += 0.5
    supervisor.check()
    assert len(notifications.starts) == 1 and said[-1] == "notifications is back (pid 101)"
    assert directory.kills == 0 and directory.starts == []


def test_a_probe_answered_again_starts_the_count_over():
    clock = FakeClock()
    referrals = FakeProcess()
    supervisor, said = _supervise(clock, referrals=referrals)
    for hung in (True, True, False, True, True, False):
        referrals.hung = hung
        clock.now += 5
        supervisor.check()
    assert referrals.kills == 0 and said == []


def test_restarts_due_together_happen_together_infrastructure_first():
    clock = FakeClock()
    nats = FakeProcess(ready_after_s=0.2)
    services = {name: FakeProcess(ready_after_s=0.5) for name in ("a", "b", "c")}
    supervisor, said = _supervise(clock, first=("nats",), nats=nats, **services)
    for process in (nats, *services.values()):
        process.exit_code = -9
    supervisor.check()
    clock.now += 0.5
    supervisor.check()
    assert [line.split(" ")[0] for line in said[-4:]] == ["nats", "a", "b", "c"]
    assert all(line.endswith("is back (pid 101)") for line in said[-4:])
    # the services waited for readiness side by side (every wait began before any ended),
    # after the infrastructure was ready
    [(_, nats_ready)] = nats.waits
    waits = [w for s in services.values() for w in s.waits]
    assert len(waits) == 3 and max(b for b, _ in waits) < min(e for _, e in waits)
    assert min(b for b, _ in waits) >= nats_ready
