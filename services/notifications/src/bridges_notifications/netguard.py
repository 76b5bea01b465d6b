"""Outgoing webhook URLs must not reach inside our network (SSRF): only well-formed http(s) URLs
whose host resolves to globally routable addresses are called, unless a configured network allows
the address.

An address is refused (`why_forbidden`) when Python does not call it global, and also when it is
multicast, reserved or IPv6 site-local (fec0::/10), which `is_global` lets through. IPv6 forms
that carry an IPv4 address (IPv4-mapped, 6to4, Teredo server and client, NAT64 64:ff9b::/96) are
judged by the IPv4 they carry, since a relay or translator delivers to it: 2002:a9fe:a9fe:: is the
metadata address 169.254.169.254. An address inside an allowed network is always permitted.

Before any lookup the URL itself must be clean: no credentials (the URL is stored and shown to
agency staff), no whitespace or control characters, a port in range and a valid DNS host name
(a malformed one would otherwise fail inside `getaddrinfo` with a `UnicodeError`).

Checked when an endpoint is saved and again before every delivery (a name may change what it
resolves to). Each delivery connects to the very address that was checked (`pin`: the URL's host
becomes that IP, with the original name in `Host` and as TLS SNI, so certificates still verify
against the name): a resolver that answers differently a moment later (DNS rebinding) changes
nothing. Redirects are never followed, so a public URL cannot bounce inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Underscores are not valid in host names, but real receivers' DNS names do carry them.
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)", re.IGNORECASE)


class UnsafeUrl(ValueError):
    """The URL is malformed, or its host is (or resolves to) an address Bridges must not call."""


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def why_forbidden(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why Bridges must not connect to `address`, or None if it may."""
    if any(address in net for net in allowed):
        return None
    carried = _carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    for form, inner in carried:
        reason = _unroutable(inner)
        if reason:
            return f"{address} carries {inner} ({form}), which {reason}"
    if carried:
        # the wrapper's own range (2002::/16, 2001::/32, ::ffff:0:0/96) says nothing about
        # where the packets end up; Python versions also disagree on whether it is global
        return None
    reason = _unroutable(address)
    return f"{address} {reason}" if reason else None


def _unroutable(address: Address) -> str | None:
    if address.is_multicast:  # Python calls global-scope multicast global
        return "is multicast"
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    if not address.is_global or address.is_reserved or site_local:
        return "is not globally routable"
    return None


def _carried_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    carried: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        carried.append(("IPv4-mapped", address.ipv4_mapped))
    if address.sixtofour is not None:
        carried.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        carried += [("Teredo server", server), ("Teredo client", client)]
    if address in _NAT64:
        carried.append(("NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    return carried


@dataclass(frozen=True)
class Pinned:
    """Where to connect for a checked URL."""

    url: str  # the URL with its host replaced by the checked address
    host_header: str  # the original host[:port]
    server_name: str  # the original host name, for TLS SNI and certificate checks


async def check_url(url: str, allowed: Sequence[Network] = ()) -> None:
    """Raise `UnsafeUrl` unless Bridges may POST to `url`."""
    await pin(url, allowed)


async def pin(url: str, allowed: Sequence[Network] = ()) -> Pinned:
    """Resolve the URL's host, refuse it if any address is off limits, pin the first one."""
    parts, host = _split(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _resolve(host, port)
    for address in addresses:
        reason = why_forbidden(address, allowed)
        if reason:
            raise UnsafeUrl(
                f"{host} is refused: {reason}; allow its network in "
                "BRIDGES_WEBHOOK_ALLOWED_NETWORKS if this is intended"
            )
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    named = f"[{host}]" if ":" in host else host
    host_header = f"{named}:{parts.port}" if parts.port else named
    return Pinned(parts._replace(netloc=netloc).geturl(), host_header, host)


async def _resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, IPv4 first then in a stable order; an IP literal is its own
    answer (no lookup, no trip to the resolver's thread)."""
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"{host} does not resolve: {exc}") from None
    return sorted(
        {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos},
        key=lambda a: (a.version, int(a)),  # IPv4 first, then a stable order
    )


def _split(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and its host in ASCII, or `UnsafeUrl` if the URL is not clean.

    Messages echo the URL only once it is known to hold no credentials."""
    # urlsplit silently drops some of these (tabs, newlines, leading spaces): refuse them all
    if any(c.isspace() or unicodedata.category(c).startswith("C") for c in url):
        raise UnsafeUrl("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a bad port or a broken [IPv6] literal
        raise UnsafeUrl(f"the URL is not valid: {exc}") from None
    if "@" in parts.netloc:
        raise UnsafeUrl(
            f"the URL for {parts.hostname} carries credentials (user:password@); they do not "
            "belong in a URL, which is stored and shown to agency staff: receivers authenticate "
            "Bridges by the webhook-signature header, made with the endpoint's signing secret"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"{url!r} is not an http(s) URL")
    if port == 0:
        raise UnsafeUrl(f"{url!r} has port 0")
    return parts, _ascii_host(parts.hostname)


def _ascii_host(hostname: str) -> str:
    """An IP literal as is, or a valid DNS name in its ASCII (IDNA) form."""
    try:
        ipaddress.ip_address(hostname)
        return hostname
    except ValueError:
        pass
    try:
        name = hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UnsafeUrl(f"{hostname!r} is not a valid host name: {exc}") from None
    bare = name.removesuffix(".")  # a fully qualified name may end with a dot
    if len(bare) > 253 or not all(_LABEL.fullmatch(label) for label in bare.split(".")):
        raise UnsafeUrl(
            f"{hostname!r} is not a valid host name (labels of 1 to 63 letters, digits or "
            "hyphens, 253 characters in all)"
        )
    return name
