"""`bridges doctor`: what is wrong, in plain words, with what to do. Each finding is ok, warn or
fail; any fail makes the exit code 1. It reads, never changes: settings, PostgreSQL and each
database's migrations and parked events, NATS with its streams (copies) and consumers (how far
behind), the data-key ring against the cases that need it, the identity provider's discovery
and signing keys, clock skew (PostgreSQL, the provider) and disk space."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
import nats
import nats.errors
from nats.js.errors import NotFoundError

from bridges_devstack.ops.target import SERVICES, Target
from bridges_directory.bootstrap import MIGRATIONS as DIRECTORY_MIGRATIONS
from bridges_kit import db, sealing
from bridges_kit.bus import BusLogin, servers_of
from bridges_notifications.bootstrap import MIGRATIONS as NOTIFICATIONS_MIGRATIONS
from bridges_referrals import data_keys
from bridges_referrals.bootstrap import MIGRATIONS as REFERRALS_MIGRATIONS
from bridges_schema import Streams

Status = Literal["ok", "warn", "fail"]
MIGRATIONS = {
    "directory": DIRECTORY_MIGRATIONS,
    "referrals": REFERRALS_MIGRATIONS,
    "notifications": NOTIFICATIONS_MIGRATIONS,
}
TIMEOUT_S = 3.0
BEHIND_WARN = 1000  # a consumer this many events behind: is its service running?
SKEW_WARN_S = 2.0  # tokens carry exp/nbf; SLAs are minutes: seconds already matter
DISK_WARN_FRACTION = 0.10
DISK_WARN_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Finding:
    area: str
    status: Status
    says: str
    fix: str = ""


def _start_postgres(service: str) -> str:
    return (
        "start PostgreSQL: `make up` starts one; with compose `docker compose up -d postgres`; "
        f"else check BRIDGES_{service.upper()}_DATABASE_URL"
    )


START_NATS = (
    "start NATS: `make up` starts nats-server; with compose `docker compose up -d nats` (a "
    "cluster: every node named in BRIDGES_NATS_URL); then `bridges doctor` again"
)

SIGN_IN_NATS = (
    "sign in as the ops user: BRIDGES_NATS_NKEY_SEED_FILE (or _CREDENTIALS_FILE) names its key, "
    "BRIDGES_NATS_TLS_CA_FILE the servers' CA (compose: the ops profile mounts both; `make up`: "
    ".bridges/nats-keys/nats-ops.nk, found by itself)"
)


async def examine(target: Target) -> list[Finding]:
    found = [Finding("settings", "ok", f"looking at the deployment named by {target.source}")]
    missing = [s for s in SERVICES if s not in target.databases]
    if missing:
        found.append(
            Finding(
                "settings",
                "fail",
                f"no database named for {', '.join(missing)}",
                "set BRIDGES_<SERVICE>_DATABASE_URL for each service",
            )
        )
    checks: list[Awaitable[list[Finding]]] = [
        *(_database(target, s) for s in SERVICES if s in target.databases),
        _nats(target),
        _identity(target),
    ]
    for findings in await asyncio.gather(*checks):
        found.extend(findings)
    found.extend(_disk(target))
    return found


async def _connect(target: Target, service: str) -> asyncpg.Connection:
    conn: asyncpg.Connection = await asyncio.wait_for(
        db.connect(target.databases[service], target.schema(service)), TIMEOUT_S
    )
    return conn


async def _database(target: Target, service: str) -> list[Finding]:
    area = f"PostgreSQL ({service})"
    try:
        conn = await _connect(target, service)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return [Finding(area, "fail", f"cannot connect: {_short(exc)}", _start_postgres(service))]
    try:
        found = [Finding(area, "ok", f"reachable, {await conn.fetchval('SHOW server_version')}")]
        found.append(await _migrations(conn, service))
        found.append(await _clock(conn, area))
        found.append(await _dead_letters(conn, service))
        if service == "referrals":
            found.append(await _key_ring(conn, target))
        return found
    finally:
        await conn.close()


async def _migrations(conn: asyncpg.Connection, service: str) -> Finding:
    area = f"migrations ({service})"
    known = [m.name for m in db.load_migrations(MIGRATIONS[service])]
    try:
        applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    except asyncpg.UndefinedTableError:
        applied = set()
    pending = [name for name in known if name not in applied]
    ahead = sorted(applied - set(known))
    if pending:
        return Finding(
            area,
            "fail",
            f"{len(pending)} of {len(known)} not applied ({', '.join(pending[:3])}...)",
            f"`bridges {service} migrate` (compose: `docker compose run --rm {service}-migrate`)",
        )
    if ahead:
        return Finding(
            area,
            "warn",
            f"the database has {len(ahead)} migration(s) this code does not know ({ahead[0]})",
            "a newer release migrated it: run that release's code (expand/contract, "
            "docs/operations.md#upgrade)",
        )
    return Finding(area, "ok", f"all {len(known)} applied")


async def _clock(conn: asyncpg.Connection, area: str) -> Finding:
    started = time.time()
    server = (await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())")).__float__()
    skew = server - (started + time.time()) / 2
    if abs(skew) > SKEW_WARN_S:
        return Finding(
            "clock",
            "warn",
            f"this machine and {area} disagree by {skew:+.1f} s",
            "run NTP (chrony, systemd-timesyncd) on every host",
        )
    return Finding("clock", "ok", f"this machine and {area} agree ({skew:+.2f} s)")


async def _dead_letters(conn: asyncpg.Connection, service: str) -> Finding:
    area = f"dead letters ({service})"
    try:
        parked = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL")
    except asyncpg.UndefinedTableError:
        return Finding(area, "ok", "none (not migrated yet)")
    if parked:
        return Finding(
            area,
            "warn",
            f"{parked} event(s) parked by this service's consumers",
            f"`bridges {service} dead-letters list --open`, fix the cause, then "
            "`... replay --id N` (docs/operations.md#dead-letters)",
        )
    return Finding(area, "ok", "no event parked")


async def _key_ring(conn: asyncpg.Connection, target: Target) -> Finding:
    area = "data-key ring"
    if target.data_key_file is None:
        return Finding(
            area,
            "warn",
            "no key ring named: cannot check that every case's key is in it",
            "set BRIDGES_DATA_KEY_FILE to the ring the referrals service reads",
        )
    try:
        ring = sealing.read_key_file(target.data_key_file)
    except sealing.KeyRingInvalid as exc:
        return Finding(area, "fail", str(exc), "restore the ring from its backup (kept apart)")
    try:
        usage = await data_keys.usage(conn)
    except asyncpg.UndefinedTableError:
        return Finding(area, "ok", f"{len(ring.keys)} key(s), active {ring.active!r}")
    missing = usage.missing(ring)
    if missing:
        return Finding(
            area,
            "fail",
            f"cases need key(s) the ring lacks: {', '.join(sorted(missing))}",
            "restore the ring from its backup; without it those families' data cannot be read",
        )
    unused = sorted(k for k in ring.keys if k != ring.active and not usage.by_key.get(k))
    note = f"; unused: {', '.join(unused)} (may be removed)" if unused else ""
    return Finding(
        area,
        "ok",
        f"{len(ring.keys)} key(s), active {ring.active!r}, every case's key present{note}",
    )


async def _nats(target: Target) -> list[Finding]:
    servers = servers_of(target.nats_url)
    try:
        nc = await connect_nats(servers, "bridges-doctor", target.nats_login)
    except nats.errors.Error as exc:  # it answered, and refused us
        says = f"refused the ops user at {target.nats_url}: {_short(exc)}"
        return [Finding("NATS", "fail", says, SIGN_IN_NATS)]
    except Exception as exc:
        return [
            Finding(
                "NATS", "fail", f"not reachable at {target.nats_url}: {_short(exc)}", START_NATS
            )
        ]
    try:
        found = [
            Finding(
                "NATS",
                "ok",
                f"reachable at {nc.connected_url.netloc if nc.connected_url else target.nats_url}",
            )
        ]
        js = nc.jetstream(timeout=TIMEOUT_S)
        for stream in Streams(target.namespace).all():
            found.extend(await _stream(js, stream.name))
        return found
    finally:
        await nc.close()


async def _stream(js: Any, name: str) -> list[Finding]:
    area = f"stream {name}"
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return [
            Finding(
                area,
                "warn",
                "not created yet",
                "the services create their streams when they start: start them",
            )
        ]
    except Exception as exc:
        return [Finding(area, "fail", f"JetStream does not answer: {_short(exc)}", START_NATS)]
    replicas = info.config.num_replicas or 1
    found = [
        Finding(
            area,
            "ok",
            f"{info.state.messages} event(s), {replicas} cop{'y' if replicas == 1 else 'ies'}",
        )
    ]
    for consumer in await js.consumers_info(name):
        behind = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
        says = f"{consumer.num_pending or 0} not delivered, {consumer.num_ack_pending or 0} unacknowledged, {consumer.num_redelivered or 0} redelivered"
        if behind > BEHIND_WARN:
            found.append(
                Finding(
                    f"consumer {consumer.name}",
                    "warn",
                    f"{behind} event(s) behind ({says})",
                    "is the service that reads it running and healthy? its logs say why "
                    "(docs/operations.md#consumer-behind)",
                )
            )
        else:
            found.append(Finding(f"consumer {consumer.name}", "ok", says))
    return found


async def _identity(target: Target) -> list[Finding]:
    area = "identity provider"
    if not target.issuer:
        return [Finding(area, "warn", "no issuer named", "set BRIDGES_JWT_ISSUER")]
    url = f"{target.issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            answer = await client.get(url)
            answer.raise_for_status()
            discovery = answer.json()
            keys = (await client.get(discovery["jwks_uri"])).json().get("keys", [])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return [
            Finding(
                area,
                "fail",
                f"cannot read {url}: {_short(exc)}",
                "sign-in and every API call fail without it: check the provider is up and "
                "BRIDGES_OIDC_ISSUER names it (docs/security.md)",
            )
        ]
    found = [Finding(area, "ok", f"{target.issuer}: discovery and {len(keys)} signing key(s)")]
    if not keys:
        found.append(
            Finding(
                "signing keys",
                "fail",
                "the provider publishes no signing key",
                "configure the provider's keys",
            )
        )
    date = answer.headers.get("date")
    if date:
        skew = parsedate_to_datetime(date).timestamp() - time.time()
        if abs(skew) > 5:  # HTTP dates have a one-second grain
            found.append(
                Finding(
                    "clock",
                    "warn",
                    f"this machine and the provider disagree by {skew:+.0f} s",
                    "run NTP on every host: tokens' exp and nbf depend on it",
                )
            )
    return found


def _disk(target: Target) -> list[Finding]:
    path = target.run_dir or Path.cwd()
    usage = shutil.disk_usage(path)
    free = usage.free / usage.total
    says = f"{usage.free / 1024**3:.1f} GB free of {usage.total / 1024**3:.0f} GB ({free:.0%}) at {path}"
    if free < DISK_WARN_FRACTION or usage.free < DISK_WARN_BYTES:
        return [
            Finding(
                "disk",
                "warn",
                says,
                "free space before PostgreSQL and JetStream run out (docs/operations.md#disk)",
            )
        ]
    return [Finding("disk", "ok", says)]


async def _quiet(_: Exception) -> None:
    """nats-py prints every connection error with its traceback; the finding says it once."""


async def connect_nats(servers: list[str], name: str, login: BusLogin) -> Any:
    """One attempt at each server as `login`, bounded in time (nats-py alone may keep trying);
    a server that refuses connections is said so at once."""
    refused: list[str] = []
    for server in servers:
        parts = urlsplit(server if "://" in server else f"nats://{server}")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, parts.port or 4222), TIMEOUT_S
            )
            writer.close()
        except (OSError, TimeoutError) as exc:
            refused.append(f"{parts.hostname}:{parts.port or 4222} ({_short(exc)})")
    if len(refused) == len(servers):
        raise ConnectionRefusedError("; ".join(refused))
    return await asyncio.wait_for(
        nats.connect(
            servers,
            connect_timeout=TIMEOUT_S,
            max_reconnect_attempts=0,
            allow_reconnect=False,
            error_cb=_quiet,
            name=name,
            **login.options(),
        ),
        TIMEOUT_S * (len(servers) + 1),
    )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def as_json(findings: list[Finding]) -> list[dict[str, str]]:
    return [asdict(f) for f in findings]
