"""Telling an outage (PostgreSQL or NATS away, restarting, overloaded: wait and retry, lose
nothing) from a fault of the work itself (a bug, a bad message: retry a bounded number of
times, then park it for a person)."""

from __future__ import annotations

import socket

import asyncpg
import nats.errors
import nats.js.errors

OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    # PostgreSQL: connection lost or refused, shutting down or starting up, out of connections,
    # a serialization failure or deadlock (the same work succeeds when tried again)
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
    # a pooled connection the server closed an instant before the client noticed: its
    # protocol is left mid-error ("cannot switch to state ..."), which asyncpg reports so
    asyncpg.exceptions._base.InternalClientError,
    # NATS: disconnected, reconnecting, JetStream not answering
    nats.errors.ConnectionClosedError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
    nats.errors.TimeoutError,
    nats.js.errors.ServiceUnavailableError,
    # the network itself (not every OSError: a local file or permission error is a fault)
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)

# What a NATS call may raise that is not worth a traceback: any NATS error, or an outage.
NATS_ERRORS: tuple[type[Exception], ...] = (nats.errors.Error, *OUTAGE_ERRORS)


def describe(exc: BaseException) -> str:
    """A short, log-safe description (the exception's class and first line)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
