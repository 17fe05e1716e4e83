"""Webhook delivery: each subscription's matching events, in order, signed, at least once.

A round (`Deliverer.start_round`, called by the scheduler every few seconds) starts a task of
its own for every active subscription whose next attempt is due and that has no task running
yet, and returns: one slow receiver only ever delays its own subscription (issue 11). Each
task delivers that subscription's next events one at a time; each delivery is

1. a short transaction that locks the subscription row with ``SELECT ... FOR UPDATE SKIP
   LOCKED`` (another process claiming it right now means this one skips it), reads the next
   matching event after its cursor and sets ``next_attempt_at`` to a lease (the delivery's
   time limit plus a margin) before committing: other daemon processes see it as not due,
   and no row lock is held while the receiver answers, so deleting it never waits for one,
2. the POST, with a total time limit (``DELIVERY_TIMEOUT_S``, however slowly the receiver
   sends its answer: httpx's own timeouts are per read),
3. a short transaction that writes the delivery log row and, only on a 2xx, moves the
   cursor (a subscription deleted meanwhile is left deleted).

Guarantees: events reach a subscriber in id (= commit) order, never skipping one; delivery
is at least once: a crash between the POST and step 3's commit leaves the cursor where it
was, so the same event is sent again once the lease has run out. Receivers should
deduplicate on X-Meshkeeper-Event-Id.

Failures (non-2xx answer, connection error, timeout) are logged, the subscription backs
off exponentially (10 s doubling, capped at 1 h) and stops for the round; after
MAX_FAILURES failures in a row (about 27 h of retries) it is paused until an admin resumes
it through POST /api/v1/webhooks/<id>/resume/.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
import httpx
from anyio import to_thread
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ipam import models as m
from ipam.db import transaction
from ipam.records import events
from ipam.records.meshdb_events import meshdb_event, meshdb_patterns
from ipam.records.webhook_urls import Network, check_url, masked_url

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 10.0
BACKOFF_CAP_S = 3600.0
# With the cap at 1 h, 36 failures in a row span 10 s + 20 s + ... + 2560 s (about 1.4 h)
# plus 26 h at the cap, about 27.4 h: a receiver down over a whole day loses nothing.
MAX_FAILURES = 36
# The whole delivery (connect, send, the answer's status line and headers) within this.
DELIVERY_TIMEOUT_S = 10.0
# A claimed subscription is not due for this long past the time limit: a crashed sender's
# event goes out again after it (at least once), a live one has long finished.
LEASE_MARGIN_S = 30.0
# Subscriptions delivered at once by one process (each holds one HTTP connection, no
# database connection while it waits for its receiver).
MAX_IN_FLIGHT = 100
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
    body: bytes = b""  # what is sent (a webhook's JSON; a channel's message is in the event)
    headers: dict[str, str] = field(default_factory=dict)  # a subscription's own headers


@dataclass(frozen=True)
class Outcome:
    """What one delivery came to."""

    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        """Delivered: no error (a webhook's non-2xx answer, redirects included, is an error)."""
        return self.error is None


# What a kind of subscriber is: its table, how its next event (and the body to send) is chosen,
# how it is sent, and how an attempt is logged. Webhooks are one; notification channels
# (daemon/notify.py) another.
NextEvent = Callable[[Session, Any, datetime], "tuple[dict[str, Any], bytes] | None"]
Send = Callable[[httpx.AsyncClient, Claim, Sequence[Network]], Awaitable[Outcome]]
LogRow = Callable[[Claim, Outcome, datetime], Any]


@dataclass(frozen=True)
class Route:
    """One kind of subscriber the delivery machinery below serves, cursor, back-off and all."""

    name: str
    model: Any  # a mapped class with id, url, cursor, paused, failures, next_attempt_at
    next_event: NextEvent
    send: Send
    log_row: LogRow
    secret: Callable[[Any], str] = lambda row: ""
    headers: Callable[[Any], dict[str, str]] = lambda row: {}


def _stamp(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _due_clause(model: Any, now: datetime) -> Any:
    return (
        model.paused.is_(False),
        or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
    )


def _due(sessions: sessionmaker[Session], route: Route, now: datetime) -> list[uuid.UUID]:
    with sessions() as session:
        model = route.model
        stmt = select(model.id).where(*_due_clause(model, now)).order_by(model.id)
        return list(session.scalars(stmt))


# A record as `GET /api/v1/<resource>/<id>/` shows it, or None when it is gone. The API
# layer knows that shape and the daemon may not import it: the CLI passes it in.
Render = Callable[[Session, str, str], dict[str, Any] | None]
SKIP_BATCH = 200  # events read at a time when looking past ones MeshDB has no name for


def meshdb_body(hook: m.Webhook, name: str, data: Any) -> bytes:
    """drf-hooks' payload (its AbstractHook.serialize_hook): the hook, then the record."""
    payload = {"hook": {"id": str(hook.id), "event": name, "target": hook.url}, "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()


def _meshdb_next(
    session: Session, hook: m.Webhook, render: Render | None
) -> tuple[dict[str, Any], bytes] | None:
    """The next event MeshDB has a name for, with its body; the cursor moves past the rest."""
    patterns = list(hook.event_types) or meshdb_patterns()
    while True:
        found = events.events_after(session, hook.cursor, patterns, SKIP_BATCH)
        for event in found:
            name = meshdb_event(event["type"])
            if name is None:
                hook.cursor = event["id"]  # e.g. node.status_changed: MeshDB has no such event
                continue
            subject = event["subject"]
            data = render(session, subject["resource"], subject["id"]) if render else None
            if data is None:
                # Deleted since (or no renderer): the last version the event itself holds.
                snap = event["data"] or {}
                data = snap.get("after") or snap.get("before") or snap
            return event, meshdb_body(hook, name, data)
        if len(found) < SKIP_BATCH:
            return None


def _next_matching(
    session: Session, hook: Any, render: Render | None
) -> tuple[dict[str, Any], bytes] | None:
    """A webhook's next event, in its format: the first after its cursor of a subscribed type."""
    # Read the horizon first: every id up to it has committed (see ipam.records.events), so when
    # nothing after the cursor matches, the cursor may skip straight to it.
    horizon = events.latest_id(session)
    if hook.format == "meshdb":
        claimed = _meshdb_next(session, hook, render)
    else:
        found = events.events_after(session, hook.cursor, hook.event_types, 1)
        claimed = (found[0], body_of(found[0])) if found else None
    if claimed is None and horizon > hook.cursor:
        hook.cursor = horizon
    return claimed


def _claim(session: Session, route: Route, row_id: uuid.UUID, now: datetime) -> Claim | None:
    """Lock a due subscription and read its next matching event (None: locked, idle or gone)."""
    model = route.model
    hook = session.scalars(
        select(model)
        .where(model.id == row_id, *_due_clause(model, now))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()
    if hook is None:
        return None
    found = route.next_event(session, hook, now)
    if found is None:
        return None
    event, body = found
    # A lease instead of a row lock held across the send (see the module's docstring).
    hook.next_attempt_at = now + timedelta(seconds=DELIVERY_TIMEOUT_S + LEASE_MARGIN_S)
    secret, extra = route.secret(hook), route.headers(hook)
    return Claim(hook.id, hook.url, secret, hook.failures + 1, event, body, extra)


def _claim_committed(
    sessions: sessionmaker[Session], route: Route, row_id: uuid.UUID, now: datetime
) -> Claim | None:
    """`_claim` in a transaction of its own, committed (the lease, or a skipped cursor)."""
    with transaction(sessions) as session:
        return _claim(session, route, row_id, now)


async def post(client: httpx.AsyncClient, claim: Claim, deny: Sequence[Network] = ()) -> Outcome:
    """POST one event; any failure becomes an Outcome, never an exception."""
    if deny:
        # Checked again at each delivery: a name may resolve elsewhere than when it was saved.
        reason = await to_thread.run_sync(check_url, claim.url, deny)
        if reason is not None:
            return Outcome(None, f"refused: {reason}"[:500], 0.0)
    body = claim.body
    # A subscription's own headers first: ours (type, signature, event id) always win.
    headers = {
        **claim.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Meshkeeper-Event-Id": str(claim.event["id"]),
        "X-Meshkeeper-Signature": sign(claim.secret, body),
    }
    started = time.perf_counter()
    try:
        # httpx's timeout bounds each read; fail_after bounds the whole exchange, so a receiver
        # trickling its answer a byte at a time cannot hold the delivery for longer.
        with anyio.fail_after(DELIVERY_TIMEOUT_S):
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
        # httpx names the URL in some errors: never log or store its credentials.
        text_ = str(exc).replace(claim.url, masked_url(claim.url))
        error = f"{type(exc).__name__}: {text_}" if text_ else type(exc).__name__
    duration = (time.perf_counter() - started) * 1000
    return Outcome(status, error[:500] if error else None, duration)


def attempt_fields(claim: Claim, outcome: Outcome, at: datetime) -> dict[str, Any]:
    """The columns every delivery log row has (ipam.models.DeliveryAttempt)."""
    return {
        "event_id": claim.event["id"],
        "attempt": claim.attempt,
        "at": at,
        "status_code": outcome.status_code,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "delivered": outcome.ok,
    }


def _webhook_log(claim: Claim, outcome: Outcome, at: datetime) -> m.WebhookDelivery:
    return m.WebhookDelivery(webhook_id=claim.webhook_id, **attempt_fields(claim, outcome, at))


def _record(
    sessions: sessionmaker[Session],
    route: Route,
    claim: Claim,
    outcome: Outcome,
    now: datetime | None,
    max_failures: int,
) -> None:
    """Log the attempt and move the cursor (delivered) or back off (anything else); commit."""
    with transaction(sessions) as session:
        _record_in(session, route, claim, outcome, now, max_failures)


def _record_in(
    session: Session,
    route: Route,
    claim: Claim,
    outcome: Outcome,
    now: datetime | None,
    max_failures: int,
) -> None:
    at = _stamp(now)
    hook = session.scalars(
        select(route.model)
        .where(route.model.id == claim.webhook_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if hook is None:
        event_id = claim.event["id"]
        log.info(
            "%s %s was deleted while event %s was sent", route.name, claim.webhook_id, event_id
        )
        return
    session.add(route.log_row(claim, outcome, at))
    if outcome.ok:
        if hook.failures:
            log.info("%s %s recovered after %d failures", route.name, hook.id, hook.failures)
        hook.cursor = claim.event["id"]
        hook.failures = 0
        hook.next_attempt_at = None
    else:
        hook.failures += 1
        if hook.failures >= max_failures:
            hook.paused = True
            hook.next_attempt_at = None
            log.warning(
                "%s %s paused after %d failures in a row (last: %s)",
                route.name,
                hook.id,
                hook.failures,
                outcome.error,
            )
        else:
            if hook.failures == 1:
                log.warning("%s %s failing: %s", route.name, hook.id, outcome.error)
            hook.next_attempt_at = at + backoff(hook.failures)


async def deliver_subscription(
    sessions: sessionmaker[Session],
    client: httpx.AsyncClient,
    webhook_id: uuid.UUID,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILURES,
    batch: int = 50,
    deny: Sequence[Network] = (),
    route: Route | None = None,
) -> int:
    """Deliver up to `batch` events to one subscription, in order; the number delivered."""
    route = route or WEBHOOKS
    delivered = 0
    while delivered < batch:
        stamp = _stamp(now)
        claim = await to_thread.run_sync(_claim_committed, sessions, route, webhook_id, stamp)
        if claim is None:
            break
        outcome = await route.send(client, claim, deny)
        await to_thread.run_sync(_record, sessions, route, claim, outcome, now, max_failures)
        if not outcome.ok:
            break
        delivered += 1
    return delivered


class Deliverer:
    """Delivers each due subscription in a task of its own, which outlives the round."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: httpx.AsyncClient,
        *,
        max_failures: int = MAX_FAILURES,
        batch: int = 50,
        limit: int = MAX_IN_FLIGHT,
        deny: Sequence[Network] = (),
        route: Route | None = None,
    ) -> None:
        self.route = route or WEBHOOKS
        self.sessions = sessions
        self.client = client
        self.max_failures = max_failures
        self.batch = batch
        self.limit = limit
        self.deny = deny
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.delivered = 0  # events delivered by this deliverer's tasks so far

    async def start_round(self, *, now: datetime | None = None) -> int:
        """Start a task for each due subscription that has none running; how many started."""
        due = await to_thread.run_sync(_due, self.sessions, self.route, _stamp(now))
        started = 0
        for webhook_id in due:
            if webhook_id in self.tasks or len(self.tasks) >= self.limit:
                continue
            task = asyncio.create_task(self._deliver(webhook_id, now))
            self.tasks[webhook_id] = task
            task.add_done_callback(partial(self._done, webhook_id))
            started += 1
        return started

    async def _deliver(self, webhook_id: uuid.UUID, now: datetime | None) -> None:
        try:
            # Awaited first: `self.delivered += await ...` would read the total before the await.
            sent = await deliver_subscription(
                self.sessions,
                self.client,
                webhook_id,
                now=now,
                max_failures=self.max_failures,
                batch=self.batch,
                deny=self.deny,
                route=self.route,
            )
            self.delivered += sent
        except SQLAlchemyError as exc:
            # One subscription's database trouble must not end the others' deliveries.
            log.warning("%s %s: delivery failed: %s", self.route.name, webhook_id, exc)

    def _done(self, webhook_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        if self.tasks.get(webhook_id) is task:
            del self.tasks[webhook_id]

    async def wait(self) -> None:
        """Until every delivery started so far has ended."""
        while running := [t for t in self.tasks.values() if not t.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        """Cancel the deliveries in hand (their events go out again after the lease)."""
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


async def deliver_once(
    sessions: sessionmaker[Session],
    client: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    max_failures: int = MAX_FAILURES,
    batch: int = 50,
    deny: Sequence[Network] = (),
    route: Route | None = None,
) -> int:
    """One round over every due subscription, waited for to its end; the events delivered.

    `now` (for tests) replaces the clock for due times, back-off and the delivery log; `route`
    names the kind of subscriber (webhooks unless told).
    """
    deliverer = Deliverer(
        sessions, client, max_failures=max_failures, batch=batch, deny=deny, route=route
    )
    await deliverer.start_round(now=now)
    await deliverer.wait()
    return deliverer.delivered


def webhook_route(render: Render | None = None) -> Route:
    """Webhook subscriptions as a route; `render` gives MeshDB-format bodies their record."""

    def next_event(session: Session, hook: Any, now: datetime) -> Any:
        return _next_matching(session, hook, render)

    return Route(
        name="webhook",
        model=m.Webhook,
        next_event=next_event,
        send=post,
        log_row=_webhook_log,
        secret=lambda hook: str(hook.secret),
        headers=lambda hook: dict(hook.headers or {}),
    )


WEBHOOKS = webhook_route()
