"""ICMP sockets: raw when privileged, unprivileged datagram ("ping") otherwise, chosen once."""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from enum import StrEnum

from collectors.errors import CollectorError
from collectors.icmp_packet import ICMP6_ECHO_REPLY, ICMP_ECHO_REPLY

log = logging.getLogger(__name__)

COLLECTOR = "icmp"
PING_GROUP_RANGE = "/proc/sys/net/ipv4/ping_group_range"

# Linux socket options Python's socket module does not name.
SO_RCVBUFFORCE = 33  # SO_RCVBUF past net.core.rmem_max, needs CAP_NET_ADMIN (socket(7))
SO_MEMINFO = 55  # u32[SK_MEMINFO_VARS]; index 8 is the receive-buffer drop counter (sock_diag.h)
SK_MEMINFO_DROPS = 8
SOL_RAW = 255
ICMP_FILTER = 1  # raw(7): a type bitmask, set bit = do not deliver
ICMP6_FILTER = 1  # RFC 3542 section 3.2, same convention over 256 types

# Per-socket receive buffer asked for: enough for tens of thousands of queued replies. The kernel
# doubles it (socket(7)); without CAP_NET_ADMIN it is capped at net.core.rmem_max.
RCVBUF_BYTES = 4 << 20
SNDBUF_BYTES = 1 << 20


class IcmpMode(StrEnum):
    """How this process sends ICMP."""

    RAW = "raw"  # SOCK_RAW: root or CAP_NET_RAW; we see every ICMP packet the host receives
    DATAGRAM = "datagram"  # SOCK_DGRAM/IPPROTO_ICMP: allowed by net.ipv4.ping_group_range


_decided: IcmpMode | None = None
_decide_lock = threading.Lock()


def _family(version: int) -> tuple[socket.AddressFamily, int]:
    if version == 4:
        return socket.AF_INET, socket.IPPROTO_ICMP
    return socket.AF_INET6, socket.IPPROTO_ICMPV6


def enlarge_receive_buffer(sock: socket.socket) -> None:
    """Ask for an RCVBUF_BYTES receive buffer: forced past net.core.rmem_max when privileged."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)


def open_icmp_socket(version: int, mode: IcmpMode) -> socket.socket:
    """A non-blocking ICMP socket for IP version 4 or 6; raises OSError as the kernel does."""
    family, proto = _family(version)
    kind = socket.SOCK_RAW if mode is IcmpMode.RAW else socket.SOCK_DGRAM
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        enlarge_receive_buffer(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF_BYTES)
        if mode is IcmpMode.RAW:
            # A raw socket gets a copy of every ICMP packet the host receives, our own echo
            # requests on loopback included: let the kernel keep all but echo replies.
            if version == 4:
                mask = ~(1 << ICMP_ECHO_REPLY) & 0xFFFFFFFF
                sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", mask))
            else:
                words = [0xFFFFFFFF] * 8
                words[ICMP6_ECHO_REPLY >> 5] &= ~(1 << (ICMP6_ECHO_REPLY & 31)) & 0xFFFFFFFF
                sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
    except BaseException:
        sock.close()
        raise
    return sock


def receive_drops(sock: socket.socket) -> int:
    """Packets the kernel dropped because this socket's receive buffer was full (0 if unknown)."""
    try:
        info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
    except OSError:
        return 0
    if len(info) < 4 * (SK_MEMINFO_DROPS + 1):
        return 0
    return int(struct.unpack_from("=I", info, 4 * SK_MEMINFO_DROPS)[0])


def _ping_group_range() -> str:
    try:
        with open(PING_GROUP_RANGE) as f:
            return " ".join(f.read().split())
    except OSError:
        return "unknown"


def permission_error(mode: IcmpMode | None, cause: OSError) -> CollectorError:
    """The error naming the fix when the kernel refuses the ICMP socket we need."""
    raw_fix = (
        "raw ICMP sockets need root or CAP_NET_RAW "
        "(systemd: AmbientCapabilities=CAP_NET_RAW; or setcap cap_net_raw+ep on the interpreter)"
    )
    dgram_fix = (
        f"unprivileged ICMP sockets need the group id ({os.getgid()}) inside "
        f"net.ipv4.ping_group_range (now '{_ping_group_range()}'; "
        "e.g. sysctl -w net.ipv4.ping_group_range='0 2147483647')"
    )
    if mode is IcmpMode.RAW:
        reason = raw_fix
    elif mode is IcmpMode.DATAGRAM:
        reason = dgram_fix
    else:
        reason = f"neither raw nor datagram ICMP sockets are allowed: {raw_fix}; {dgram_fix}"
    return CollectorError(COLLECTOR, f"{reason} ({cause.strerror or cause})")


def _try_mode(mode: IcmpMode) -> OSError | None:
    """None when this process may open mode's sockets, else the kernel's refusal."""
    error: OSError | None = None
    for version in (4, 6):
        try:
            open_icmp_socket(version, mode).close()
            return None
        except PermissionError as exc:
            error = exc
        except OSError as exc:  # e.g. EAFNOSUPPORT: no IPv4 (or IPv6) here; try the other
            error = error or exc
    return error


def decide_mode() -> IcmpMode:
    """This process's ICMP mode: raw when privileged, else datagram; decided once, logged once."""
    global _decided
    with _decide_lock:
        if _decided is not None:
            return _decided
        raw_refused = _try_mode(IcmpMode.RAW)
        if raw_refused is None:
            _decided = IcmpMode.RAW
            log.info("icmp: using raw ICMP sockets (privileged: root or CAP_NET_RAW)")
            return _decided
        dgram_refused = _try_mode(IcmpMode.DATAGRAM)
        if dgram_refused is None:
            _decided = IcmpMode.DATAGRAM
            log.info(
                "icmp: using unprivileged ICMP datagram sockets (no CAP_NET_RAW; "
                "net.ipv4.ping_group_range '%s' admits gid %d)",
                _ping_group_range(),
                os.getgid(),
            )
            return _decided
        raise permission_error(None, dgram_refused)
