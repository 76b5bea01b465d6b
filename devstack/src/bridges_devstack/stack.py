"""`bridges up`: the whole system on one machine, on embedded PostgreSQL and nats-server
(or external ones named by BRIDGES_POSTGRES_URL / BRIDGES_NATS_URL), until Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridges_devstack.mail import MailSink
from bridges_devstack.ports import Ports
from bridges_devstack.servers import EmbeddedNats, EmbeddedPostgres
from bridges_devstack.supervisor import Supervised, Supervisor
from bridges_kit.auth import DEV_PUBLIC_KEY_NAME, ensure_dev_keypair, mint_token
from bridges_schema import Role

SERVICES = ("directory", "referrals", "notifications")
DEMO_SUBJECTS = {
    Role.OFFICER: "badge-1234",
    Role.AGENCY_STAFF: "staff-riverton-food-bank",
    Role.ADMIN: "admin-dev",
    Role.OPS: "ops-dev",
}


@dataclass
class ServiceProcess:
    """`python -m bridges_<name> serve` on `port`, its output appended to `log`."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def launch(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                [sys.executable, "-m", f"bridges_{self.name}", "serve"],
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
    nats: EmbeddedNats | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    mail: MailSink | None = None

    def database_url(self, service: str) -> str:
        return self.postgres_url.rsplit("/", 1)[0] + f"/bridges_{service}"

    def service_env(self, service: str) -> dict[str, str]:
        local = {
            "notifications": {
                # development receivers run on this machine: let webhooks reach loopback
                "BRIDGES_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
                "BRIDGES_SMTP_HOST": "127.0.0.1",
                "BRIDGES_SMTP_PORT": str(self.ports.smtp),
                "BRIDGES_REFERRAL_LINK_BASE": f"http://127.0.0.1:{self.ports.referrals}",
            }
        }.get(service, {})
        return {
            **os.environ,
            **local,
            "BRIDGES_DATABASE_URL": self.database_url(service),
            "BRIDGES_NATS_URL": self.nats_url,
            "BRIDGES_HTTP_PORT": str(self.ports.service(service)),
            "BRIDGES_HTTP_HOST": "127.0.0.1",
            "BRIDGES_JWT_PUBLIC_KEY_FILE": str(self.run_dir / DEV_PUBLIC_KEY_NAME),
            "BRIDGES_ENVIRONMENT": "development",
        }

    def start_infrastructure(self) -> None:
        self.postgres_url = os.environ.get("BRIDGES_POSTGRES_URL", "")
        if not self.postgres_url:
            self.pg = EmbeddedPostgres(self.run_dir / "pg", self.ports.postgres)
            self.pg.start()
            self.postgres_url = self.pg.url()
        for service in SERVICES:
            _create_database(self.postgres_url, f"bridges_{service}", self.pg)
        self.nats_url = os.environ.get("BRIDGES_NATS_URL", "")
        if not self.nats_url:
            self.nats = EmbeddedNats(
                self.run_dir / "nats", self.ports.nats, self.ports.nats_monitor
            )
            self.nats.start()
            self.nats_url = self.nats.url

    def start_mail_sink(self) -> None:
        self.mail = MailSink(self.run_dir / "mail", self.ports.smtp)
        self.mail.start()

    def start_services(self) -> None:
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        for name in SERVICES:
            self.services[name] = ServiceProcess(
                name, self.ports.service(name), self.service_env(name), logs / f"{name}.log"
            )
            self.services[name].launch()  # all three start side by side
        for service in self.services.values():
            service.wait_ready()

    def processes(self) -> dict[str, Supervised]:
        """What the supervisor restarts, infrastructure first (services need it to be ready)."""
        infrastructure: dict[str, Supervised] = {}
        if self.pg is not None:
            infrastructure["postgres"] = self.pg
        if self.nats is not None:
            infrastructure["nats-server"] = self.nats
        return {**infrastructure, **self.services}

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
        for service in self.services.values():
            service.terminate()  # all at once, then wait for each
        for service in self.services.values():
            service.stop()
        if self.mail is not None:
            self.mail.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.pg is not None:
            self.pg.stop()


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


def demo_agency_id() -> str:
    """The seeded agency whose staff get a dev token (Riverton Community Food Bank's)."""
    from bridges_directory.seed import read_dataset

    services = read_dataset()["services"]
    chosen = next((s for s in services if s["name"] == "Riverton Community Food Bank"), services[0])
    agency: str = chosen["x_bridges"]["agency_id"]
    return agency


def describe(stack: Stack, private_key: str) -> dict[str, Any]:
    agency_id = demo_agency_id()
    tokens = {
        role.value: mint_token(
            private_key,
            sub=sub,
            role=role,
            agency_id=agency_id if role is Role.AGENCY_STAFF else None,
            email=f"{sub}@example.org",
        )
        for role, sub in DEMO_SUBJECTS.items()
    }
    return {
        "urls": {name: f"http://127.0.0.1:{stack.ports.service(name)}" for name in SERVICES},
        "databases": {name: stack.database_url(name) for name in SERVICES},
        "nats_url": stack.nats_url,
        "demo_agency_id": agency_id,
        "tokens": tokens,
        "processes": stack.pids(),
    }


def write_stack_file(path: Path, info: dict[str, Any]) -> None:
    """Replace it in one step: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info, indent=2) + "\n")
    partial.replace(path)


def up(run_dir: Path, ports: Ports | None = None) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    private_path, _ = ensure_dev_keypair(run_dir)
    stack = Stack(run_dir.resolve(), ports or Ports())
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
        print(f"PostgreSQL  {stack.postgres_url}\nNATS        {stack.nats_url}", flush=True)
        stack.start_mail_sink()
        stack.start_services()
        print(stack.seed(), flush=True)
        info = describe(stack, private_path.read_text())

        def _record_pids() -> None:
            info["processes"] = stack.pids()
            write_stack_file(stack_file, info)

        # from here on Ctrl-C only sets `stopping` (what reads stack.json may signal us at once)
        supervisor = Supervisor(stack.processes(), on_restart=_record_pids)
        write_stack_file(stack_file, info)
        print(f"\nBridges is up in {time.monotonic() - started:.1f}s:")
        for name, url in info["urls"].items():
            print(f"  {name:<14} {url}   (API docs: {url}/docs)")
        print(f"\nDev tokens (also in {stack_file}):")
        for role, token in info["tokens"].items():
            print(f"  {role:<13} {token}")
        print(
            f"\nMail sent by Bridges lands in {run_dir / 'mail'}/ (SMTP 127.0.0.1:{stack.ports.smtp})."
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
