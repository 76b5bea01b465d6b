"""NATS JetStream: connecting (as a user of its own, over TLS where configured) with retries,
and declaring the streams idempotently."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from bridges_kit.backoff import Backoff
from bridges_kit.bus_access import inbox_prefix
from bridges_schema import Stream, Streams
from bridges_schema.subjects import Domain

log = structlog.get_logger(__name__)

DUPLICATE_WINDOW_S = 15 * 60  # the outbox relay may republish after a crash: dedupe covers it
# Stream limits, chosen deliberately. Retention is LIMITS: a stream is the record of a domain's
# events, read by each durable consumer at its own pace, not a queue emptied by acks.
# - MAX_AGE_S: an event is removed after 30 days whether or not every consumer has read it; a
#   consumer stopped for longer loses what it had not read (watch its num_pending).
# - No max_bytes or max_msgs: under LIMITS a size cap removes (discard OLD) or refuses (discard
#   NEW) events before their age. Removing loses events not yet read; refusing stalls every
#   outbox relay of the namespace (rows wait in PostgreSQL, nothing is lost). The server's
#   JetStream storage limit bounds the total instead (and a stream's max_bytes would be
#   reserved from it at creation, more than a development disk may have).
# - DiscardPolicy.OLD thus never applies; it is what a future size cap would do.
# - Backpressure is the consumers': they pull what they can handle (batch, max_ack_pending,
#   ack_wait; the notifications service's settings describe its chain), the stream absorbs
#   bursts.
MAX_AGE_S = 30 * 24 * 3600


@dataclass(frozen=True)
class BusLogin:
    """Who connects, and how: the user (its replies come to its own inbox), its NKEY seed file
    or a credentials file (a JWT, as Synadia Cloud or an operator-mode server issues them), and
    the CA that signed the servers' certificates (a `tls://` URL with none: the system's CAs)."""

    user: str
    nkey_seed_file: Path | None = None
    credentials_file: Path | None = None
    tls_ca_file: Path | None = None

    def options(self) -> dict[str, Any]:
        """nats-py `connect` options for this login."""
        options: dict[str, Any] = {"inbox_prefix": inbox_prefix(self.user)}
        if self.nkey_seed_file is not None:
            options["nkeys_seed"] = str(self.nkey_seed_file)
        if self.credentials_file is not None:
            options["user_credentials"] = str(self.credentials_file)
        if self.tls_ca_file is not None:
            options["tls"] = ssl.create_default_context(cafile=str(self.tls_ca_file))
        return options


def servers_of(url: str) -> list[str]:
    """One server, or a cluster's comma-separated (the client fails over between them)."""
    return [server.strip() for server in url.split(",") if server.strip()]


async def connect(
    url: str, name: str, timeout_s: float = 30.0, login: BusLogin | None = None
) -> NatsClient:
    """Connect to `url` as `login`, retrying until `timeout_s`; once connected, reconnect
    forever. Refused credentials are not retried: nothing changes by waiting."""
    deadline = time.monotonic() + timeout_s
    waits = Backoff(first_s=0.2, cap_s=2.0).delays()
    while True:
        try:
            return await nats.connect(
                servers_of(url),
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
                allow_reconnect=True,
                error_cb=_log_error,
                disconnected_cb=_log_disconnected,
                reconnected_cb=_log_reconnected,
                **(login.options() if login is not None else {}),
            )
        except (OSError, nats.errors.NoServersError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("nats_connect_retry", error=str(exc), url=url)
            await asyncio.sleep(next(waits))


async def _log_error(exc: Exception) -> None:
    log.warning("nats_error", error=str(exc) or type(exc).__name__)


async def _log_disconnected() -> None:
    log.warning("nats_disconnected")


async def _log_reconnected() -> None:
    log.info("nats_reconnected")


async def ensure_streams(
    js: JetStreamContext,
    streams: Streams,
    replicas: int = 1,
    timeout_s: float = 30.0,
    domains: Iterable[Domain] | None = None,
) -> None:
    """Create or update the streams of `domains` (default: every stream of the namespace; a
    service declares those it publishes to) with `replicas` copies in a cluster; safe to run
    from every replica. A cluster still electing its leaders is waited for."""
    chosen = [streams.stream(d) for d in domains] if domains is not None else streams.all()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await _declare(js, chosen, replicas)
            return
        except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("streams_not_ready", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(0.5)


async def _declare(js: JetStreamContext, chosen: list[Stream], replicas: int) -> None:
    for stream in chosen:
        config = StreamConfig(
            name=stream.name,
            subjects=list(stream.subjects),
            description=stream.description,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=replicas,
        )
        try:
            await js.stream_info(stream.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                log.info("stream_created", stream=stream.name)
                continue
            except nats.js.errors.BadRequestError:
                pass  # another replica created it first: fall through to update
        await js.update_stream(config)
