"""Webhook delivery: each subscription's matching events, in order, signed, at least once.

One round (`deliver_once`, called by the scheduler every few seconds) takes every active
subscription whose next attempt is due and delivers its next events one at a time. Each
delivery is one short transaction that

1. locks the subscription row with ``SELECT ... FOR UPDATE SKIP LOCKED`` (another daemon
   process delivering it already means this one skips it: never two senders at once),
2. reads the next matching event after the subscription's cursor,
3. POSTs it (the row stays locked during the HTTP call, bounded by a timeout),
4. writes the delivery log row and, only on a 2xx, moves the cursor, then commits.

Guarantees: events reach a subscriber in id (= commit) order, never skipping one; delivery
is at least once: a crash (or a lost commit) between the POST and step 4's commit leaves the
cursor where it was, so the same event is sent again. Receivers should deduplicate on
X-Meshkeeper-Event-Id.

Failures (non-2xx answer, connection error, timeout) are logged, the subscription backs
off exponentially (10 s doubling, capped at 1 h) and stops for the round; after
MAX_FAILURES failures in a row (about 27 h of retries) it is paused until an admin resumes
it through POST /api/v1/webhooks/<id>/resume/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from anyio import to_thread
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ipam import models as m
from ipam.records import events

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 10.0
BACKOFF_CAP_S = 3600.0
# With the cap at 1 h, 36 failures in a row span 10 s + 20 s + ... + 2560 s (about 1.4 h)
# plus 26 h at the cap, about 27.4 h: a receiver down over a whole day loses nothing.
MAX_FAILURES = 36
DELIVERY_TIMEOUT_S = 10.0
CONCURRENCY = 8
USER_AGENT = "meshkeeper-webhooks"


def backoff(failures: int) -> timedelta:
    """The wait after the n-th failure in a row: 10 s doubling, at most one hour."""
    exponent = min(max(failures, 1) - 1, 32)  # bounded: 2**32 * 10 s is far past the cap
    return timedelta(seconds=min(BACKOFF_BASE_S * 2**exponent, BACKOFF_CAP_S))


def retry_span(max_failures: int = MAX_FAILURES) -> timedelta:
    """How long retries last from the first failure until the subscription is paused."""
    return sum((backoff(n) for n in range(1, max_failures)), timedelta())


def body_of(event: dict[str, Any]) -> bytes:
    """The exact bytes POSTed for an event (and signed)."""
    return json.dumps({"event": event["type"], "data": event}, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    """X-Meshkeeper-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Claim:
    """The next event of one locked subscription."""

    webhook_id: uuid.UUID
    url: str
    secret: str
    attempt: int
    event: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        """A 2xx answer (redirects are not followed and count as failures)."""
        return self.status_code is not None and 200 <= self.status_code < 300


def _stamp(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _due_clause(now: datetime) -> Any:
    return (
        m.Webhook.paused.is_(False),
        or_(m.Webhook.next_attempt_at.is_(None), m.Webhook.next_attempt_at <= now),
    )


def _due(sessions: sessionmaker[Session], now: datetime) -> list[uuid.UUID]:
    with sessions() as session:
        stmt = select(m.Webhook.id).where(*_due_clause(now)).order_by(m.Webhook.id)
        return list(session.scalars(stmt))


def _claim(session: Session, webhook_id: uuid.UUID, now: datetime) -> Claim | None:
    """Lock a due subscription and read its next matching event (None: locked, idle or gone)."""
    hook = session.scalars(
        select(m.Webhook)
        .where(m.Webhook.id == webhook_id, *_due_clause(now))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()
    if hook is None:
        return None
    # Read the horizon first: every id up to it has committed (see ipam.records.events), so when
    # nothing after the cursor matches, the cursor may skip straight to it.
    horizon = events.latest_id(session)
    found = events.events_after(session, hook.cursor, hook.event_types, 1)
    if not found:
        if horizon > hook.cursor:
            hook.cursor = horizon
        return None
    return Claim(hook.id, hook.url, hook.secret, hook.failures + 1, found[0], dict(hook.headers))


async def post(client: httpx.AsyncClient, claim: Claim) -> Outcome:
    """POST one event; any failure becomes an Outcome, never an exception."""
    body = body_of(claim.event)
    # The subscription's own headers first: ours (type, signature, event id) always win.
    headers = {
        **claim.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Meshkeeper-Event-Id": str(claim.event["id"]),
        "X-Meshkeeper-Signature": sign(claim.secret, body),
    }
    started = time.perf_counter()
    try:
        # Streamed and never read: a receiver's answer body does not matter, however large.
        async with client.stream(
            "POST",
            claim.url,
            content=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT_S,
            follow_redirects=False,
        ) as response:
            status: int | None = response.status_code
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except Exception as exc:  # noqa: BLE001 - every failure is the receiver's, and is logged
        status = None
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = (time.perf_counter() - started) * 1000
    return Outcome(status, error[:500] if error else None, duration)


def _record(
    session: Session, claim: Claim, outcome: Outcome, now: datetime | None, max_failures: int
) -> None:
    """Log the attempt and move the cursor (2xx) or back off (anything else); commit."""
    at = _stamp(now)
    hook = session.get_one(m.Webhook, claim.webhook_id)
    session.add(
        m.WebhookDelivery(
            webhook_id=hook.id,
            event_id=claim.event["id"],
            attempt=claim.attempt,
            at=at,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            delivered=outcome.ok,
        )
    )
    if outcome.ok:
        if hook.failures:
            log.info("webhook %s recovered after %d failures", hook.id, hook.failures)
        hook.cursor = claim.event["id"]
        hook.failures = 0
        hook.next_attempt_at = None
    else:
        hook.failures += 1
        if hook.failures >= max_failures:
            hook.paused = True
            hook.next_attempt_at = None
            log.warning(
                "webhook %s paused after %d failures in a row (last: %s)",
                hook.id,
                hook.failures,
                outcome.error,
            )
        else:
            if hook.failures == 1:
                log.warning("webhook %s failing: %s", hook.id, outcome.error)
            hook.next_attempt_at = at + backoff(hook.failures)
    session.commit()


async def deliver_subscription(
    sessions: sessionmaker[Session],
    client: httpx.AsyncClient,
    webhook_id: uuid.UUID,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILURES,
    batch: int = 50,
) -> int:
    """Deliver up to `batch` events to one subscription, in order; the number delivered."""
    delivered = 0
    while delivered < batch:
        session = sessions()
        try:
            claim = await to_thread.run_sync(_claim, session, webhook_id, _stamp(now))
            if claim is None:
                await to_thread.run_sync(session.commit)  # a cursor skipped over non-matches
                break
            outcome = await post(client, claim)
            await to_thread.run_sync(_record, session, claim, outcome, now, max_failures)
        finally:
            session.close()  # rolls back (and unlocks) whatever did not commit
        if not outcome.ok:
            break
        delivered += 1
    return delivered


async def deliver_once(
    sessions: sessionmaker[Session],
    client: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILURES,
    batch: int = 50,
) -> int:
    """One round over every due subscription (several at a time); the events delivered.

    `now` (for tests) replaces the clock for due times, back-off and the delivery log.
    """
    due = await to_thread.run_sync(_due, sessions, _stamp(now))
    limiter = anyio.CapacityLimiter(CONCURRENCY)
    total = 0

    async def one(webhook_id: uuid.UUID) -> None:
        nonlocal total
        async with limiter:
            try:
                # Awaited first: `total += await ...` would read total before the await.
                sent = await deliver_subscription(
                    sessions, client, webhook_id, now=now, max_failures=max_failures, batch=batch
                )
                total += sent
            except SQLAlchemyError as exc:
                # One subscription's database trouble must not cancel the others' deliveries.
                log.warning("webhook %s: delivery round failed: %s", webhook_id, exc)

    async with anyio.create_task_group() as group:
        for webhook_id in due:
            group.start_soon(one, webhook_id)
    return total
