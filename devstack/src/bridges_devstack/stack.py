"""`bridges up`: the whole system on one machine, on embedded PostgreSQL and nats-server
(or external ones named by BRIDGES_POSTGRES_URL / BRIDGES_NATS_URL), until Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridges_devstack import bus_users, identity
from bridges_devstack.demo import (
    DEMO_USERS_NAME,
    DemoUser,
    demo_agency_id,
    demo_users,
    write_demo_users,
)
from bridges_devstack.limits import LOCAL_RATE_LIMITS
from bridges_devstack.mail import MailSink
from bridges_devstack.ports import Ports
from bridges_devstack.servers import EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres
from bridges_devstack.supervisor import Supervised, Supervisor
from bridges_kit.auth import DEV_KEY_NAME, ensure_dev_keypair
from bridges_kit.healthcheck import LIVE
from bridges_kit.sealing import DEV_KEY_FILE_NAME, ensure_key_file
from bridges_schema import DEFAULT_NAMESPACE, Streams

SERVICES = ("directory", "referrals", "notifications")
DEV_TOKEN_S = 12 * 3600  # stack.json's tokens, for curl and the benchmarks: a working day
SERVICE_KEY_NAME = "service-key"  # the key the services share (BRIDGES_SERVICE_KEY)


def ensure_service_key(run_dir: Path) -> str:
    """The services' shared key of this stack, made once (readable by its owner only)."""
    path = run_dir / SERVICE_KEY_NAME
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def default_app_dir() -> Path:
    """The built tablet app: BRIDGES_APP_DIR if set, else this repository's `app/dist`."""
    configured = os.environ.get("BRIDGES_APP_DIR")
    if configured:
        return Path(configured).resolve()
    # devstack/src/bridges_devstack/stack.py -> the repository root
    return Path(__file__).resolve().parents[3] / "app" / "dist"


def app_missing_warning(app_dir: Path) -> str | None:
    """What to tell when the app is not built (the APIs start anyway)."""
    if (app_dir / "index.html").is_file():
        return None
    return (
        f"WARNING: the tablet app is not built ({app_dir / 'index.html'} is missing).\n"
        "         Run `make app` to build it (needs Node.js 20+ with npm), then reload the page;\n"
        "         the APIs start anyway."
    )


@dataclass
class ServiceProcess:
    """`python -m bridges_<name> serve` (or `command`) on `port`, its output appended to `log`;
    ready once its /readyz answers 200, alive while its /healthz answers (LIVE)."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    command: list[str] | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def launch(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                self.command or [sys.executable, "-m", f"bridges_{self.name}", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches `bridges up` only: it stops us in order
            )

    def wait_ready(self) -> None:
        assert self._proc is not None, "launch() first"
        wait_ready(self.name, self.port, self._proc, self.log)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def poll(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def alive(self) -> bool:
        return LIVE.passes(self.port)

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def terminate(self) -> None:
        """Ask it to stop (graceful: in-flight work finishes); `stop()` waits for it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._proc is None:
            return
        self.terminate()
        try:
            self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


@dataclass
class Stack:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    postgres_url: str = ""
    nats_url: str = ""
    pg: EmbeddedPostgres | None = None
    nats_nodes: list[EmbeddedNats] = field(default_factory=list)  # `--nats-cluster N`
    nats_cluster: int = 1
    replicas: int = 1  # processes of each service
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    identity: ServiceProcess | None = None
    mail: MailSink | None = None
    app_dir: Path = field(default_factory=default_app_dir)

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.referrals}/app/"

    @property
    def app_urls(self) -> list[str]:
        """The app as a browser may name it (where the provider may send it back to)."""
        return [self.app_url, f"http://localhost:{self.ports.referrals}/app/"]

    @property
    def issuer(self) -> str:
        """The development OpenID provider's issuer URL."""
        return f"http://127.0.0.1:{self.ports.identity}"

    @property
    def bus_keys(self) -> Path:
        """The NATS users' seeds (bridges_devstack.bus_users), when NATS is ours."""
        return self.run_dir / bus_users.KEYS_DIR

    def bus_login(self, user: str) -> dict[str, str]:
        """The settings that sign `user` in to the NATS this stack runs (none for another's:
        BRIDGES_NATS_NKEY_SEED_FILE in the environment says how to sign in there)."""
        if not self.nats_nodes:
            return {}
        return {"BRIDGES_NATS_NKEY_SEED_FILE": str(bus_users.seed_file(self.bus_keys, user))}

    def database_url(self, service: str) -> str:
        return self.postgres_url.rsplit("/", 1)[0] + f"/bridges_{service}"

    def service_env(self, service: str) -> dict[str, str]:
        # the app is served by referrals; the browser calls directory and notifications directly
        app_origins = json.dumps([url.removesuffix("/app/") for url in self.app_urls])
        service_key = ensure_service_key(self.run_dir)
        links = {"BRIDGES_LISTING_LINK_KEY_FILE": str(listing_link_key(self.run_dir))}
        local = {
            "directory": {"BRIDGES_CORS_ALLOW_ORIGINS": app_origins, **links},
            "referrals": {
                "BRIDGES_APP_DIR": str(self.app_dir),
                "BRIDGES_APP_DIRECTORY_URL": f"http://127.0.0.1:{self.ports.directory}",
                "BRIDGES_APP_NOTIFICATIONS_URL": f"http://127.0.0.1:{self.ports.notifications}",
                "BRIDGES_APP_OIDC_AUTHORITY": self.issuer,
                "BRIDGES_APP_OIDC_CLIENT_ID": identity.CLIENT_ID,
                "BRIDGES_DATA_KEY_FILE": str(self.run_dir / DEV_KEY_FILE_NAME),
                "BRIDGES_SERVICE_KEY": service_key,
            },
            "notifications": {
                "BRIDGES_CORS_ALLOW_ORIGINS": app_origins,
                "BRIDGES_DATA_KEY_FILE": str(self.run_dir / DEV_KEY_FILE_NAME),
                # development receivers run on this machine: let webhooks reach loopback
                "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
                "BRIDGES_SMTP_HOST": "127.0.0.1",
                "BRIDGES_SMTP_PORT": str(self.ports.smtp),
                "BRIDGES_REFERRAL_LINK_BASE": f"http://127.0.0.1:{self.ports.referrals}/app/",
                # families' follow-up messages: fetched from referrals, texts as files
                "BRIDGES_SERVICE_KEY": service_key,
                "BRIDGES_REFERRALS_URL": f"http://127.0.0.1:{self.ports.referrals}",
                "BRIDGES_SMS_SINK_DIR": str(self.run_dir / "sms"),
                **links,
            },
        }.get(service, {})
        return {
            **LOCAL_RATE_LIMITS,  # the shell's BRIDGES_RATE_LIMIT_* win, to try production's
            **os.environ,
            **local,
            "BRIDGES_DATABASE_URL": self.database_url(service),
            "BRIDGES_NATS_URL": self.nats_url,
            **self.bus_login(service),
            "BRIDGES_NATS_REPLICAS": str(min(3, len(self.nats_nodes) or 1)),
            "BRIDGES_HTTP_PORT": str(self.ports.service(service)),
            "BRIDGES_HTTP_HOST": "127.0.0.1",
            # tokens come from the development OpenID provider, read as a real one's would be
            "BRIDGES_JWT_JWKS_URL": f"{self.issuer}/jwks",
            "BRIDGES_JWT_ISSUER": self.issuer,
            "BRIDGES_JWT_AUDIENCE": identity.API_AUDIENCE,
            **identity.SERVICE_SETTINGS,
            "BRIDGES_ENVIRONMENT": "development",
        }

    def identity_command(self) -> list[str]:
        command = [sys.executable, "-m", "bridges_devstack.identity"]
        command += ["--port", str(self.ports.identity), "--issuer", self.issuer]
        command += ["--users", str(self.run_dir / DEMO_USERS_NAME)]
        command += ["--key", str(self.run_dir / DEV_KEY_NAME)]
        for url in self.app_urls:
            command += ["--redirect-uri", url]
        lifetime = os.environ.get("BRIDGES_DEV_ACCESS_TOKEN_S")  # the browser tests shorten it
        return command + (["--access-token-s", lifetime] if lifetime else [])

    def start_infrastructure(self) -> None:
        self.postgres_url = os.environ.get("BRIDGES_POSTGRES_URL", "")
        if not self.postgres_url:
            self.pg = EmbeddedPostgres(self.run_dir / "pg", self.ports.postgres)
            self.pg.start()
            self.postgres_url = self.pg.url()
        for service in SERVICES:
            _create_database(self.postgres_url, f"bridges_{service}", self.pg)
        self.nats_url = os.environ.get("BRIDGES_NATS_URL", "")
        if self.nats_url:
            return
        # only the services' and ops' users may connect, each within its grant
        namespace = os.environ.get("BRIDGES_NATS_NAMESPACE", DEFAULT_NAMESPACE)
        users = bus_users.ensure_users(self.bus_keys, Streams(namespace))
        if self.nats_cluster > 1:
            cluster = EmbeddedNatsCluster(
                self.run_dir / "nats-cluster", nodes=self._nats_nodes(users)
            )
            cluster.start()
            self.nats_nodes, self.nats_url = cluster.nodes, cluster.url
        else:
            node = EmbeddedNats(
                self.run_dir / "nats",
                self.ports.nats,
                self.ports.nats_monitor,
                authorization=users,
            )
            node.start()
            self.nats_url, self.nats_nodes = node.url, [node]

    def _nats_nodes(self, users: str) -> list[EmbeddedNats]:
        """`--nats-cluster N`: node k on the base client, monitoring and route ports + k."""
        p, size = self.ports, self.nats_cluster
        routes = tuple(p.nats_route + k for k in range(size))
        secret = secrets.token_urlsafe(18)  # only this cluster's nodes may route to it
        return [
            EmbeddedNats(
                self.run_dir / "nats-cluster" / f"node-{k + 1}",
                p.nats + k,
                p.nats_monitor + k,
                name=f"node-{k + 1}",
                cluster_port=routes[k],
                routes=routes,
                authorization=users,
                route_secret=secret,
            )
            for k in range(size)
        ]

    def start_mail_sink(self) -> None:
        self.mail = MailSink(self.run_dir / "mail", self.ports.smtp)
        self.mail.start()

    def start_services(self) -> None:
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        self.identity = ServiceProcess(
            "identity",
            self.ports.identity,
            dict(os.environ),
            logs / "identity.log",
            command=self.identity_command(),
        )
        self.identity.launch()
        for name in SERVICES:
            for replica in range(self.replicas):
                process = f"{name}-{replica + 1}" if self.replicas > 1 else name
                port = self.ports.service(name, replica)
                env = {**self.service_env(name), "BRIDGES_HTTP_PORT": str(port)}
                self.services[process] = ServiceProcess(name, port, env, logs / f"{process}.log")
                self.services[process].launch()  # all start side by side
        for service in (self.identity, *self.services.values()):
            service.wait_ready()

    def infrastructure(self) -> dict[str, Supervised]:
        """What the services need to be ready: restarted first."""
        infrastructure: dict[str, Supervised] = {}
        if self.pg is not None:
            infrastructure["postgres"] = self.pg
        for node in self.nats_nodes:
            infrastructure[f"nats-{node.name}" if node.name else "nats-server"] = node
        return infrastructure

    def processes(self) -> dict[str, Supervised]:
        """What the supervisor restarts, infrastructure first."""
        identity_provider = {"identity": self.identity} if self.identity is not None else {}
        return {**self.infrastructure(), **identity_provider, **self.services}

    def pids(self) -> dict[str, int | None]:
        """This supervisor's and its children's (ops, and the fault tests, signal them)."""
        children = {name: process.pid for name, process in self.processes().items()}
        return {"bridges": os.getpid(), **children}

    def seed(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bridges_directory", "seed"],
            env=self.service_env("directory"),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def stop(self) -> None:
        processes = [*self.services.values(), *([self.identity] if self.identity else [])]
        for process in processes:
            process.terminate()  # all at once, then wait for each
        for process in processes:
            process.stop()
        if self.mail is not None:
            self.mail.stop()
        for node in self.nats_nodes:
            node.stop()
        if self.pg is not None:
            self.pg.stop()


LISTING_LINK_KEY_NAME = "listing-link.key"


def listing_link_key(run_dir: Path) -> Path:
    """The key the directory and notifications share for listing-review links: made once in the
    run directory (readable by its owner only), kept across runs so emailed links keep working."""
    path = run_dir / LISTING_LINK_KEY_NAME
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path


def _create_database(url: str, name: str, pg: EmbeddedPostgres | None) -> None:
    if pg is not None:
        pg.create_database(name)
        return
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())


def wait_ready(service: str, port: int, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{service} exited; last log lines:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{service} not ready within 60 s; last log lines:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def describe(stack: Stack, private_key: str, users: list[DemoUser]) -> dict[str, Any]:
    """stack.json: the app's URL first, the APIs, the OpenID provider, the demo users, and a dev
    token per role (the role's first demo user's), signed as the provider signs its own."""
    tokens: dict[str, str] = {}
    for user in users:
        if user.role.value not in tokens:
            tokens[user.role.value] = identity.access_token(
                stack.issuer, private_key, user, DEV_TOKEN_S
            )
    return {
        "urls": {
            "app": stack.app_url,
            # the transparency page: anyone, no sign-in (referrals redirects it into the app)
            "public": f"http://127.0.0.1:{stack.ports.referrals}/public",
            **{name: f"http://127.0.0.1:{stack.ports.service(name)}" for name in SERVICES},
        },
        "identity": {
            "issuer": stack.issuer,
            "client_id": identity.CLIENT_ID,
            "discovery": f"{stack.issuer}/.well-known/openid-configuration",
        },
        "databases": {name: stack.database_url(name) for name in SERVICES},
        "nats_url": stack.nats_url,
        "nats": [
            {
                "name": node.name or "nats-server",
                "client": node.url,
                "monitoring": f"http://127.0.0.1:{node.monitor_port}",
            }
            for node in stack.nats_nodes
        ],
        "demo_agency_id": demo_agency_id(),
        "demo_users": [user.as_json() for user in users],
        "tokens": tokens,
        "processes": stack.pids(),
    }


def _print_summary(stack: Stack, info: dict[str, Any], started: float, stack_file: Path) -> None:
    print(f"\nBridges is up in {time.monotonic() - started:.1f}s.\n")
    print(f"Open the app: {info['urls']['app']}", flush=True)
    print(f"The public page (results, no sign-in): {info['urls']['public']}")
    if app_missing_warning(stack.app_dir):
        print("  (not built yet: run `make app` in another terminal, then reload the page)")
    print(f"Sign in through the development OpenID provider ({info['identity']['issuer']}) as:")
    for user in info["demo_users"]:
        agency = user["agency_name"] or ""
        print(f"  {user['name']:<14} {user['role']:<13} {user['id']:<25} {agency}".rstrip())
    print("\nAPIs:")
    for name, url in info["urls"].items():
        if name not in ("app", "public"):
            print(f"  {name:<14} {url}   (API docs: {url}/docs)")
    print(f"  {'PostgreSQL':<14} {stack.postgres_url}\n  {'NATS':<14} {stack.nats_url}")
    print(f"\nDev tokens (also in {stack_file}):")
    for role, token in info["tokens"].items():
        print(f"  {role:<13} {token}")


def write_stack_file(path: Path, info: dict[str, Any]) -> None:
    """Replace it in one step: a reader never sees half a file. It holds admin tokens: its
    owner's only, from the first byte."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(json.dumps(info, indent=2) + "\n")
    partial.replace(path)


def private_run_dir(run_dir: Path) -> None:
    """The run directory holds keys, tokens and the databases: its owner's only (0700). When
    PostgreSQL runs as its own user (we are root), it must still pass through: 0711, where no
    one else may list it and every file holding a secret is 0600 itself."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o711 if os.name == "posix" and os.geteuid() == 0 else 0o700)


def up(
    run_dir: Path, ports: Ports | None = None, *, nats_cluster: int = 1, replicas: int = 1
) -> int:
    private_run_dir(run_dir)
    private_path, _ = ensure_dev_keypair(run_dir)
    ensure_key_file(run_dir / DEV_KEY_FILE_NAME)  # made once: the data it seals outlives a run
    users = demo_users()
    write_demo_users(run_dir, users)
    stack = Stack(run_dir.resolve(), ports or Ports(), nats_cluster=nats_cluster, replicas=replicas)
    warning = app_missing_warning(stack.app_dir)
    if warning:
        print(warning, flush=True)
    supervisor: Supervisor | None = None
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        # still starting, or a restart is waiting for readiness: abandon it (the finally block
        # stops everything); otherwise the supervision loop sees `stopping` within 0.2 s
        if supervisor is None or supervisor.restarting:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    stack_file = run_dir / "stack.json"
    try:
        stack.start_infrastructure()
        # the URLs come in the summary, after the app's (the first thing a newcomer needs)
        print("PostgreSQL and NATS are ready; starting the services...", flush=True)
        stack.start_mail_sink()
        stack.start_services()
        print(stack.seed(), flush=True)
        info = describe(stack, private_path.read_text(), users)

        def _record_pids() -> None:
            info["processes"] = stack.pids()
            write_stack_file(stack_file, info)

        # from here on Ctrl-C only sets `stopping` (what reads stack.json may signal us at once)
        supervisor = Supervisor(
            stack.processes(), first=stack.infrastructure(), on_restart=_record_pids
        )
        write_stack_file(stack_file, info)
        _print_summary(stack, info, started, stack_file)
        print(
            f"\nMail sent by Bridges lands in {run_dir / 'mail'}/ (SMTP 127.0.0.1:{stack.ports.smtp});"
            f" text messages to families in {run_dir / 'sms'}/."
        )
        print(
            f"Logs in {run_dir / 'logs'}/. A process that exits is restarted. Press Ctrl-C to stop.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C during a restart: stop as usual
            supervisor.run(lambda: stopping)
        return 0
    finally:
        # a second Ctrl-C must not abandon the shutdown half-way (every stop is bounded in time)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("\nstopping...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
