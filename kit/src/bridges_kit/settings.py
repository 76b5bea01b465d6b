"""Settings every service shares, read from BRIDGES_* environment variables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import (
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from bridges_kit import sealing
from bridges_kit.bus import BusLogin, servers_of
from bridges_kit.claim_mapping import ClaimMapping
from bridges_kit.rate_limits import Rate
from bridges_kit.sealing import KeyRing, KeyRingInvalid
from bridges_schema import DEFAULT_NAMESPACE, Role


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it with its own defaults and extra fields."""

    model_config = SettingsConfigDict(env_prefix="BRIDGES_", extra="ignore", frozen=True)
    # `<setting>_file` -> `<setting>`: a secret read from a file (a service adds its own)
    secret_files: ClassVar[Mapping[str, str]] = {"metrics_token_file": "metrics_token"}

    service_name: str = "bridges"
    environment: Environment = Environment.DEVELOPMENT
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8100, ge=0, le=65535)
    public_url: str | None = Field(
        default=None, description="externally visible base URL, used in links"
    )
    log_level: str = "info"
    log_format: str = Field(default="json", pattern="^(json|console)$")

    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/bridges")
    database_password_file: Path | None = Field(
        default=None,
        description="a file holding the database password (a compose secret), put into "
        "database_url so the password never sits in the environment",
    )
    db_connect_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="at start, how long PostgreSQL is waited for (it may be starting too)",
    )
    db_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_pool_min: int = Field(default=1, ge=0, le=100)
    db_pool_max: int = Field(default=10, ge=1, le=200)
    db_acquire_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="how long a request waits for a pooled connection before a 503",
    )

    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        description="one server, or a cluster's servers comma-separated",
    )
    nats_replicas: int = Field(
        default=1, ge=1, le=5, description="copies of each stream in a JetStream cluster"
    )
    nats_namespace: str = DEFAULT_NAMESPACE
    nats_connect_timeout_s: float = Field(default=30.0, gt=0)
    nats_nkey_seed_file: Path | None = Field(
        default=None,
        description="this service's NATS user: a file holding its NKEY seed (SU...); the "
        "server names its public key and what it may publish (bridges_kit.bus_access)",
    )
    nats_credentials_file: Path | None = Field(
        default=None,
        description="instead of an NKEY seed: a NATS credentials file (user JWT and seed, as "
        "an operator-mode server or Synadia Cloud issues them)",
    )
    nats_tls_ca_file: Path | None = Field(
        default=None,
        description="the CA that signed the NATS servers' certificates (tls:// URLs); none: "
        "the system's CAs",
    )

    jwt_public_key: SecretStr | None = Field(default=None, description="PEM public key")
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "bridges"
    jwt_audience: str = "bridges"
    jwt_algorithms: tuple[str, ...] = ("ES256", "RS256", "EdDSA")
    jwt_access_token_types: tuple[str, ...] = Field(
        default=("at+jwt",),
        min_length=1,
        description="the `typ` header an access token must carry (RFC 9068: at+jwt), so an ID "
        "token (typ JWT) is never taken for one; a provider that marks neither: see "
        "docs/security.md",
    )
    jwt_max_lifetime_s: int = Field(
        default=12 * 3600,
        ge=60,
        description="a token living longer than this (exp - iat) is refused, however signed",
    )
    allow_http_identity_provider: bool = Field(
        default=False,
        description="production only: accept an http:// JWKS URL and OpenID provider (the "
        "compose test's stand-in provider); never for a real deployment",
    )
    # where the identity provider puts roles, agency, name and email (docs/security.md)
    jwt_role_claim: str = Field(default="role", min_length=1, description="e.g. realm_access.roles")
    jwt_role_values: dict[str, Role] = Field(
        default={}, description="provider role value -> Bridges role; empty: Bridges role names"
    )
    jwt_agency_claim: str = Field(default="agency_id", min_length=1)
    jwt_name_claim: str = Field(default="name", min_length=1)
    jwt_email_claim: str = Field(default="email", min_length=1)

    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # slow and numerous clients (bridges_kit.http_server)
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="a request's headers arrive within this, or 408"
    )
    http_body_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="a request's body arrives within this, or closed"
    )
    http_idle_timeout_s: float = Field(
        default=5.0, gt=0, le=600, description="an idle keep-alive connection is then closed"
    )
    http_max_connections: int = Field(
        default=2048, ge=1, description="connections this process holds; one more gets 503"
    )
    http_max_connections_per_address: int = Field(
        default=256,
        ge=0,
        description="connections one client address holds (trusted proxies exempt); 0: no limit",
    )
    max_in_flight: int = Field(
        default=256, ge=1, description="requests answered at once; one more gets 503 at once"
    )
    cors_allow_origins: list[str] = Field(
        default=[],
        description="browser origins allowed to call this API (scheme://host[:port]); none: no CORS",
    )
    rate_limits: bool = Field(
        default=True,
        description="refuse writes over the rates below (429); false: off",
    )
    rate_limit_token_writes: Rate = Field(
        default=Rate(per_minute=120, burst=30), description="writes per verified token subject"
    )
    rate_limit_address_writes: Rate = Field(
        default=Rate(per_minute=600, burst=120),
        description="writes per client address (an office behind one address shares it)",
    )
    rate_limit_max_keys: int = Field(
        default=50_000, ge=1, description="tokens or addresses remembered per limit (LRU)"
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default=[],
        description="proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client",
    )
    ops_only_endpoints: bool | None = Field(
        default=None,
        description="/metrics, /docs, /redoc and /openapi.json for ops and admins only "
        "(default: true in production)",
    )
    service_key: SecretStr | None = Field(
        default=None,
        description="a secret the Bridges services share (32+ chars): one presents it to "
        "another's internal routes (notifications fetching a family's message from referrals)",
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="a bearer token Prometheus may scrape /metrics with (32+ chars)"
    )
    metrics_token_file: Path | None = Field(
        default=None, description="a file holding metrics_token (a compose secret)"
    )
    consumer_max_attempts: int = Field(
        default=5, ge=1, le=100, description="deliveries failing in the handler, then parked"
    )
    consumer_max_deliver: int = Field(
        default=20, ge=2, le=1000, description="deliveries in all (crashes count), then parked"
    )
    consumer_batch: int = Field(default=32, ge=1, le=1000)
    consumer_ack_wait_s: float = Field(default=10.0, ge=1, le=300)
    outbox_batch: int = Field(default=200, ge=1, le=10_000)
    outbox_poll_s: float = Field(default=1.0, gt=0)
    outbox_keep_published_h: float = Field(default=72.0, ge=1, description="then pruned")
    processed_events_keep_days: float = Field(default=14.0, ge=1, description="then pruned")
    prune_interval_s: float = Field(default=3600.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    metrics_sample_s: float = Field(
        default=15.0,
        gt=0,
        description="how often the gauges of state are sampled (bridges_kit.sampling)",
    )

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """BRIDGES_DATABASE_PASSWORD_FILE, BRIDGES_METRICS_TOKEN_FILE (and a service's own
        `secret_files`): the secrets are read from the files (mounted by the orchestrator),
        never taken from the environment."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        password_file = data.get("database_password_file")
        if password_file:
            password = _read_secret(Path(password_file))
            url = data.get("database_url", cls.model_fields["database_url"].default)
            raw = url.get_secret_value() if isinstance(url, SecretStr) else str(url)
            data["database_url"] = with_password(raw, password)
        for file_setting, setting in cls.secret_files.items():
            path = data.get(file_setting)
            if path:
                data[setting] = _read_secret(Path(path))
        return data

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        return [_origin(o) for o in origins]

    @field_validator("service_key", "metrics_token", mode="before")
    @classmethod
    def _long_secret(cls, value: Any, info: ValidationInfo) -> Any:
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        if secret in (None, ""):  # compose passes an unset variable as ""
            return None
        if not isinstance(secret, str) or len(secret) < 32:
            raise ValueError(
                f"BRIDGES_{str(info.field_name).upper()} must be at least 32 characters"
            )
        return value

    @property
    def ops_only(self) -> bool:
        """Whether /metrics and the API docs answer ops and admins only."""
        if self.ops_only_endpoints is None:
            return self.environment is Environment.PRODUCTION
        return self.ops_only_endpoints

    @property
    def base_url(self) -> str:
        """This API's base URL for its own links: BRIDGES_PUBLIC_URL, else where it listens
        (never the request's Host header, which the client chooses)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @model_validator(mode="after")
    def _consumer_bounds(self) -> ServiceSettings:
        if self.consumer_max_deliver <= self.consumer_max_attempts:
            raise ValueError("consumer_max_deliver must be above consumer_max_attempts")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.environment is Environment.PRODUCTION:
            if not (self.jwt_public_key or self.jwt_public_key_file or self.jwt_jwks_url):
                raise ValueError("production needs BRIDGES_JWT_PUBLIC_KEY[_FILE] or _JWKS_URL")
            if not self.public_url:  # the API's own links must not come from the Host header
                raise ValueError("production needs BRIDGES_PUBLIC_URL")
            require_https("BRIDGES_PUBLIC_URL", self.public_url)
            if self.jwt_jwks_url and not self.allow_http_identity_provider:
                require_https("BRIDGES_JWT_JWKS_URL", self.jwt_jwks_url)
            # anyone who reaches an open bus could speak for a service (docs/security.md)
            if not (self.nats_nkey_seed_file or self.nats_credentials_file):
                raise ValueError(
                    "production needs BRIDGES_NATS_NKEY_SEED_FILE or BRIDGES_NATS_CREDENTIALS_FILE"
                )
            if any(not server.startswith("tls://") for server in servers_of(self.nats_url)):
                raise ValueError("production needs tls:// NATS servers in BRIDGES_NATS_URL")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Settings from an explicit BRIDGES_* mapping (several services in one process), read
        by the same pydantic-settings source that reads the process environment in production:
        one parser for both (names, JSON values, empty values)."""
        return cls.model_validate(_GivenEnvironment(cls, env)())

    def bus_login(self, user: str) -> BusLogin:
        """How this process signs in to NATS as `user` (bridges_kit.bus_access)."""
        return BusLogin(
            user,
            nkey_seed_file=self.nats_nkey_seed_file,
            credentials_file=self.nats_credentials_file,
            tls_ca_file=self.nats_tls_ca_file,
        )

    def claim_mapping(self) -> ClaimMapping:
        return ClaimMapping(
            role_claim=self.jwt_role_claim,
            role_values=self.jwt_role_values,
            agency_claim=self.jwt_agency_claim,
            name_claim=self.jwt_name_claim,
            email_claim=self.jwt_email_claim,
        )

    def jwt_key_pem(self) -> str | None:
        if self.jwt_public_key is not None:
            return self.jwt_public_key.get_secret_value()
        if self.jwt_public_key_file is not None:
            return self.jwt_public_key_file.read_text(encoding="utf-8")
        return None


class KeyRingSettings(ServiceSettings):
    """Settings of a service that seals what it stores (`bridges_kit.sealing`): its key ring, from
    a file or a secret setting; production refuses to start without one."""

    sealed_what: ClassVar[str] = "stored data"  # what the ring seals, as errors say it

    data_key_file: Path | None = Field(
        default=None, description="the key ring sealing stored data: a JSON file (see sealing)"
    )
    data_keys: SecretStr | None = Field(
        default=None, description="the same key ring given as a secret setting instead of a file"
    )

    @field_validator("data_keys", mode="before")
    @classmethod
    def _key_ring_document(cls, value: Any) -> Any:
        """The key ring as text, also when `from_env` already parsed its JSON."""
        return json.dumps(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _one_key_ring(self) -> Self:
        if self.data_key_file is not None and self.data_keys is not None:
            raise ValueError("give the key ring once: BRIDGES_DATA_KEY_FILE or BRIDGES_DATA_KEYS")
        unsealable = self.data_key_file is None and self.data_keys is None
        if self.environment is Environment.PRODUCTION and unsealable:
            raise ValueError(
                f"production needs the key ring that seals {self.sealed_what}: "
                "BRIDGES_DATA_KEY_FILE (or BRIDGES_DATA_KEYS)"
            )
        return self

    def key_ring(self) -> KeyRing:
        """The key ring, read now (a file may have changed since the settings were)."""
        if self.data_key_file is not None:
            return sealing.read_key_file(self.data_key_file)
        if self.data_keys is not None:
            try:
                return KeyRing.from_json(self.data_keys.get_secret_value())
            except KeyRingInvalid as exc:
                raise KeyRingInvalid(f"BRIDGES_DATA_KEYS: {exc}") from None
        raise KeyRingInvalid(
            f"no key ring to seal {self.sealed_what}: set BRIDGES_DATA_KEY_FILE (create one "
            "with `python -m bridges_referrals keys add --file <path>`; `make up` makes its own)"
        )


def require_https(name: str, url: str) -> None:
    """Production: keys, links and sign-in travel over TLS only (a key set fetched over plain
    HTTP can be swapped on the way; a link over it leaks the token that follows it)."""
    if not url.startswith("https://"):
        raise ValueError(f"production needs an https:// URL in {name}, not {url!r}")


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read the secret file {path}: {exc.strerror}") from None


def with_password(url: str, password: str) -> str:
    """`url` (postgresql://user@host/db) with `password` put in, quoted for a URL."""
    parts = urlsplit(url)
    if parts.username is None:
        raise ValueError("a database password file needs a user in the database URL")
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    host = parts.netloc.rsplit("@", 1)[1]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _origin(value: str) -> str:
    """An origin exactly as browsers send it; a wildcard is refused (name each origin)."""
    if value == "*":
        raise ValueError("'*' is not allowed in BRIDGES_CORS_ALLOW_ORIGINS: name each origin")
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "*" in value
        or value != f"{parts.scheme}://{parts.netloc}"  # no path, query or trailing slash
        or parts.username is not None
    ):
        raise ValueError(f"{value!r} is not an origin like https://app.example.org[:port]")
    return value


class _GivenEnvironment(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = dict(env)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )
