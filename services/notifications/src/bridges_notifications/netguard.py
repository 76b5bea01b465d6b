"""Outgoing URLs must not reach inside our network (SSRF): private, loopback, link-local,
multicast and reserved addresses are refused unless a configured network allows them.

Checked when an endpoint is saved and again before every delivery (a name may change what it
resolves to). Redirects are never followed, so a public URL cannot bounce inward. The HTTP client
resolves the name again when it connects, so a resolver answering differently within those
milliseconds (DNS rebinding) is not yet excluded: pinning the checked address is the next step.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
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


async def check_url(url: str, allowed: Sequence[Network] = ()) -> None:
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
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if _forbidden(address) and not any(address in net for net in allowed):
            raise UnsafeUrl(
                f"{parts.hostname} resolves to {address}, a private or reserved address; "
                "allow its network in BRIDGES_WEBHOOK_ALLOWED_NETWORKS if this is intended"
            )
