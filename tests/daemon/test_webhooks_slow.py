"""A slow webhook receiver delays only itself (issue 11, finding 6).

Real loopback receivers: one answers a byte at a time, another at once. The delivery to the
slow one ends at the total time limit, the fast one's events keep arriving while it hangs,
and deleting the slow subscription answers at once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from daemon import webhooks as wh
from daemon.jobs import default_jobs
from ipam import models as m
from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.records import tokens
from tests.daemon.receiver import Receiver, Trickler
from tests.daemon.test_webhooks import emit, hook_row, log_rows, subscribe


async def _until(check, timeout: float) -> float:
    """Seconds until check() is true; fails the test after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_trickling_answer_ends_at_the_total_time_limit(sessions, monkeypatch):
    monkeypatch.setattr(wh, "DELIVERY_TIMEOUT_S", 1.0)
    # 0.2 s between bytes: httpx's per-read timeout alone would never fire.
    with Trickler(gap=0.2) as slow:
        hook_id = subscribe(sessions, slow.url)
        emit(sessions, "node.created")
        started = time.monotonic()
        async with httpx.AsyncClient(trust_env=False) as client:
            assert await wh.deliver_once(sessions, client) == 0
        took = time.monotonic() - started
    assert took < 3.0, took  # the whole answer would take 0.2 s x 60 bytes = 12 s
    (row,) = log_rows(sessions, hook_id)
    assert not row.delivered and "Timeout" in row.error
    hook = hook_row(sessions, hook_id)
    assert (hook.cursor, hook.failures) == (0, 1)


async def test_a_slow_receiver_never_delays_another_subscription(sessions, settings):
    job = default_jobs(settings)["webhooks"][0]
    with Trickler(gap=0.2) as slow, Receiver() as fast:
        subscribe(sessions, slow.url)
        subscribe(sessions, fast.url)
        waits = []
        try:
            for n in range(3):
                emit(sessions, "node.updated", f"n{n}")
                started = time.monotonic()
                # A round starts deliveries and returns; it does not wait for the slow one.
                await asyncio.wait_for(job(sessions, settings), timeout=1.0)
                waits.append(await _until(lambda n=n: len(fast.delivered()) == n + 1, 2.0))
                assert time.monotonic() - started < 2.0
            # All the while the slow receiver was still answering its first event.
            assert slow.open == 1 and slow.connections == 1
        finally:
            await job.aclose()  # what Daemon.stop does: the slow delivery is cancelled
        assert job.deliverer is None
        await _until(lambda: slow.open == 0, 2.0)
    assert [r.event_id for r in fast.delivered()] == [1, 2, 3]
    assert max(waits) < 1.0, waits


@pytest.fixture()
def admin_client(db, sessions, settings):
    """The API over the test database, with an admin token sent on every request."""
    with transaction(sessions) as session:
        secret = tokens.create_token(session, "admin", TokenRole.ADMIN)
    with TestClient(create_app(settings, db)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client


async def test_deleting_a_subscription_never_waits_for_its_delivery(
    sessions, admin_client, monkeypatch
):
    monkeypatch.setattr(wh, "DELIVERY_TIMEOUT_S", 1.5)
    with Trickler(gap=0.2) as slow:
        created = admin_client.post(
            "/api/v1/webhooks/", json={"url": slow.url, "secret": "s3cret-for-tests"}
        )
        assert created.status_code == 201, created.text
        hook_id = created.json()["id"]
        emit(sessions, "node.created")
        async with httpx.AsyncClient(trust_env=False) as client:
            deliverer = wh.Deliverer(sessions, client)
            await deliverer.start_round()
            await _until(lambda: slow.connections == 1, 2.0)  # the POST is in flight
            started = time.monotonic()
            deleted = await asyncio.wait_for(
                asyncio.to_thread(admin_client.delete, f"/api/v1/webhooks/{hook_id}/"), 5.0
            )
            took = time.monotonic() - started
            assert deleted.status_code == 204
            assert took < 1.0, took
            # The delivery then ends at its time limit and finds nothing left to record.
            await asyncio.wait_for(deliverer.wait(), 5.0)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Webhook)) == 0
        assert session.scalar(select(func.count()).select_from(m.WebhookDelivery)) == 0


async def test_a_claim_whose_sender_died_is_delivered_after_its_lease(sessions, receiver_):
    # At least once without a lock held across the POST: a process that claimed an event and
    # died (no delivery recorded) only delays it until the lease runs out.
    hook_id = subscribe(sessions, receiver_.url)
    emit(sessions, "node.created")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    claim = await asyncio.to_thread(wh._claim_committed, sessions, wh.WEBHOOKS, hook_id, t0)
    assert claim is not None and claim.event["id"] == 1
    lease = timedelta(seconds=wh.DELIVERY_TIMEOUT_S + wh.LEASE_MARGIN_S)
    async with httpx.AsyncClient(trust_env=False) as client:
        assert await wh.deliver_once(sessions, client, now=t0 + lease / 2) == 0
        assert receiver_.received == []
        assert await wh.deliver_once(sessions, client, now=t0 + lease) == 1
    assert [r.event_id for r in receiver_.delivered()] == [1]
    assert hook_row(sessions, hook_id).cursor == 1


@pytest.fixture()
def receiver_():
    with Receiver() as r:
        yield r
