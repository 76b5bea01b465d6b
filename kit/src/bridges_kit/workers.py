"""Background loops of a service process: the `Worker` shape the runtime supervises, and
`Periodic` for duties done every so often (sweeps, pruning), safe with any number of replicas."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from typing import Protocol

import structlog

from bridges_kit.faults import OUTAGE_ERRORS, describe

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """A background loop: `run` until `stop` is called, finishing the work in hand. If `run`
    raises, the runtime logs it and calls `run` again: what it releases on the way out (other
    than on `stop`) it must be able to open again."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class Periodic(abc.ABC):
    """Run `tick` every `interval_s` until stopped. An outage is logged and tried again at the
    next tick; any other error escapes to the runtime, which logs it and restarts the worker."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    @abc.abstractmethod
    async def tick(self) -> int:
        """Do one round of the duty; returns how many items it handled."""

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except OUTAGE_ERRORS as exc:
                log.warning("periodic_outage", worker=type(self).__name__, error=describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)

    def stop(self) -> None:
        self._stopping.set()
