"""SNMP agents that misbehave: answers that are garbage, or answers to another question."""

import contextlib
import random
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1905

from collectors.guard import ProbeGuard
from collectors.snmp import NO_ANSWER, SnmpTarget, collect

LOOPBACK = ProbeGuard.from_cidrs(["127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"])
P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
Handler = Callable[[socket.socket, bytes, tuple], None]


@contextlib.contextmanager
def serving(handle: Handler, host: str = "127.0.0.1") -> Iterator[int]:
    """A UDP socket at host that passes every datagram to handle(socket, data, sender)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            handle(sock, data, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def _answering(reply: Callable[[bytes], bytes]) -> Iterator[int]:
    """A UDP socket on loopback that answers every datagram with reply(request)."""
    with serving(lambda sock, data, peer: sock.sendto(reply(data), peer)) as port:
        yield port


@pytest.fixture
def garbage_agent() -> Iterator[int]:
    """Answers every request with random bytes."""
    rng = random.Random(3)
    yield from _answering(lambda _: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))


@pytest.fixture
def echo_agent() -> Iterator[int]:
    """Sends every request back as its own answer (a GetRequest where a Response belongs)."""
    yield from _answering(lambda data: data)


@pytest.fixture
def truncating_agent() -> Iterator[int]:
    """Answers with the first half of the request's bytes (a BER document cut short)."""
    yield from _answering(lambda data: data[: len(data) // 2])


@pytest.mark.parametrize("agent", ["garbage_agent", "echo_agent", "truncating_agent"])
async def test_bad_answers_become_an_error_not_a_crash(agent, request) -> None:
    port = request.getfixturevalue(agent)
    targets = [SnmpTarget("127.0.0.1", port, community="public") for _ in range(3)]
    observations = await collect(targets, guard=LOOPBACK, timeout=0.5, retries=0)
    assert len(observations) == 3
    for observation in observations:
        # Dropped as pysnmp drops them: to the poll it is as if nothing had answered.
        assert observation.error == NO_ANSWER
        assert observation.sys_name is None and observation.interfaces == ()


def answer(request: bytes, *, community: bytes = b"", id_offset: int = 0, status: int = 0) -> bytes:
    """A well-formed Response to a GetBulkRequest: endOfMibView for every OID it asked."""
    message, _ = decoder.decode(request, asn1Spec=P.Message())
    asked = P.apiMessage.get_pdu(message)
    pdu = P.ResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, int(P.apiBulkPDU.get_request_id(asked)) + id_offset)
    P.apiPDU.set_error_status(pdu, status)
    P.apiPDU.set_error_index(pdu, 1 if status else 0)
    names = [oid for oid, _ in P.apiBulkPDU.get_varbinds(asked)]
    P.apiPDU.set_varbinds(pdu, [(oid, rfc1905.endOfMibView) for oid in names])
    P.apiMessage.set_community(message, community or P.apiMessage.get_community(message))
    P.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def from_elsewhere(host: str, same_port: bool) -> Handler:
    """Answer correctly, but from another socket: another port, or another address."""

    def handle(sock: socket.socket, data: bytes, peer: tuple) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind((host, sock.getsockname()[1] if same_port else 0))
            other.sendto(answer(data), peer)

    return handle


def garbage_then_answer(sock: socket.socket, data: bytes, peer: tuple) -> None:
    sock.sendto(b"\x30\x03\x02\x01\x01", peer)  # a message with nothing after its version
    sock.sendto(answer(data, id_offset=1), peer)  # someone else's answer
    sock.sendto(answer(data), peer)


HANDLERS: dict[str, tuple[Handler, str | None]] = {
    "right answer": (lambda sock, data, peer: sock.sendto(answer(data), peer), None),
    "after garbage and a stranger's answer": (garbage_then_answer, None),
    "other source port": (from_elsewhere("127.0.0.1", same_port=False), NO_ANSWER),
    "other source address": (from_elsewhere("127.0.0.2", same_port=True), NO_ANSWER),
    "other community": (
        lambda sock, data, peer: sock.sendto(answer(data, community=b"private"), peer),
        NO_ANSWER,
    ),
    "other request-id": (
        lambda sock, data, peer: sock.sendto(answer(data, id_offset=1), peer),
        NO_ANSWER,
    ),
    "genErr": (
        lambda sock, data, peer: sock.sendto(answer(data, status=5), peer),
        "agent error genErr at 1.3.6.1.2.1.1.1",
    ),
    "tooBig, however small the question": (
        lambda sock, data, peer: sock.sendto(answer(data, status=1), peer),
        "tooBig",
    ),
}


@pytest.mark.parametrize("case", HANDLERS)
async def test_only_the_asked_agent_can_answer(case: str) -> None:
    handle, error = HANDLERS[case]
    with serving(handle) as port:
        target = SnmpTarget("127.0.0.1", port, community="public")
        [observation] = await collect([target], guard=LOOPBACK, timeout=0.3, retries=0)
    assert observation.error == error
    assert observation.requests >= 1


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("address", "host"),
    [("0:0::1", "::1"), ("::ffff:127.0.0.1", "127.0.0.1")],
    ids=["IPv6 written long-hand", "IPv4-mapped IPv6"],
)
async def test_answers_match_however_the_address_is_written(address: str, host: str) -> None:
    if ":" in host and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    with serving(HANDLERS["right answer"][0], host=host) as port:
        target = SnmpTarget(address, port, community="public")
        [observation] = await collect([target], guard=LOOPBACK, timeout=0.5, retries=0)
    assert observation.ok, observation.error
