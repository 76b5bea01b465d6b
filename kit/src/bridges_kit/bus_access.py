"""Who may do what on the bus. Each Bridges service is a NATS user of its own (an NKEY: the
server keeps its public key, the service its seed) that may publish only its own domain's
events and use only the durable consumers it declares; `ops` (doctor, backup, restore) reads
every stream and republishes a backup's events. The nats-server `authorization` block that
enforces it is generated here, from the services' own subscriptions, so it cannot drift from
the code. What each grant holds, and why:

- its events: `<ns>.<domain>.>` (the outbox relay's `js.publish`), and its dead letters
  `<ns>.deadletter.<durable>`, one per consumer;
- the JetStream API for the streams it declares (INFO, CREATE, UPDATE: its domain's and, if it
  consumes, the dead-letter stream) and for each durable consumer it reads (INFO, CREATE in both
  the 2.9+ and the legacy form, MSG.NEXT for a pull `fetch`), and the acks of those consumers
  (`$JS.ACK.<stream>.<consumer>.>`: ack, nak, term and in-progress are publishes there);
- replies: every request (JetStream API answers, publish acks, fetched messages) comes back to
  the client's inbox, `_INBOX.<user>.>`, which only that user may subscribe to.
Nothing else: no other subject, no stream deletion or purge, no other consumer's messages.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nkeys

from bridges_schema import PRODUCERS, Streams
from bridges_schema.subjects import Domain

JS_API = "$JS.API"
OPS = "ops"


class Subscribing(Protocol):
    """What a grant needs of a subscription (bridges_kit.consumer.Subscription)."""

    @property
    def durable(self) -> str: ...

    @property
    def domain(self) -> Domain: ...


def consumer_name(streams: Streams, durable: str) -> str:
    """The JetStream consumer of `durable` in this namespace (one per namespace)."""
    return f"{streams.namespace}-{durable}"


def inbox_prefix(user: str) -> str:
    """Where the replies to `user`'s requests come back: its own inbox, no one else's."""
    return f"_INBOX.{user}"


@dataclass(frozen=True)
class BusUser:
    """One NATS user: the domain whose events it publishes (None: none) and the durable
    consumers it reads, as (stream domain, durable)."""

    name: str
    publishes: Domain | None
    consumers: tuple[tuple[Domain, str], ...] = ()

    @classmethod
    def of(cls, domain: Domain, subscriptions: Iterable[Subscribing] = ()) -> BusUser:
        """The service that speaks for `domain` (its name from the schema's PRODUCERS)."""
        return cls(PRODUCERS[domain], domain, tuple((s.domain, s.durable) for s in subscriptions))

    def declares(self) -> list[Domain]:
        """The streams it creates or updates at start: its own, and the dead letters' if it
        consumes (a stream it only reads is its producer's to declare)."""
        own = [self.publishes] if self.publishes is not None else []
        return own + ([Domain.DEAD_LETTER] if self.consumers else [])


# ops reads every stream and puts a backup's events back (restore republishes them as they were)
OPS_USER = BusUser(OPS, None)


@dataclass(frozen=True)
class Grant:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def grant(user: BusUser, streams: Streams) -> Grant:
    """What `user` may publish and subscribe to in the namespace of `streams`."""
    if user.name == OPS:
        return _ops_grant(streams)
    publish: list[str] = []
    if user.publishes is not None:
        publish.append(f"{streams.stream(user.publishes).subjects[0]}")
    for domain in user.declares():
        name = streams.stream(domain).name
        publish += [f"{JS_API}.STREAM.{verb}.{name}" for verb in ("INFO", "CREATE", "UPDATE")]
    for domain, durable in user.consumers:
        stream, consumer = streams.stream(domain).name, consumer_name(streams, durable)
        publish += [
            streams.dead_letter_subject(durable),
            f"{JS_API}.CONSUMER.INFO.{stream}.{consumer}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{consumer}",
            f"{JS_API}.CONSUMER.CREATE.{stream}.{consumer}.>",
            f"{JS_API}.CONSUMER.DURABLE.CREATE.{stream}.{consumer}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            f"$JS.ACK.{stream}.{consumer}.>",
        ]
    return Grant(tuple(publish), (f"{inbox_prefix(user.name)}.>",))


def _ops_grant(streams: Streams) -> Grant:
    publish = [f"{streams.namespace}.>"]
    for stream in streams.all():
        publish += [
            f"{JS_API}.STREAM.{verb}.{stream.name}"
            for verb in ("INFO", "CREATE", "UPDATE", "MSG.GET")
        ]
        publish += [
            f"{JS_API}.CONSUMER.LIST.{stream.name}",
            f"{JS_API}.CONSUMER.INFO.{stream.name}.*",
        ]
    return Grant(tuple(publish), (f"{inbox_prefix(OPS)}.>",))


# -- keys ------------------------------------------------------------------------------------


def new_seed() -> bytes:
    """A new user NKEY seed (`SU...`): the secret a service signs the server's nonce with."""
    return bytes(nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    """The user's public key (`U...`), what the server's configuration names."""
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


def ensure_seed(path: Path, mode: int = 0o600) -> bytes:
    """The seed in `path`, made once (an existing one is kept: rotation is deliberate)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            out.write(new_seed() + b"\n")
    return path.read_bytes().strip()


# -- the server's configuration --------------------------------------------------------------


def authorization(users: Sequence[tuple[BusUser, str]], streams: Streams) -> str:
    """The nats-server `authorization` block for `users` (each with its public key): only
    they may connect (anonymous connections are refused), each within its grant."""
    entries = []
    for user, key in users:
        allowed = grant(user, streams)
        permissions: dict[str, Any] = {
            "publish": {"allow": list(allowed.publish)},
            "subscribe": {"allow": list(allowed.subscribe)},
        }
        # JSON is valid NATS configuration; quoted, a `$JS...` subject is no variable
        entries.append(f"    {{nkey: {json.dumps(key)}, permissions: {json.dumps(permissions)}}}")
    return "authorization {\n  users = [\n" + ",\n".join(entries) + "\n  ]\n}\n"
