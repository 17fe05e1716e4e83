"""The stream hub's bounds and bookkeeping, on the event loop (no server needed)."""

from __future__ import annotations

import asyncio

import pytest

from api import stream_hub
from api.stream_hub import StreamHub, Subscription, TooManyStreams
from ipam.db import make_sessionmaker
from ipam.settings import Settings


def _hub(engine, **limits: int) -> StreamHub:
    settings = Settings(**limits)
    return StreamHub(make_sessionmaker(engine), settings)


def test_bounds_per_client_token_and_total_and_release_frees_them(engine):
    async def scenario() -> None:
        hub = _hub(engine, stream_max_per_client=2, stream_max_per_token=1, stream_max_total=3)
        a1, a2 = hub.admit("192.0.2.1"), hub.admit("192.0.2.1")
        with pytest.raises(TooManyStreams, match="per client"):
            hub.admit("192.0.2.1")
        hub.subscribe(a1, "t1", latest=0)
        with pytest.raises(TooManyStreams, match="per token"):
            hub.subscribe(a2, "t1", latest=0)
        b1 = hub.admit("192.0.2.2")
        with pytest.raises(TooManyStreams, match="open"):
            hub.admit("192.0.2.3")
        for sub in (a1, a2, b1, a1):  # releasing twice changes nothing
            hub.release(sub)
        assert a1.ended == "closed"
        again = hub.admit("192.0.2.1")
        hub.subscribe(again, "t1", latest=0)
        hub.release(again)
        await asyncio.sleep(0)  # the poller sees no stream left and stops

    asyncio.run(scenario())


def test_a_stream_that_falls_behind_is_ended_not_buffered():
    async def scenario() -> None:
        sub = Subscription("192.0.2.1")
        for n in range(stream_hub.MAX_PENDING):
            sub.offer([{"id": n}])
        assert sub.ended is None
        sub.offer([{"id": stream_hub.MAX_PENDING}])
        assert sub.ended == "the client reads too slowly"
        assert len(sub.pending) == stream_hub.MAX_PENDING
        assert await sub.next_batch(0.01) == [{"id": 0}]  # what came before is still read

    asyncio.run(scenario())


def test_refused_secrets_are_remembered_briefly_and_boundedly(engine, monkeypatch):
    monkeypatch.setattr(stream_hub, "MAX_REFUSED", 3)
    hub = _hub(engine)
    for digest in ("a", "b", "c", "d"):
        hub.refuse(digest)
    assert not hub.refused("a")  # the oldest was forgotten
    assert all(hub.refused(d) for d in ("b", "c", "d"))
    monkeypatch.setattr(stream_hub, "REFUSED_TTL_S", -1.0)
    hub.refuse("e")
    assert not hub.refused("e")
