"""ICMP echo packets for the sweep engine: build requests, read replies (RFC 792, RFC 4443).

Every echo request of one collection carries the same 8-byte random token and its own 32-bit
probe index at the start of its payload. Echo replies copy the payload (RFC 792: "the data
received in the echo message must be returned in the echo reply"), so a reply names its probe
even where the kernel rewrote the identifier (datagram sockets) or where a raw socket sees
every other process's pings too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129

# type, code, checksum, identifier, sequence | token, probe index (our payload prefix)
ECHO = struct.Struct("!BBHHHQI")
ECHO_HEADER_SIZE = 8
MIN_PAYLOAD = ECHO.size - ECHO_HEADER_SIZE  # 12: token + index
# 65535 (IPv4 total length) - 20 (IPv4 header) - 8 (ICMP header); IPv6 allows 20 more, ignored.
MAX_PAYLOAD = 65507
MAX_PROBES = 1 << 32  # the index is 32 bits


def ones_complement_sum(data: bytes) -> int:
    """Unfolded 16-bit big-endian word sum of data, an odd last byte padded with zero."""
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def fold(total: int) -> int:
    """Fold carries back into 16 bits (RFC 1071 section 4.1)."""
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data: bytes) -> int:
    """The Internet checksum of data (RFC 1071)."""
    return ~fold(ones_complement_sum(data)) & 0xFFFF


def filler(size: int) -> bytes:
    """Payload bytes after token and index: 0x10, 0x11, ... like iputils ping's pattern."""
    return bytes((0x10 + i) & 0xFF for i in range(size))


@dataclass(frozen=True)
class EchoTemplate:
    """What stays the same across one collection's echo requests, so each probe is one pack."""

    request_type: int
    token: int
    payload_size: int
    kernel_checksum: bool  # ICMPv6 and datagram sockets: the kernel fills the checksum in
    fill: bytes = field(init=False)
    partial: int = field(init=False)  # word sum of everything but identifier, sequence, index

    def __post_init__(self) -> None:
        fill = filler(self.payload_size - MIN_PAYLOAD)
        head = struct.pack("!BBHHHQ", self.request_type, 0, 0, 0, 0, self.token)
        object.__setattr__(self, "fill", fill)
        object.__setattr__(self, "partial", ones_complement_sum(head) + ones_complement_sum(fill))

    def buffer(self) -> bytearray:
        """A reusable request buffer with the constant filler already in place."""
        return bytearray(ECHO.size) + self.fill

    def checksum_for(self, identifier: int, sequence: int, index: int) -> int:
        """The request checksum, by adding the three varying fields to the precomputed sum."""
        if self.kernel_checksum:
            return 0
        total = self.partial + identifier + sequence + (index >> 16) + (index & 0xFFFF)
        return ~fold(total) & 0xFFFF

    def build(self, buf: bytearray, identifier: int, sequence: int, index: int) -> None:
        """Write one echo request into buf (from buffer()) in place."""
        cksum = self.checksum_for(identifier, sequence, index)
        ECHO.pack_into(buf, 0, self.request_type, 0, cksum, identifier, sequence, self.token, index)

    def request(self, identifier: int, sequence: int, index: int) -> bytes:
        """One echo request as bytes (tests and one-off use; the engine reuses a buffer)."""
        buf = self.buffer()
        self.build(buf, identifier, sequence, index)
        return bytes(buf)


def reply_offset(data: bytes, ip_header: bool) -> int:
    """Where the ICMP message starts: after the IPv4 header raw IPv4 sockets hand us, else 0."""
    return (data[0] & 0x0F) << 2 if ip_header and data else 0
