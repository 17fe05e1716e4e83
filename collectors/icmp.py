"""ICMP collector: echo many addresses at once, one observation per target, nothing written.

Built for sweeps of thousands of hosts: one shared socket per address family (not one per
host as icmplib's multiping does), a paced sender and a reader registered with the event loop;
see ``collectors.icmp_engine``. Raw sockets when the process may open them, unprivileged
datagram sockets otherwise (``collectors.icmp_sockets``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from collectors.guard import NOT_ALLOWED, ProbeGuard
from collectors.icmp_engine import Route, Sweep, Tally, make_route
from collectors.icmp_packet import MAX_PAYLOAD, MAX_PROBES, MIN_PAYLOAD
from collectors.icmp_sockets import (
    COLLECTOR,
    IcmpMode,
    decide_mode,
    open_icmp_socket,
    permission_error,
)

__all__ = ["COLLECTOR", "IcmpMode", "PingObservation", "collect", "decide_mode", "summarize"]

DEFAULT_COUNT = 3
DEFAULT_INTERVAL_S = 1.0  # between two probes to one address, as ping(8) and fping -p
DEFAULT_TIMEOUT_S = 2.0  # per probe, from its own send
DEFAULT_PAYLOAD = 56  # ping(8)'s default: 64-byte ICMP messages
DEFAULT_RATE = 5000.0  # probes per second over all addresses


@dataclass(frozen=True, slots=True)
class PingObservation:
    """What one address answered: counts, RTTs in milliseconds, loss 0..1, duplicate replies.

    ``sent == received + lost`` always. Nothing sent (refused, send error) means ``loss`` 1.0
    with ``error`` saying why; RTTs are None when nothing came back.
    """

    address: str
    sent: int
    received: int
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    loss: float
    duplicates: int
    error: str | None = None

    @property
    def lost(self) -> int:
        """Probes sent and never answered within the timeout."""
        return self.sent - self.received

    @property
    def answered(self) -> bool:
        """True when at least one probe came back."""
        return self.received > 0


def summarize(address: str, tally: Tally) -> PingObservation:
    """Turn an engine tally (nanoseconds) into an observation (milliseconds, loss ratio)."""
    sent, received = tally.sent, tally.received
    if received > sent or received < 0:
        raise ValueError(f"{address}: {received} replies for {sent} probes")
    got = received > 0
    return PingObservation(
        address=address,
        sent=sent,
        received=received,
        rtt_min_ms=tally.rtt_min_ns / 1e6 if got else None,
        rtt_avg_ms=tally.rtt_sum_ns / received / 1e6 if got else None,
        rtt_max_ms=tally.rtt_max_ns / 1e6 if got else None,
        loss=(sent - received) / sent if sent else 1.0,
        duplicates=tally.duplicates,
        error=tally.error,
    )


def _unanswered(address: str, error: str) -> PingObservation:
    return PingObservation(address, 0, 0, None, None, None, 1.0, 0, error)


def _canonical(address: str) -> tuple[str, int]:
    """The address as recvfrom reports a reply's source (inet_ntop's text), and its version."""
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, address)), version
        except OSError:
            continue
    ip = ipaddress.ip_address(address)  # scoped IPv6 ("fe80::1%eth0") is all that is left
    return str(ip), ip.version


def _check(
    count: int, interval: float, timeout: float, payload_size: int, rate: float | None
) -> None:
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if interval < 0 or timeout <= 0:
        raise ValueError(f"interval must be >= 0 and timeout > 0 (got {interval}, {timeout})")
    if not MIN_PAYLOAD <= payload_size <= MAX_PAYLOAD:
        # The first 12 payload bytes carry the collection token and probe index.
        raise ValueError(f"payload_size must be within {MIN_PAYLOAD}..{MAX_PAYLOAD}")
    if rate is not None and rate < 0:
        raise ValueError(f"rate must be positive, 0 or None (unpaced), not {rate}")


async def collect(
    targets: Sequence[str],
    *,
    guard: ProbeGuard,
    count: int = DEFAULT_COUNT,
    interval: float = DEFAULT_INTERVAL_S,
    timeout: float = DEFAULT_TIMEOUT_S,
    payload_size: int = DEFAULT_PAYLOAD,
    rate: float | None = DEFAULT_RATE,
    mode: IcmpMode | None = None,
) -> list[PingObservation]:
    """Echo every target count times; one observation per target, in input order.

    A repeated target (also spelled differently, "::1" and "0::1") is probed once and its
    observation repeated. An address the guard refuses is never sent a packet and comes back
    with error "not allowed". ``interval`` is the least time between two probes to one address,
    ``timeout`` how long each probe is waited for, ``rate`` caps probes per second over all
    addresses (None or 0: as fast as the sockets take them). ``mode`` forces raw or datagram
    sockets; by default the process decides once (``decide_mode``). Raises CollectorError when
    the kernel refuses the ICMP sockets, naming the fix.
    """
    _check(count, interval, timeout, payload_size, rate)
    canonical: dict[str, tuple[str, int] | None] = {}  # target -> (host, version), None: refused
    hosts: dict[str, int] = {}  # canonical host -> IP version, first-seen order
    for target in targets:
        if target in canonical:
            continue
        if not guard.allows(target):
            canonical[target] = None
            continue
        host, version = _canonical(target)
        canonical[target] = (host, version)
        hosts.setdefault(host, version)
    if len(hosts) * count >= MAX_PROBES:
        raise ValueError(f"{len(hosts)} addresses x {count} probes exceed the 32-bit probe index")

    results = (
        await _sweep(hosts, count, interval, timeout, payload_size, rate, mode) if hosts else {}
    )
    out: list[PingObservation] = []
    for target in targets:
        entry = canonical[target]
        if entry is None:
            out.append(_unanswered(target, NOT_ALLOWED))
            continue
        observation = results[entry[0]]
        out.append(
            observation
            if observation.address == target
            else dataclasses.replace(observation, address=target)
        )
    return out


async def _sweep(
    hosts: dict[str, int],
    count: int,
    interval: float,
    timeout: float,
    payload_size: int,
    rate: float | None,
    mode: IcmpMode | None,
) -> dict[str, PingObservation]:
    """Open one socket per family needed, run one sweep over hosts, close the sockets."""
    chosen = mode if mode is not None else decide_mode()
    raw = chosen is IcmpMode.RAW
    token = int.from_bytes(os.urandom(8), "big")
    sockets: dict[int, socket.socket] = {}
    unavailable: dict[int, str] = {}
    try:
        for version in sorted(set(hosts.values())):
            try:
                sockets[version] = open_icmp_socket(version, chosen)
            except PermissionError as exc:
                raise permission_error(chosen, exc) from exc
            except OSError as exc:  # e.g. no IPv6 on this machine: those hosts say so
                unavailable[version] = f"IPv{version} unavailable: {exc.strerror or exc}"
        routes = {v: make_route(s, v, raw, token, payload_size) for v, s in sockets.items()}
        probed = [h for h, v in hosts.items() if v in routes]
        plan: list[Route] = [routes[hosts[h]] for h in probed]
        sweep = Sweep(
            probed,
            plan,
            raw=raw,
            token=token,
            identifier=random.getrandbits(16),
            count=count,
            interval_ns=int(interval * 1e9),
            timeout_ns=int(timeout * 1e9),
            rate=rate,
        )
        tallies = await sweep.run() if probed else []
    finally:
        for sock in sockets.values():
            sock.close()
    results = {h: summarize(h, t) for h, t in zip(probed, tallies, strict=True)}
    for host, version in hosts.items():
        if version in unavailable:
            results[host] = _unanswered(host, unavailable[version])
    return results
