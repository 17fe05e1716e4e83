"""SNMP agents that misbehave: answers that are garbage, or answers to another question."""

import random
import socket
import threading
from collections.abc import Iterator

import pytest

from collectors.guard import ProbeGuard
from collectors.snmp import SnmpTarget, collect

LOOPBACK = ProbeGuard.from_cidrs(["127.0.0.0/8"])


def _answering(reply) -> Iterator[int]:
    """A UDP socket on loopback that answers every datagram with reply(request)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
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
            sock.sendto(reply(data), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    sock.close()


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
        assert not observation.ok
        assert observation.error
        assert observation.sys_name is None and observation.interfaces == ()
