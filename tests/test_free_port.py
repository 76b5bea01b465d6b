"""Ports for the servers tests start: below the kernel's ephemeral range (where outgoing
connections take theirs), a slice per pytest-xdist worker, never the same one twice soon."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bridges_devstack import servers
from bridges_devstack.ports import Ports


def test_ports_come_from_the_workers_slice_below_the_ephemeral_range(monkeypatch):
    ephemeral_from = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    slices = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        ports = [servers.free_port() for _ in range(50)]
        assert len(set(ports)) == 50  # none handed out twice
        assert all(servers._PORTS_FROM <= p < ephemeral_from for p in ports)
        slices.append(set(servers._port_slice()))
    assert not slices[0] & slices[1]  # the workers never draw the same port
    make_up = {v for v in vars(Ports()).values() if isinstance(v, int)}
    assert all(p < servers._PORTS_FROM for p in make_up)


def test_a_port_something_listens_on_is_never_handed_out(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    taken = []
    try:
        for port in servers._port_slice():  # hold all but one port of the slice
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            taken.append(s)
        free = taken.pop()
        last = free.getsockname()[1]
        free.close()
        monkeypatch.setattr(servers, "_RECENT", [])
        assert servers.free_port() in {last} | set(range(32768, 65536))
    finally:
        for s in taken:
            s.close()


@pytest.fixture(autouse=True)
def _forget_recent(monkeypatch):
    monkeypatch.setattr(servers, "_RECENT", [])
