"""Rules over webhook URLs: credentials masked wherever a URL is shown, denied networks refused.

A webhook URL may carry a user and password (``https://user:pass@host/``); those are
secrets, so answers and logs show them as ``***`` (issue 11). A URL whose host is, or
resolves to, an address in ``MESHKEEPER_WEBHOOK_DENY_NETWORKS`` (default link-local,
169.254.0.0/16 and fe80::/10, where clouds serve instance metadata, RFC 3927 / RFC 4291)
is refused; the mesh's own 10.x services and loopback receivers stay allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MASK = "***"


def masked_url(url: str) -> str:
    """The URL with its user and password (if any) shown as ***."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def host_of(url: str) -> str:
    """The URL's host name or literal address, without brackets or port."""
    return urlsplit(url).hostname or ""


def networks(cidrs: Iterable[str]) -> list[Network]:
    """CIDR strings as networks (a host address is its own /32 or /128)."""
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def literal_address(host: str) -> Address | None:
    """The host as an address when it is one (an IPv6 zone id is dropped), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def denied(addresses: Iterable[Address], deny: Sequence[Network]) -> tuple[Address, Network] | None:
    """The first address inside a denied network, with that network; None when all are fine.

    An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is judged as the IPv4 address it
    carries, since that is where the packets go.
    """
    for address in addresses:
        plain = address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            plain = address.ipv4_mapped
        for network in deny:
            if plain.version == network.version and plain in network:
                return address, network
    return None


def refusal(host: str, addresses: Iterable[Address], deny: Sequence[Network]) -> str | None:
    """Why a host is refused (it is, or resolves to, a denied address), or None."""
    hit = denied(addresses, deny)
    if hit is None:
        return None
    address, network = hit
    shown = host if str(address) == host else f"{host} ({address})"
    return f"{shown} is in {network}, which MESHKEEPER_WEBHOOK_DENY_NETWORKS refuses"


def resolve(host: str) -> list[Address]:
    """The host's addresses: itself when it is one, else what the resolver says ([] if none)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []  # an unknown host is the delivery's failure to report, not a denied one
    found = (literal_address(str(info[4][0])) for info in infos)
    return list(dict.fromkeys(a for a in found if a is not None))


def check_url(url: str, deny: Sequence[Network]) -> str | None:
    """Why this URL may not be a webhook (its host resolves into a denied network), or None."""
    host = host_of(url)
    return refusal(host, resolve(host), deny) if deny else None
