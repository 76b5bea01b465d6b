"""The delivery worker: claims due deliveries (SKIP LOCKED leases, so replicas share the work),
sends each through its channel's transport, and records the attempt (see `attempts`; attempts
that end together share a commit, see `recording`).

- The schedule lives in the database (`next_attempt_at`), so it survives restarts. Leases are
  short (`lease_s`) and renewed every third of it while the delivery runs (a heartbeat, only
  by the worker holding them); a worker that dies mid-delivery stops renewing, its leases run
  out within `lease_s`, and another replica sends the delivery again with the same
  `webhook-id`, which receivers use to drop duplicates.
- Deliveries run as independent tasks: a slow or dead endpoint holds only its own slots (at
  most `per_endpoint` at once), never the others'.
- At most `concurrency` deliveries are sending at once. A delivery gives back its sending slot
  when its request ends, and its attempt is committed while the next one goes out (at most
  `concurrency` of those wait at once); the delivery stays leased until its attempt is
  committed. A failed attempt holds its endpoint's slot until then.
- A failing endpoint rests (circuit breaker, `domain.BreakerPolicy`): its deliveries wait
  without spending attempts, and one delivery, across all replicas (the database holds the
  probe's lease), probes it when the rest is over; the worker wakes then rather than at its
  next poll. So does the SMS provider, the one receiver of its channel
  (`attempts.BREAKER_CHANNELS`).
- Paused or disabled endpoints are skipped the same way until resumed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from bridges_kit import tracing
from bridges_kit.faults import OUTAGE_ERRORS, describe
from bridges_kit.metrics import Metrics
from bridges_kit.wakeup import Wakeup
from bridges_notifications import attempts, retry
from bridges_notifications.domain import (
    Attempted,
    AttemptResult,
    Channel,
    ClaimedDelivery,
    Lease,
)
from bridges_notifications.recording import AttemptRecorder
from bridges_notifications.transports import Transport
from bridges_notifications.uow import NotificationsUnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SchedulingPolicy:
    attempt: attempts.AttemptPolicy = field(default_factory=attempts.AttemptPolicy)
    lease_s: float = 10.0  # renewed every third of it while the delivery runs
    concurrency: int = 16
    per_endpoint: int = 4
    poll_s: float = 1.0
    drain_s: float = 10.0  # on stop, how long in-flight deliveries may finish
    record_wait_s: float = 60.0  # how long an attempt waits for PostgreSQL to record it


class DeliveryWorker:
    def __init__(
        self,
        uow: Callable[[], NotificationsUnitOfWork],
        transports: Mapping[Channel, Transport],
        wakeup: Wakeup,
        policy: SchedulingPolicy,
        metrics: Metrics | None = None,
    ) -> None:
        self._uow = uow
        self._metrics = metrics
        self._transports = transports
        self._wakeup = wakeup
        self._policy = policy
        self._recorder = AttemptRecorder(uow, policy.attempt, max_group=policy.concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._room_in_use = _Room(freed=self._wakeup.set)
        self._stopping = False
        self._lease = Lease(uuid.uuid4(), policy.lease_s)  # this worker's, for its life
        self._held: set[UUID] = set()  # deliveries leased and not yet recorded
        self._next_probe_s: float | None = None  # when the first resting receiver may be probed

    def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._renew_leases())
        try:
            while not self._stopping:
                free = self._room()
                try:
                    claimed = await self.claim(free) if free > 0 else []
                except OUTAGE_ERRORS as exc:  # PostgreSQL away: try again shortly
                    log.warning("delivery_claim_waiting", error=describe(exc))
                    await self._wakeup.wait(1.0)
                    continue
                for delivery in claimed:
                    self._start(delivery)
                if claimed and len(claimed) == free:
                    continue  # there may be more due: claim again as soon as there is room
                # a NOTIFY, room, a receiver's rest ending, or the poll
                await self._wakeup.wait(min(self._policy.poll_s, self._next_probe_s or 1e9))
            if self._running:  # graceful stop: finish what is in flight
                await asyncio.wait(self._running, timeout=self._policy.drain_s)
        finally:
            heartbeat.cancel()
            await self._wakeup.close()
            if self._stopping:  # after a crash the runtime runs this worker again
                for transport in self._transports.values():
                    await transport.close()

    def _room(self) -> int:
        """How many more deliveries may start: `concurrency` sending at once, and as many again
        sent and waiting for their attempt to be committed."""
        p = self._policy
        sending = self._room_in_use.sending
        return min(p.concurrency - sending, 2 * p.concurrency - len(self._running))

    async def claim(self, limit: int) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries, respecting each endpoint's room."""
        p = self._policy
        async with self._uow() as uow:
            claimed = await uow.deliveries.claim(
                limit,
                self._lease,
                dict(self._room_in_use.per_endpoint),
                p.per_endpoint,
                list(self._held),
            )
            soonest = await uow.endpoints.soonest_rest_end()
            await uow.commit()
        self._next_probe_s = (
            None if soonest is None else max((soonest - datetime.now(UTC)).total_seconds(), 0.05)
        )
        return claimed

    async def _renew_leases(self) -> None:
        """The heartbeat: every third of the lease, extend the leases of the deliveries this
        worker still holds (a failed renewal is tried again at the next beat)."""
        while True:
            await asyncio.sleep(self._lease.seconds / 3)
            if not self._held:
                continue
            try:
                async with self._uow() as uow:
                    await uow.deliveries.renew(self._lease, list(self._held))
                    await uow.commit()
            except OUTAGE_ERRORS as exc:
                log.warning("delivery_leases_not_renewed", error=describe(exc))

    async def _record(self, attempted: Attempted) -> retry.Outcome:
        """Record the attempt; while PostgreSQL is away, try again every second for up to
        `record_wait_s`. The delivery stays held meanwhile (this worker does not claim it again
        and renews its lease once it can), so a webhook that went out is not sent again."""
        deadline = time.monotonic() + self._policy.record_wait_s
        while True:
            try:
                return await self._recorder.record(attempted)
            except OUTAGE_ERRORS:
                if self._stopping or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(1.0)

    def _start(self, delivery: ClaimedDelivery) -> None:
        held = self._room_in_use.take(_lane(delivery))
        task = asyncio.create_task(self._deliver(delivery, held))
        self._held.add(delivery.id)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        task.add_done_callback(lambda _: held.release())
        task.add_done_callback(lambda _: self._held.discard(delivery.id))

    async def _deliver(self, delivery: ClaimedDelivery, held: _Held) -> None:
        with _delivery_span(delivery) as span:
            try:
                result = await self._transports[delivery.channel].send(delivery)
            except Exception as exc:  # a fault of ours in sending: a failed attempt, retried
                log.exception("delivery_send_failed", delivery_id=str(delivery.id))
                result = AttemptResult(None, 0, f"internal error: {describe(exc)}"[:300])
            span.set_attribute("bridges.delivery.ok", result.ok)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
        # The next delivery may go out while this attempt is committed. A failure keeps its
        # endpoint's slot until then, so the breaker has counted it before the endpoint is
        # sent more (a resting endpoint gets one probe, not one per slot).
        held.sent(keep_endpoint=not result.ok)
        try:
            outcome = await self._record(Attempted(delivery, result))
            if self._metrics is not None:
                self._metrics.deliveries(
                    channel=delivery.channel.value, outcome=_outcome_label(outcome)
                ).inc()
        except OUTAGE_ERRORS as exc:  # still not recorded: the lease expires, it goes again
            log.warning("delivery_not_recorded", delivery_id=str(delivery.id), error=describe(exc))
        except Exception as exc:  # recording itself fails: park it for ops rather than loop
            log.exception("delivery_not_recorded", delivery_id=str(delivery.id))
            try:
                await attempts.give_up(self._uow(), delivery, f"internal error: {describe(exc)}")
            except OUTAGE_ERRORS as outage:
                log.warning("delivery_not_recorded", error=describe(outage))


def _outcome_label(outcome: retry.Outcome) -> str:
    if isinstance(outcome, retry.Delivered):
        return "succeeded"
    return "failed" if isinstance(outcome, retry.RetryIn) else "dead"


def _delivery_span(delivery: ClaimedDelivery) -> Any:
    """The delivery's span, in the trace its event began in (the CloudEvent's traceparent,
    stored with the delivery): one referral stays one trace, however late the attempt."""
    try:
        traceparent = json.loads(delivery.payload).get("traceparent")
    except ValueError:
        traceparent = None
    return tracing.span(
        f"deliver {delivery.channel.value}",
        kind=tracing.SpanKind.CLIENT,
        parent=tracing.extract(traceparent),
        attributes={
            "bridges.delivery.id": str(delivery.id),
            "bridges.delivery.channel": delivery.channel.value,
            "bridges.event.type": delivery.event_type,
            "bridges.delivery.attempt": delivery.attempts,
        },
    )


Lane = UUID | Channel  # an endpoint, or a channel whose one receiver has a breaker


def _lane(delivery: ClaimedDelivery) -> Lane | None:
    if delivery.endpoint_id is not None:
        return delivery.endpoint_id
    return delivery.channel if delivery.channel in attempts.BREAKER_CHANNELS else None


class _Room:
    """The worker's room in use: deliveries sending, and per endpoint those sending or whose
    failure is not recorded yet. `freed` is called whenever some is given back."""

    def __init__(self, freed: Callable[[], None]) -> None:
        self.sending = 0
        self.per_endpoint: dict[Lane, int] = {}
        self._freed = freed

    def take(self, endpoint: Lane | None) -> _Held:
        self.sending += 1
        if endpoint is not None:
            self.per_endpoint[endpoint] = self.per_endpoint.get(endpoint, 0) + 1
        return _Held(self, endpoint)

    def _give_back(self, sending: bool, endpoint: Lane | None) -> None:
        if sending:
            self.sending -= 1
        if endpoint is not None:
            left = self.per_endpoint.get(endpoint, 1) - 1
            if left:
                self.per_endpoint[endpoint] = left
            else:
                self.per_endpoint.pop(endpoint, None)
        self._freed()


class _Held:
    """What one delivery holds of the room; each part is given back once."""

    def __init__(self, room: _Room, endpoint: Lane | None) -> None:
        self._room = room
        self._sending = True
        self._endpoint = endpoint

    def sent(self, *, keep_endpoint: bool) -> None:
        sending, self._sending = self._sending, False
        endpoint = None if keep_endpoint else self._endpoint
        if not keep_endpoint:
            self._endpoint = None
        if sending or endpoint is not None:
            self._room._give_back(sending, endpoint)

    def release(self) -> None:
        self.sent(keep_endpoint=False)
