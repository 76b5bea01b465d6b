"""The deployment the ops commands look at: each service's database, NATS, the data-key ring
and the identity provider. From the environment (production, the compose `ops` profile) or,
where it names nothing, from the stack.json that `make up` writes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridges_devstack import bus_users
from bridges_kit.bus import BusLogin
from bridges_kit.bus_access import OPS
from bridges_kit.sealing import DEV_KEY_FILE_NAME
from bridges_kit.settings import with_password
from bridges_schema import DEFAULT_NAMESPACE

SERVICES = ("directory", "referrals", "notifications")


class NoTarget(ValueError):
    """Nothing says where the databases are."""


def _with_password_file(env: Mapping[str, str], service: str) -> str:
    """The service's URL, its password from BRIDGES_<SERVICE>_DATABASE_PASSWORD_FILE if set."""
    url = env[f"BRIDGES_{service.upper()}_DATABASE_URL"]
    password_file = env.get(f"BRIDGES_{service.upper()}_DATABASE_PASSWORD_FILE")
    if not password_file:
        return url
    return with_password(url, Path(password_file).read_text(encoding="utf-8").strip())


def _path(env: Mapping[str, str], name: str) -> Path | None:
    return Path(env[name]) if env.get(name) else None


@dataclass(frozen=True)
class Target:
    databases: dict[str, str]  # service -> PostgreSQL URL
    nats_url: str
    source: str  # where this came from, in plain words
    schemas: dict[str, str] = field(default_factory=dict)  # service -> schema (default public)
    namespace: str = DEFAULT_NAMESPACE
    data_key_file: Path | None = None
    issuer: str | None = None
    run_dir: Path | None = None
    # the ops tools sign in to NATS as `ops` (bridges_kit.bus_access): read every stream,
    # republish a backup's events
    nats_login: BusLogin = field(default_factory=lambda: BusLogin(OPS))

    def schema(self, service: str) -> str:
        return self.schemas.get(service, "public")

    @classmethod
    def resolve(cls, env: Mapping[str, str], run_dir: Path) -> Target:
        """BRIDGES_<SERVICE>_DATABASE_URL (and _DATABASE_PASSWORD_FILE, _DB_SCHEMA), BRIDGES_NATS_URL
        (and the ops user's BRIDGES_NATS_NKEY_SEED_FILE or _CREDENTIALS_FILE, _TLS_CA_FILE),
        BRIDGES_NATS_NAMESPACE, BRIDGES_DATA_KEY_FILE, BRIDGES_JWT_ISSUER; else run_dir's
        stack.json (`make up`) and the ops key beside it."""
        databases = {
            s: _with_password_file(env, s)
            for s in SERVICES
            if env.get(f"BRIDGES_{s.upper()}_DATABASE_URL")
        }
        if databases:
            key_file = env.get("BRIDGES_DATA_KEY_FILE")
            return cls(
                databases=databases,
                schemas={
                    s: env[f"BRIDGES_{s.upper()}_DB_SCHEMA"]
                    for s in SERVICES
                    if env.get(f"BRIDGES_{s.upper()}_DB_SCHEMA")
                },
                nats_url=env.get("BRIDGES_NATS_URL", "nats://127.0.0.1:4222"),
                nats_login=BusLogin(
                    OPS,
                    nkey_seed_file=_path(env, "BRIDGES_NATS_NKEY_SEED_FILE"),
                    credentials_file=_path(env, "BRIDGES_NATS_CREDENTIALS_FILE"),
                    tls_ca_file=_path(env, "BRIDGES_NATS_TLS_CA_FILE"),
                ),
                namespace=env.get("BRIDGES_NATS_NAMESPACE", DEFAULT_NAMESPACE),
                data_key_file=Path(key_file) if key_file else None,
                issuer=env.get("BRIDGES_JWT_ISSUER") or None,
                source="the environment (BRIDGES_<SERVICE>_DATABASE_URL ...)",
            )
        stack_file = run_dir / "stack.json"
        if not stack_file.exists():
            raise NoTarget(
                "nothing says where Bridges runs: set BRIDGES_DIRECTORY_DATABASE_URL, "
                "BRIDGES_REFERRALS_DATABASE_URL, BRIDGES_NOTIFICATIONS_DATABASE_URL and "
                f"BRIDGES_NATS_URL, or run `make up` (it writes {stack_file})"
            )
        stack = json.loads(stack_file.read_text())
        return cls(
            databases=dict(stack["databases"]),
            nats_url=stack["nats_url"],
            nats_login=BusLogin(
                OPS, nkey_seed_file=bus_users.seed_file(run_dir / bus_users.KEYS_DIR, OPS)
            ),
            data_key_file=run_dir / DEV_KEY_FILE_NAME,
            issuer=stack.get("identity", {}).get("issuer"),
            run_dir=run_dir,
            source=f"{stack_file} (make up)",
        )
