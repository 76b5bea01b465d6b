"""One compose project of the compose test: docker-compose.yml (and overlays) with a generated
env file and secrets folder, driven through the compose client; what its containers are and
say, read through `docker inspect` and `docker-compose logs`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridges_devstack.demo import demo_users, write_demo_users
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
        for name in ("postgres_password", "directory_db_password", "referrals_db_password",
                     "notifications_db_password", "grafana_admin_password"):
            _secret_file(self.secrets / name, secrets.token_urlsafe(24))
        _secret_file(self.secrets / "metrics_token", secrets.token_hex(24))
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
            "BRIDGES_OIDC_ROLE_CLAIM": "roles",
            "BRIDGES_OIDC_ROLE_VALUES": json.dumps({v: k.value for k, v in PROVIDER_ROLES.items()}),
            "BRIDGES_OIDC_AGENCY_CLAIM": "bridges_agency",
            # the receiver container is on the compose network, a private range
            "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": json.dumps([SUBNET]),
        }

    # -- the compose client --------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        files = [arg for f in (ROOT / "docker-compose.yml", *self.overlays) for arg in ("-f", str(f))]
        return [COMPOSE, "--project-name", self.name, "--env-file", str(self.env_file),
                "--project-directory", str(ROOT), *files, *args]

    def run(self, *args: str, timeout_s: float = 600, check: bool = True) -> str:
        started = time.monotonic()
        done = subprocess.run(self.command(*args), capture_output=True, text=True,
                              timeout=timeout_s, cwd=ROOT, check=False)
        took = time.monotonic() - started
        print(f"$ docker-compose {' '.join(args)}  ({took:.1f} s, exit {done.returncode})", flush=True)
        if check and done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def logs(self, service: str) -> str:
        return self.run("logs", "--no-color", "--no-log-prefix", service, check=False)

    def containers(self, service: str | None = None, *, every: bool = False) -> list[dict[str, Any]]:
        """`docker inspect` of the project's containers (of one service)."""
        filters = [f"label=com.docker.compose.project={self.name}"]
        if service:
            filters.append(f"label=com.docker.compose.service={service}")
        ids = docker("ps", "-q", *(["-a"] if every else []),
                     *[arg for f in filters for arg in ("--filter", f)]).split()
        return json.loads(docker("inspect", *ids)) if ids else []

    def leftovers(self) -> dict[str, list[str]]:
        """What of this project is still on the engine: containers, volumes, networks."""
        label = f"label=com.docker.compose.project={self.name}"
        return {
            "containers": docker("ps", "-aq", "--filter", label).split(),
            "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
            "networks": docker("network", "ls", "-q", "--filter", label).split(),
        }


def docker(*args: str) -> str:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=True,
                          timeout=120).stdout


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
