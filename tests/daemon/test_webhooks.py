"""Webhook delivery against a real receiver on 127.0.0.1: order, signatures, back-off, locks."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from daemon import webhooks as wh
from ipam import models as m
from ipam.db import transaction
from ipam.records import events
from ipam.records.changes import write_event
from tests.daemon.receiver import Receiver, closed_port_url

SECRET = "s3cret-for-tests"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def emit(sessions, event_type: str, subject: str = "x", nn: int | None = None) -> None:
    """Write one event in its own transaction."""
    resource = event_type.split(".")[0] + "s"
    data = {"from": "up", "to": "down"} if "status" in event_type else {"before": None, "after": {}}
    with transaction(sessions) as session:
        write_event(session, event_type, resource, subject, data, nn)


def subscribe(sessions, url: str, event_types: list[str] | None = None, cursor: int = 0):
    """A subscription row, as the API makes it."""
    with transaction(sessions) as session:
        hook = m.Webhook(url=url, event_types=event_types or [], secret=SECRET, cursor=cursor)
        session.add(hook)
        session.flush()
        return hook.id


def hook_row(sessions, hook_id) -> m.Webhook:
    with sessions() as session:
        return session.get_one(m.Webhook, hook_id)


def log_rows(sessions, hook_id) -> list[m.WebhookDelivery]:
    with sessions() as session:
        return list(
            session.scalars(
                select(m.WebhookDelivery)
                .where(m.WebhookDelivery.webhook_id == hook_id)
                .order_by(m.WebhookDelivery.id)
            )
        )


@pytest.fixture()
async def client():
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


@pytest.fixture()
def receiver():
    with Receiver() as r:
        yield r


def test_backoff_schedule_spans_more_than_a_day():
    assert [wh.backoff(n).total_seconds() for n in (1, 2, 3, 9, 10, 30, 1000)] == [
        10,
        20,
        40,
        2560,
        3600,
        3600,
        3600,
    ]
    assert wh.retry_span(wh.MAX_FAILURES) >= timedelta(hours=24)
    assert wh.retry_span(wh.MAX_FAILURES) < timedelta(hours=30)


async def test_delivers_matching_events_in_order_signed(sessions, client, receiver):
    everything = subscribe(sessions, receiver.url)
    nodes_only = subscribe(sessions, receiver.url + "?only=nodes", ["node."])
    for t in ("member.created", "node.created", "device.status_changed", "node.updated"):
        emit(sessions, t, nn=12 if t.startswith("node") else None)
    emit(sessions, "member.updated")

    assert await wh.deliver_once(sessions, client) == 7
    got = receiver.delivered()
    for r in got:
        assert r.signature_ok(SECRET)
        assert r.headers["content-type"] == "application/json"
        assert r.json["data"]["id"] == r.event_id
        assert r.json["event"] == r.json["data"]["type"]
    with sessions() as session:
        expected = events.events_after(session, 0)
    # The all-events subscription got every event exactly as the feed shows it, in order.
    assert [r.json["data"] for r in got if r.path == "/hook"] == expected
    assert [r.event_id for r in got if r.path.endswith("only=nodes")] == [2, 4]
    assert hook_row(sessions, everything).cursor == 5
    # The node-only subscription skipped past the trailing member.updated: nothing waits.
    assert hook_row(sessions, nodes_only).cursor == 5
    rows = log_rows(sessions, nodes_only)
    assert [(r.event_id, r.delivered, r.status_code, r.attempt) for r in rows] == [
        (2, True, 200, 1),
        (4, True, 200, 1),
    ]
    assert await wh.deliver_once(sessions, client) == 0


async def test_payload_is_the_event_as_the_feed_shows_it(sessions, client, receiver):
    subscribe(sessions, receiver.url)
    emit(sessions, "device.status_changed", "dev-9", nn=77)
    assert await wh.deliver_once(sessions, client) == 1
    (r,) = receiver.delivered()
    with sessions() as session:
        (event,) = events.events_after(session, 0)
    assert json.loads(r.body) == {"event": "device.status_changed", "data": event}
    assert r.body == wh.body_of(event)
    assert r.headers["x-meshkeeper-signature"] == wh.sign(SECRET, r.body)
    assert event["subject"] == {"resource": "devices", "id": "dev-9", "network_number": 77}


async def test_failures_back_off_and_every_event_arrives_in_order(sessions, client, receiver):
    hook_id = subscribe(sessions, receiver.url)
    for n in range(4):
        emit(sessions, "node.updated", f"n{n}")
    receiver.answer(500)
    now = T0
    gaps = []
    for round_ in range(6):
        if round_ == 3:  # then the receiver disappears altogether
            with transaction(sessions) as session:
                session.get_one(m.Webhook, hook_id).url = closed_port_url()
        assert await wh.deliver_once(sessions, client, now=now) == 0
        row = hook_row(sessions, hook_id)
        assert row.failures == round_ + 1 and not row.paused and row.cursor == 0
        gaps.append((row.next_attempt_at - now).total_seconds())
        # Not due yet: nothing is sent.
        before = len(receiver.received)
        assert (
            await wh.deliver_once(sessions, client, now=row.next_attempt_at - timedelta(1e-3)) == 0
        )
        assert len(receiver.received) == before
        now = row.next_attempt_at
    assert gaps == [10, 20, 40, 80, 160, 320]
    # Every failed attempt was the first event again: never skipped ahead.
    assert {r.event_id for r in receiver.received} == {1}
    log = log_rows(sessions, hook_id)
    assert [(r.event_id, r.attempt, r.delivered) for r in log] == [
        (1, n, False) for n in range(1, 7)
    ]
    assert [r.status_code for r in log] == [500, 500, 500, None, None, None]
    assert all(r.error for r in log)
    assert "Connect" in log[-1].error and log[0].error == "HTTP 500"

    with transaction(sessions) as session:
        session.get_one(m.Webhook, hook_id).url = receiver.url
    receiver.answer(200)
    emit(sessions, "node.deleted", "n9")
    assert await wh.deliver_once(sessions, client, now=now, batch=2) == 2
    assert await wh.deliver_once(sessions, client, now=now) == 3
    assert [r.event_id for r in receiver.delivered()] == [1, 2, 3, 4, 5]
    row = hook_row(sessions, hook_id)
    assert (row.cursor, row.failures, row.next_attempt_at, row.paused) == (5, 0, None, False)
    assert all(r.signature_ok(SECRET) for r in receiver.received)


async def test_paused_after_max_failures_over_a_day(sessions, client):
    hook_id = subscribe(sessions, closed_port_url())
    emit(sessions, "node.created")
    now = T0
    attempts = 0
    while not hook_row(sessions, hook_id).paused:
        assert await wh.deliver_once(sessions, client, now=now) == 0
        attempts += 1
        row = hook_row(sessions, hook_id)
        if row.next_attempt_at is not None:
            now = row.next_attempt_at
        assert attempts <= wh.MAX_FAILURES
    assert attempts == wh.MAX_FAILURES
    assert now - T0 >= timedelta(hours=24)
    row = hook_row(sessions, hook_id)
    assert (row.failures, row.cursor, row.next_attempt_at) == (wh.MAX_FAILURES, 0, None)
    # Paused: later rounds leave it alone.
    assert await wh.deliver_once(sessions, client, now=now + timedelta(days=30)) == 0
    assert len(log_rows(sessions, hook_id)) == wh.MAX_FAILURES


async def test_smaller_max_failures_pauses_sooner(sessions, client, receiver):
    receiver.answer(503)
    hook_id = subscribe(sessions, receiver.url)
    emit(sessions, "node.created")
    now = T0
    for _ in range(3):
        await wh.deliver_once(sessions, client, now=now, max_failures=3)
        now += timedelta(hours=2)
    assert hook_row(sessions, hook_id).paused


async def test_a_timeout_is_a_failure(sessions, client, receiver, monkeypatch):
    monkeypatch.setattr(wh, "DELIVERY_TIMEOUT_S", 0.2)
    receiver.answer(200, delay=1.0)
    hook_id = subscribe(sessions, receiver.url)
    emit(sessions, "node.created")
    assert await wh.deliver_once(sessions, client, now=T0) == 0
    (row,) = log_rows(sessions, hook_id)
    assert not row.delivered and row.status_code is None and "Timeout" in row.error
    assert hook_row(sessions, hook_id).cursor == 0


async def test_a_redirect_is_a_failure(sessions, client, receiver):
    receiver.answer(302)
    hook_id = subscribe(sessions, receiver.url)
    emit(sessions, "node.created")
    assert await wh.deliver_once(sessions, client, now=T0) == 0
    assert hook_row(sessions, hook_id).failures == 1


async def test_non_matching_events_only_move_the_cursor(sessions, client, receiver):
    hook_id = subscribe(sessions, receiver.url, ["node."])
    for _ in range(3):
        emit(sessions, "member.created")
    assert await wh.deliver_once(sessions, client) == 0
    assert receiver.received == []
    assert hook_row(sessions, hook_id).cursor == 3
    with sessions() as session:
        assert events.backlogs(session) == {hook_id: 0}


async def test_a_locked_subscription_is_skipped(sessions, client, receiver, db):
    hook_id = subscribe(sessions, receiver.url)
    emit(sessions, "node.created")
    with db.connect() as other:  # another daemon process delivering this subscription
        other.execute(text("SELECT 1 FROM webhook WHERE id = :id FOR UPDATE"), {"id": hook_id})
        assert await wh.deliver_once(sessions, client) == 0
        assert receiver.received == []
        other.rollback()
    assert await wh.deliver_once(sessions, client) == 1


async def test_concurrent_rounds_never_deliver_an_event_twice(sessions, receiver):
    receiver.answer(200, delay=0.01)
    hooks = [subscribe(sessions, f"{receiver.url}?h={n}") for n in range(3)]
    for n in range(20):
        emit(sessions, "node.updated", f"n{n}")

    async def worker() -> int:
        async with httpx.AsyncClient(trust_env=False) as c:
            total = 0
            for _ in range(10):
                total += await wh.deliver_once(sessions, c, batch=7)
            return total

    totals = await asyncio.gather(worker(), worker(), worker())
    assert sum(totals) == 60
    got = receiver.delivered()
    for n in range(3):
        ids = [r.event_id for r in got if r.path.endswith(f"h={n}")]
        assert ids == list(range(1, 21)), (n, ids)
    for hook_id in hooks:
        assert hook_row(sessions, hook_id).cursor == 20
