"""The sweep engine: one ICMP socket per address family, a paced sender, an eager reader.

Probe i (0 <= i < hosts * count) goes to host i % hosts in round i // hosts. On the wire it is
identifier base + i // 65536 and sequence i % 65536 (sequence numbers are 16 bits, RFC 792),
and its payload carries the collection's random token and i itself. Raw sockets check all
three; datagram sockets carry the kernel's identifier (the socket's port), so there the token
and the index in the payload tell probes apart.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

from collectors.icmp_packet import (
    ECHO,
    ICMP6_ECHO_REPLY,
    ICMP6_ECHO_REQUEST,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    EchoTemplate,
)
from collectors.icmp_sockets import receive_drops

log = logging.getLogger(__name__)

PENDING, ANSWERED, LATE, UNSENT = 0, 1, 2, 3

# Probes sent between two drains of the sockets: replies wait in the queue at most that long
# before we timestamp them, so RTTs stay honest and the receive buffer never fills.
DRAIN_EVERY = 8
YIELD_EVERY = 256  # probes sent between two yields to the event loop (other tasks run then)
MAX_CATCH_UP_NS = 20_000_000  # a paced sender that fell behind bursts at most 20 ms of probes
RETRY_PAUSE_S = 0.001  # after EAGAIN / ENOBUFS: let the queue empty, then send the same probe
TRANSIENT = {errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.EINTR}
MAX_RECV_ERRORS = 1024  # per drain: asynchronous socket errors are skipped, never looped on


@dataclass(frozen=True, slots=True)
class Tally:
    """One host's raw counts after a sweep (nanoseconds; rtt fields 0 when nothing came back)."""

    sent: int
    received: int
    duplicates: int
    rtt_min_ns: int
    rtt_max_ns: int
    rtt_sum_ns: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Route:
    """Where one family's probes go out: its socket and request template."""

    sock: socket.socket
    template: EchoTemplate
    ip_header: bool  # raw IPv4 sockets hand us the IPv4 header before the ICMP message
    reply_type: int


def make_route(sock: socket.socket, version: int, raw: bool, token: int, size: int) -> Route:
    """A route for IP version 4 or 6 over sock, in raw or datagram mode."""
    request, reply = (
        (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY)
        if version == 4
        else (ICMP6_ECHO_REQUEST, ICMP6_ECHO_REPLY)
    )
    # The kernel computes ICMPv6 checksums itself (RFC 3542 section 3.1) and rewrites the
    # identifier, hence the checksum, of datagram ("ping") sockets.
    template = EchoTemplate(request, token, size, kernel_checksum=version == 6 or not raw)
    return Route(sock, template, ip_header=raw and version == 4, reply_type=reply)


class Sweep:
    """One collection's probes, their send times and the per-host tallies."""

    def __init__(
        self,
        hosts: Sequence[str],
        routes: Sequence[Route],
        *,
        raw: bool,
        token: int,
        identifier: int,
        count: int,
        interval_ns: int,
        timeout_ns: int,
        rate: float | None,
    ) -> None:
        n = len(hosts)
        total = n * count
        self.hosts = list(hosts)  # canonical text, as recvfrom reports a reply's source
        self.routes = list(routes)  # routes[h] for host h
        self.raw = raw
        self.token = token
        self.identifier = identifier
        self.count = count
        self.interval_ns = interval_ns
        self.timeout_ns = timeout_ns
        self.period_ns = 1e9 / rate if rate else 0.0
        self.total = total
        self.send_ns = [0] * total
        self.state = bytearray(total)  # PENDING until sent and answered, late or unsent
        self.sent = [0] * n
        self.received = [0] * n
        self.duplicates = [0] * n
        self.rtt_min = [0] * n
        self.rtt_max = [0] * n
        self.rtt_sum = [0] * n
        self.errors: dict[int, str] = {}
        self.outstanding = 0  # sent probes neither answered nor late
        self.sending = True
        self.last_send_ns = 0
        self.unique = list({id(r.sock): r for r in routes}.values())
        self._done: asyncio.Future[None] | None = None

    async def run(self) -> list[Tally]:
        """Send every probe, collect every reply until the last timeout, return per-host tallies."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        for route in self.unique:
            loop.add_reader(route.sock.fileno(), self.drain, route)
        try:
            await self._send_all()
            self.sending = False
            self.drain_all()
            if self.outstanding:
                left_s = (self.last_send_ns + self.timeout_ns - time.monotonic_ns()) / 1e9
                if left_s > 0:
                    await asyncio.wait([self._done], timeout=left_s)
            self.drain_all()  # replies already queued are judged by their RTT, not dropped
        finally:
            for route in self.unique:
                loop.remove_reader(route.sock.fileno())
        self._report_drops()
        return self.tallies()

    async def _send_all(self) -> None:
        n = len(self.hosts)
        routes = self.routes
        hosts = self.hosts
        send_ns = self.send_ns
        sent = self.sent
        base = self.identifier
        interval_ns = self.interval_ns
        period_ns = self.period_ns
        monotonic_ns = time.monotonic_ns
        bufs = {id(r): r.template.buffer() for r in routes}
        plan = [
            (r.sock.sendto, r.template.build, bufs[id(r)], (a, 0))
            for r, a in zip(routes, hosts, strict=True)
        ]
        start_ns = monotonic_ns()
        paced = 0  # probes the pacer has let through
        for i in range(self.total):
            h = i % n
            due = int(start_ns + paced * period_ns) if period_ns else 0
            if interval_ns and i >= n and send_ns[i - n]:
                due = max(due, send_ns[i - n] + interval_ns)
            if due:
                now = monotonic_ns()
                if now < due:
                    self.drain_all()
                    await asyncio.sleep((due - now) / 1e9)
                elif period_ns and now - due > MAX_CATCH_UP_NS:
                    start_ns += now - due - MAX_CATCH_UP_NS  # fell behind: do not flood to catch up
            if i % DRAIN_EVERY == DRAIN_EVERY - 1:
                self.drain_all()
                if i % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)  # let the rest of the daemon run between bursts
            sendto, build, buf, sockaddr = plan[h]
            build(buf, (base + (i >> 16)) & 0xFFFF, i & 0xFFFF, i)
            first_try = 0
            while True:
                t = monotonic_ns()
                first_try = first_try or t
                try:
                    sendto(buf, sockaddr)
                except OSError as exc:
                    if exc.errno in TRANSIENT and t - first_try < self.timeout_ns:
                        # Send queue full: empty ours, wait a moment, send the same probe again.
                        self.drain_all()
                        await asyncio.sleep(RETRY_PAUSE_S)
                        continue
                    self.state[i] = UNSENT
                    self.errors.setdefault(h, f"send failed: {exc.strerror or exc}")
                    break
                send_ns[i] = t
                sent[h] += 1
                self.outstanding += 1
                self.last_send_ns = t
                break
            paced += 1

    def drain_all(self) -> None:
        """Read every reply queued on every socket."""
        for route in self.unique:
            self.drain(route)

    def drain(self, route: Route) -> None:
        """Read every reply queued on route's socket and credit the probe each one answers."""
        recvfrom = route.sock.recvfrom
        unpack = ECHO.unpack_from
        monotonic_ns = time.monotonic_ns
        ip_header = route.ip_header
        reply_type = route.reply_type
        bufsize = 60 + ECHO.size  # an IPv4 header with options, then what we read of the echo
        token, total, n, base = self.token, self.total, len(self.hosts), self.identifier
        check_identifier = self.raw
        hosts, state, send_ns, timeout_ns = self.hosts, self.state, self.send_ns, self.timeout_ns
        received, duplicates = self.received, self.duplicates
        rtt_min, rtt_max, rtt_sum = self.rtt_min, self.rtt_max, self.rtt_sum
        recv_errors = 0
        while True:
            try:
                data, source = recvfrom(bufsize)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # A pending ICMP error reported on the socket; its probe simply times out.
                recv_errors += 1
                if recv_errors > MAX_RECV_ERRORS:
                    break
                continue
            now = monotonic_ns()
            offset = (data[0] & 0x0F) << 2 if ip_header else 0
            if len(data) < offset + ECHO.size:
                continue
            kind, _code, _sum, ident, seq, tok, index = unpack(data, offset)
            # Another process's ping, another collection's, or a forged reply: not ours.
            if kind != reply_type or tok != token or index >= total or seq != index & 0xFFFF:
                continue
            if check_identifier and ident != (base + (index >> 16)) & 0xFFFF:
                continue
            h = index % n
            if source[0] != hosts[h] or not send_ns[index]:
                continue
            status = state[index]
            if status == PENDING:
                rtt = now - send_ns[index]
                self.outstanding -= 1
                if rtt > timeout_ns:
                    state[index] = LATE  # counted lost, like ping: the answer came after we gave up
                    continue
                state[index] = ANSWERED
                got = received[h]
                received[h] = got + 1
                rtt_sum[h] += rtt
                if not got or rtt < rtt_min[h]:
                    rtt_min[h] = rtt
                if rtt > rtt_max[h]:
                    rtt_max[h] = rtt
            elif status == ANSWERED:
                duplicates[h] += 1  # the same probe answered again: never an extra "received"
        done = self._done
        if not self.sending and not self.outstanding and done is not None and not done.done():
            done.set_result(None)

    def _report_drops(self) -> None:
        for route in self.unique:
            drops = receive_drops(route.sock)
            if drops:
                # Not silent: replies lost in our own buffer are counted lost and said so here.
                log.warning(
                    "icmp: %d packets dropped at the receive buffer of the IPv%d socket; "
                    "probes they answered are counted lost",
                    drops,
                    6 if route.sock.family == socket.AF_INET6 else 4,
                )

    def tallies(self) -> list[Tally]:
        """Per-host counts in host order."""
        return [
            Tally(
                sent=self.sent[h],
                received=self.received[h],
                duplicates=self.duplicates[h],
                rtt_min_ns=self.rtt_min[h],
                rtt_max_ns=self.rtt_max[h],
                rtt_sum_ns=self.rtt_sum[h],
                error=self.errors.get(h),
            )
            for h in range(len(self.hosts))
        ]
