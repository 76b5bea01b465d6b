"""Outgoing URLs must not reach inside our network (SSRF): private, loopback, link-local,
multicast and reserved addresses are refused unless a configured network allows them.

Checked when an endpoint is saved and again before every delivery (a name may change what it
resolves to). Each delivery connects to the very address that was checked (`pin`: the URL's host
becomes that IP, with the original name in `Host` and as TLS SNI, so certificates still verify
against the name): a resolver that answers differently a moment later (DNS rebinding) changes
nothing. Redirects are never followed, so a public URL cannot bounce inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeUrl(ValueError):
    """The URL's host is (or resolves to) an address Bridges must not call."""


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Pinned:
    """Where to connect for a checked URL."""

    url: str  # the URL with its host replaced by the checked address
    host_header: str  # the original host[:port]
    server_name: str  # the original host name, for TLS SNI and certificate checks


async def check_url(url: str, allowed: Sequence[Network] = ()) -> None:
    await pin(url, allowed)


async def pin(url: str, allowed: Sequence[Network] = ()) -> Pinned:
    """Resolve the URL's host, refuse it if any address is off limits, pin the first one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"{url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnsafeUrl(f"{parts.hostname} does not resolve: {exc}") from None
    addresses = sorted(
        {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos},
        key=lambda a: (a.version, int(a)),  # IPv4 first, then a stable order
    )
    for address in addresses:
        if _forbidden(address) and not any(address in net for net in allowed):
            raise UnsafeUrl(
                f"{parts.hostname} resolves to {address}, a private or reserved address; "
                "allow its network in BRIDGES_WEBHOOK_ALLOWED_NETWORKS if this is intended"
            )
    if not addresses:
        raise UnsafeUrl(f"{parts.hostname} does not resolve")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return Pinned(parts._replace(netloc=netloc).geturl(), host_header, parts.hostname)
