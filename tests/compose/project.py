"""One compose project of the compose test: docker-compose.yml (and overlays) with a generated
env file and secrets folder, driven through the compose client; what its containers are and
say, read through `docker inspect` and `docker-compose logs`."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bridges_devstack import bus_users
from bridges_devstack.demo import demo_users, write_demo_users
from bridges_devstack.identity import access_token
from bridges_devstack.servers import free_port
from bridges_kit.auth import DEV_KEY_NAME, ensure_dev_keypair
from bridges_kit.sealing import new_key_ring, write_key_file

ROOT = Path(__file__).resolve().parents[2]
TEST_OVERLAY = ROOT / "deploy" / "compose-test" / "docker-compose.test.yml"
CLUSTER_OVERLAY = ROOT / "docker-compose.cluster.yml"
COMPOSE = os.environ.get("BRIDGES_COMPOSE", "docker-compose")
DOCKER = os.environ.get("BRIDGES_DOCKER", "docker")
# the images built from Debian packages (deploy/compose-test/images.sh) in place of upstream's
LOCAL_IMAGES = {
    "BRIDGES_PYTHON_IMAGE": "bridges-local/python:bookworm",
    "BRIDGES_POSTGRES_IMAGE": "bridges-local/postgres:bookworm",
    "BRIDGES_NATS_IMAGE": "bridges-local/nats:bookworm",
    "BRIDGES_CADDY_IMAGE": "bridges-local/caddy:bookworm",
    "BRIDGES_NODE_IMAGE": "bridges-local/python:bookworm",  # unused: the app comes prebuilt
    "BRIDGES_MAILPIT_IMAGE": "bridges-local/mailpit:test",
}
SUBNET = "172.30.146.0/24"


def _secret_file(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o644)  # the containers' users read it; the folder itself is 0700


@dataclass
class ComposeProject:
    name: str
    workdir: Path
    overlays: tuple[Path, ...] = (TEST_OVERLAY,)
    https_port: int = field(default_factory=free_port)
    idp_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.secrets = self.workdir / "secrets"
        self.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (
            "postgres_password",
            "directory_db_password",
            "referrals_db_password",
            "notifications_db_password",
            "grafana_admin_password",
        ):
            _secret_file(self.secrets / name, secrets.token_urlsafe(24))
        _secret_file(self.secrets / "metrics_token", secrets.token_hex(24))
        _secret_file(self.secrets / "listing_link_key", secrets.token_urlsafe(32))
        bus_users.deployment_secrets(self.secrets, bus_users.COMPOSE_NODES)  # as secrets.sh
        keys = self.secrets / "data-keys.json"
        write_key_file(keys, new_key_ring())
        keys.chmod(0o644)
        private_key, _ = ensure_dev_keypair(self.workdir)
        _secret_file(self.secrets / "idp_key.pem", private_key.read_text())
        users = write_demo_users(self.workdir, demo_users())
        _secret_file(self.secrets / "demo-users.json", users.read_text())
        self.env_file = self.workdir / "env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.environment().items()))

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}"

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def signing_key(self) -> str:
        return (self.workdir / DEV_KEY_NAME).read_text()

    def environment(self) -> dict[str, str]:
        from bridges_devstack.identity import PROVIDER_ROLES

        return {
            **LOCAL_IMAGES,
            "BRIDGES_APP_SOURCE": "dist",
            "BRIDGES_SECRETS_DIR": str(self.secrets),
            "BRIDGES_SUBNET": SUBNET,
            "BRIDGES_PUBLISH_ADDRESS": "127.0.0.1",
            "BRIDGES_PUBLISH_HTTP_PORT": str(free_port()),
            "BRIDGES_PUBLISH_HTTPS_PORT": str(self.https_port),
            "BRIDGES_TEST_IDP_PORT": str(self.idp_port),
            "BRIDGES_DOMAIN": "localhost",
            "BRIDGES_TLS": "internal",
            "BRIDGES_OIDC_ISSUER": self.issuer,
            "BRIDGES_OIDC_ORIGIN": self.issuer,
            "BRIDGES_OIDC_JWKS_URL": "http://idp:8104/jwks",
            "BRIDGES_TEST_HTTP_IDENTITY_PROVIDER": "true",  # the stand-in speaks http only
            "BRIDGES_OIDC_ROLE_CLAIM": "roles",
            "BRIDGES_OIDC_ROLE_VALUES": json.dumps({v: k.value for k, v in PROVIDER_ROLES.items()}),
            "BRIDGES_OIDC_AGENCY_CLAIM": "bridges_agency",
            # the receiver container is on the compose network, a private range
            "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": json.dumps([SUBNET]),
        }

    # -- the compose client --------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        files = [
            arg for f in (ROOT / "docker-compose.yml", *self.overlays) for arg in ("-f", str(f))
        ]
        return [
            COMPOSE,
            "--project-name",
            self.name,
            "--env-file",
            str(self.env_file),
            "--project-directory",
            str(ROOT),
            *files,
            *args,
        ]

    def run(self, *args: str, timeout_s: float = 600, check: bool = True) -> str:
        started = time.monotonic()
        done = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=ROOT,
            check=False,
        )
        took = time.monotonic() - started
        print(
            f"$ docker-compose {' '.join(args)}  ({took:.1f} s, exit {done.returncode})", flush=True
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"docker-compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def logs(self, service: str) -> str:
        return self.run("logs", "--no-color", "--no-log-prefix", service, check=False)

    def containers(
        self, service: str | None = None, *, every: bool = False
    ) -> list[dict[str, Any]]:
        """`docker inspect` of the project's containers (of one service)."""
        filters = [f"label=com.docker.compose.project={self.name}"]
        if service:
            filters.append(f"label=com.docker.compose.service={service}")
        ids = docker(
            "ps",
            "-q",
            *(["-a"] if every else []),
            *[arg for f in filters for arg in ("--filter", f)],
        ).split()
        return json.loads(docker("inspect", *ids)) if ids else []

    def healthy(self, services: dict[str, int]) -> bool:
        """Every service has its number of containers running, healthy where checked."""
        for service, count in services.items():
            containers = self.containers(service)
            if len(containers) != count:
                return False
            for c in containers:
                health = c["State"].get("Health", {}).get("Status")
                if c["State"]["Status"] != "running" or health not in (None, "healthy"):
                    return False
        return True

    def webhooks(self) -> list[dict[str, Any]]:
        """What the receiver container got, from its log (one JSON line a request), each with
        its body decoded."""
        lines = [line for line in self.logs("receiver").splitlines() if line.startswith("{")]
        return [
            {**hook, "body": base64.b64decode(hook["body_base64"])}
            for hook in map(json.loads, lines)
        ]

    def webhook_for(self, referral_id: str, event_type: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for hook in self.webhooks():
                event = json.loads(hook["body"])
                if event["type"] == event_type and event["data"]["referral_id"] == referral_id:
                    return hook
            return None

        hook: dict[str, Any] = wait_until(found, f"a {event_type} webhook for {referral_id}", 120)
        print(
            f"receiver got {event_type} for referral {referral_id} (webhook-id {hook['headers']['webhook-id']})"
        )
        return hook

    def leftovers(self) -> dict[str, list[str]]:
        """What of this project is still on the engine: containers, volumes, networks."""
        label = f"label=com.docker.compose.project={self.name}"
        return {
            "containers": docker("ps", "-aq", "--filter", label).split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
            "networks": docker("network", "ls", "-q", "--filter", label).split(),
        }


def docker(*args: str) -> str:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def wait_until(probe: Any, what: str, timeout_s: float = 180, interval_s: float = 1.0) -> Any:
    """Poll `probe` until it returns something truthy; fail after `timeout_s` naming `what`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as exc:  # a probe of a starting system: keep trying until the deadline
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval_s)
    raise AssertionError(f"{what}: not after {timeout_s:.0f} s (last: {last!r})")


@contextlib.contextmanager
def running(project: ComposeProject, services: dict[str, int]) -> Iterator[ComposeProject]:
    """The project up, `services` healthy, the demo directory seeded; down -v afterwards."""
    try:
        project.run("up", "-d", "--no-build")
        wait_until(lambda: project.healthy(services), f"healthy: {services}", 300)
        seeded = project.run("--profile", "demo", "run", "--rm", "directory-seed")
        assert "seeded" in seeded, seeded
        print(seeded.strip())
        yield project
    finally:
        for service in ("directory", "referrals", "notifications", "caddy"):
            tail = "\n".join(project.logs(service).splitlines()[-10:])
            print(f"--- {service} log (tail)\n{tail}")
        project.run("down", "-v", "--remove-orphans", "--timeout", "20", check=False)


class Origin:
    """The stack as the world sees it: https://localhost:<port>, Caddy's certificate checked
    against the root of its internal CA (read from its volume); tokens as the provider signs."""

    def __init__(self, project: ComposeProject) -> None:
        root = project.run(
            "exec", "-T", "caddy", "cat", "/data/caddy/pki/authorities/local/root.crt"
        )
        self.project = project
        tls = ssl.create_default_context(cadata=root)
        self.http = httpx.Client(base_url=project.origin, verify=tls, timeout=15)
        self.users = {u.id: u for u in demo_users()}
        wait_until(lambda: self.http.get("/app/").status_code == 200, "the app through Caddy", 60)

    def token(self, user_id: str) -> str:
        return access_token(
            self.project.issuer, self.project.signing_key, self.users[user_id], 3600
        )

    def call(self, method: str, path: str, user_id: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user_id)}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def register_receiver(self, agency_id: str) -> str:
        """The receiver container as the agency's webhook endpoint; its signing secret."""
        endpoint = self.call(
            "POST",
            f"/api/notifications/agencies/{agency_id}/endpoints",
            "admin-dev",
            json={"url": "http://receiver:9000/hooks/bridges"},
        )
        assert endpoint.status_code == 201, endpoint.text
        secret: str = endpoint.json()["secret"]
        return secret

    def file_by_api(self, program_name: str) -> str:
        """An officer's intake through Caddy for the program so named; the referral's id."""
        from tests.scenario import intake

        programs = self.http.get("/api/directory/services", params={"search": program_name})
        program = next(p for p in programs.json()["contents"] if p["name"] == program_name)
        filed = self.call(
            "POST",
            "/api/referrals/referrals",
            "badge-1234",
            json=intake([program["id"]]),
            headers={"Idempotency-Key": f"compose-{os.urandom(8).hex()}"},
        )
        assert filed.status_code == 201, filed.text
        referral_id: str = filed.json()["referrals"][0]["id"]
        print(f"filed referral {referral_id} through {self.project.origin}")
        return referral_id
