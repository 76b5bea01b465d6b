"""`bridges up`: the whole system on one machine, on embedded PostgreSQL and nats-server
(or external ones named by BRIDGES_POSTGRES_URL / BRIDGES_NATS_URL), until Ctrl-C."""

from __future__ import annotations

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
class Stack:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    postgres_url: str = ""
    nats_url: str = ""
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
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
        for service in SERVICES:
            log = open(logs / f"{service}.log", "ab")  # noqa: SIM115 - owned by the child
            self.children[service] = subprocess.Popen(
                [sys.executable, "-m", f"bridges_{service}", "serve"],
                env=self.service_env(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for service in SERVICES:
            port = self.ports.service(service)
            wait_ready(service, port, self.children[service], logs / f"{service}.log")

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
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
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
    }


def up(run_dir: Path, ports: Ports | None = None) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    private_path, _ = ensure_dev_keypair(run_dir)
    stack = Stack(run_dir.resolve(), ports or Ports())
    stopping = False
    running = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        if not running:  # still starting: abandon start-up, the finally block cleans up
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    try:
        stack.start_infrastructure()
        print(f"PostgreSQL  {stack.postgres_url}\nNATS        {stack.nats_url}", flush=True)
        stack.start_mail_sink()
        stack.start_services()
        print(stack.seed(), flush=True)
        info = describe(stack, private_path.read_text())
        (run_dir / "stack.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"\nBridges is up in {time.monotonic() - started:.1f}s:")
        for name, url in info["urls"].items():
            print(f"  {name:<14} {url}   (API docs: {url}/docs)")
        print(f"\nDev tokens (also in {run_dir / 'stack.json'}):")
        for role, token in info["tokens"].items():
            print(f"  {role:<13} {token}")
        print(
            f"\nMail sent by Bridges lands in {run_dir / 'mail'}/ (SMTP 127.0.0.1:{stack.ports.smtp})."
        )
        print(f"Logs in {run_dir / 'logs'}/. Press Ctrl-C to stop.", flush=True)
        running = True
        while not stopping:
            for name, child in stack.children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("\nstopping...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
