"""SNMPv2c without pysnmp's engine: one UDP socket per address family per event loop.

Requests are told apart by request-id (RFC 3416 section 4.1). An answer counts only when it
comes from the address and port its request went to and carries the request's community;
anything else (garbage, a stray or forged datagram, another request's answer) is dropped, as
pysnmp drops it, so every request still ends in its answer or in a timeout after its retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collectors.icmp_sockets import enlarge_receive_buffer
from collectors.snmp_model import SnmpTarget
from collectors.snmp_wire import OID, VarBind, WireError, decode_response, encode_getbulk

log = logging.getLogger(__name__)

Answer = tuple[int, int, list[VarBind]]  # error-status, error-index, varbinds


@dataclass(slots=True)
class _Pending:
    """One request on the wire: what answers it, what to resend, and how often still."""

    future: asyncio.Future[Answer]
    peer: tuple[str, int]
    community: bytes
    packet: bytes
    timeout: float
    tries_left: int
    timer: asyncio.TimerHandle | None = None


class Endpoint(asyncio.DatagramProtocol):
    """One UDP socket and the requests waiting for an answer on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, _Pending] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport asyncio made for the socket."""
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Hand a well-formed answer to the request it belongs to; drop anything else."""
        try:
            response = decode_response(data)
        except WireError as exc:
            log.debug("snmp: dropped a datagram from %s port %s: %s", addr[0], addr[1], exc)
            return
        waiting = self.pending.get(response.request_id)
        if (
            waiting is None
            or waiting.peer != (addr[0], addr[1])
            or waiting.community != response.community
        ):
            log.debug(
                "snmp: dropped a response nobody asked for from %s port %s (request-id %d)",
                addr[0],
                addr[1],
                response.request_id,
            )
            return
        if not waiting.future.done():
            waiting.future.set_result(
                (response.error_status, response.error_index, response.varbinds)
            )

    def error_received(self, exc: Exception) -> None:
        """A send or ICMP error: the request it belongs to simply times out."""
        log.debug("snmp: socket error: %s", exc)

    def close(self) -> None:
        """Stop listening and release the socket, even if the loop it ran on is closed."""
        if self.transport is not None:
            # A closed loop cannot schedule connection_lost: the socket is closed below anyway.
            with contextlib.suppress(RuntimeError):
                self.transport.close()
        self.sock.close()

    async def request(
        self,
        peer: tuple[str, int],
        community: bytes,
        oids: Sequence[OID],
        non_repeaters: int,
        max_repetitions: int,
        timeout: float,
        retries: int,
    ) -> Answer:
        """One GetBulkRequest, sent again after each timeout up to retries times.

        Returns (error-status, error-index, varbinds); TimeoutError when nothing answered.
        """
        request_id = self._new_id()
        packet = encode_getbulk(community, request_id, non_repeaters, max_repetitions, oids)
        future = asyncio.get_running_loop().create_future()
        pending = _Pending(future, peer, community, packet, timeout, retries)
        self.pending[request_id] = pending
        try:
            self._send(pending)
            return await future
        finally:
            if pending.timer is not None:
                pending.timer.cancel()
            del self.pending[request_id]

    def _new_id(self) -> int:
        # Random, not sequential: a forged answer must guess it as well as address and port.
        while True:
            request_id = random.getrandbits(31)
            if request_id not in self.pending:
                return request_id

    def _send(self, pending: _Pending) -> None:
        assert self.transport is not None
        self.transport.sendto(pending.packet, pending.peer)
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(pending.timeout, self._expire, pending)

    def _expire(self, pending: _Pending) -> None:
        if pending.future.done():
            return
        if pending.tries_left > 0:
            # A retry is the same message, same request-id: a late answer to either try counts.
            pending.tries_left -= 1
            self._send(pending)
        else:
            pending.future.set_exception(TimeoutError())


_endpoints: dict[socket.AddressFamily, Endpoint] = {}
_endpoints_loop: asyncio.AbstractEventLoop | None = None


async def endpoint(family: socket.AddressFamily) -> Endpoint:
    """This event loop's endpoint for one address family, opened on first use."""
    global _endpoints_loop
    loop = asyncio.get_running_loop()
    if _endpoints_loop is not loop:
        # Like snmp_engine(): a transport belongs to the loop that made it, so a new loop (a
        # second asyncio.run, a test) gets new sockets and the old ones are only closed.
        for old in _endpoints.values():
            old.close()
        _endpoints.clear()
        _endpoints_loop = loop
    found = _endpoints.get(family)
    if found is not None and found.transport is not None and not found.transport.is_closing():
        return found
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        # Answers to many concurrent requests can arrive while the loop is busy decoding.
        enlarge_receive_buffer(sock)
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        _, made = await loop.create_datagram_endpoint(lambda: Endpoint(sock), sock=sock)
    except BaseException:
        sock.close()
        raise
    first = _endpoints.get(family)
    if first is not None and first is not found:
        made.close()  # another task opened one while this one waited: keep the first
        return first
    # asyncio closes a transport after an error it cannot report: then this one replaces it.
    _endpoints[family] = made
    return made


@dataclass(frozen=True)
class V2cChannel:
    """How one target is asked over SNMPv2c: its endpoint, address and community."""

    endpoint: Endpoint
    peer: tuple[str, int]
    community: bytes
    timeout: float
    retries: int

    @classmethod
    async def open(cls, target: SnmpTarget, timeout: float, retries: int) -> V2cChannel:
        """The channel for a community target at an IP literal (no packet is sent).

        ValueError when the address is not an IP literal or the community not Latin-1.
        """
        address = ipaddress.ip_address(target.address)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # the same host; its answers come from the IPv4
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        # Canonical text, as the socket reports an answer's source.
        peer = (str(address), target.port)
        # Latin-1, as pysnmp encodes a community given as text (pyasn1's OctetString default).
        community = (target.community or "").encode("latin-1")
        return cls(await endpoint(family), peer, community, timeout, retries)

    async def getbulk(
        self, oids: Sequence[OID], non_repeaters: int, max_repetitions: int
    ) -> Answer:
        """(error-status, error-index, varbinds) of one GETBULK; TimeoutError if unanswered."""
        return await self.endpoint.request(
            self.peer,
            self.community,
            oids,
            non_repeaters,
            max_repetitions,
            self.timeout,
            self.retries,
        )
