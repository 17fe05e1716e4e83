"""Notifications: each channel's messages through Apprise, from the outbox, at least once.

The delivery machinery is the webhooks' (daemon/webhooks.py: one locked row per channel,
cursor moved only after a send succeeded, back-off, pause); a channel only differs in which
event comes next (ipam.incidents.channels) and how it is sent (Apprise, in a worker thread:
its plugins block). MESHKEEPER_NOTIFY_HOLD_S holds each event back until it has settled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import apprise
import httpx
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

from daemon.webhooks import Claim, Outcome, Route, attempt_fields, deliver_once
from ipam import models as m
from ipam.db import transaction
from ipam.incidents import channels, summary
from ipam.records.webhook_urls import Network
from ipam.settings import Settings

log = logging.getLogger(__name__)


def _send(url: str, title: str, body: str) -> str | None:
    """One Apprise notification; the error, or None when it went out."""
    sender = apprise.Apprise()
    if not sender.add(url):
        return "not an Apprise URL"
    return None if sender.notify(title=title, body=body) else "Apprise could not deliver"


async def send(client: httpx.AsyncClient, claim: Claim, deny: Sequence[Network] = ()) -> Outcome:
    """Send one event's message to one channel; any failure becomes an Outcome.

    `deny` is the webhooks' refused networks; Apprise URLs name services by scheme, not an
    address to check, so it is not applied here.
    """
    text = claim.event["message"]
    started = time.perf_counter()
    try:
        error = await to_thread.run_sync(_send, claim.url, text["title"], text["body"])
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is the channel's, and logged
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(None, error, (time.perf_counter() - started) * 1000)


def _log_row(claim: Claim, outcome: Outcome, at: datetime) -> m.NotificationDelivery:
    return m.NotificationDelivery(channel_id=claim.webhook_id, **attempt_fields(claim, outcome, at))


def route(hold_s: float = 0.0) -> Route:
    """Notification channels as a route of the delivery machinery."""
    hold = timedelta(seconds=hold_s)

    def next_event(
        session: Session, row: Any, now: datetime
    ) -> tuple[dict[str, Any], bytes] | None:
        # The message travels in the event; Apprise makes its own body from it.
        event = channels.next_for_channel(session, row, now, hold)
        return None if event is None else (event, b"")

    return Route("notification channel", m.NotificationChannel, next_event, send, _log_row)


async def deliver_notifications(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """One round: every due channel gets its next messages; today's summary written once."""
    at = now or datetime.now(UTC)

    def summarise() -> None:
        with transaction(sessions) as session:
            if summary.write_if_due(session, at):
                log.info("daily summary for %s written", at.date())

    await to_thread.run_sync(summarise)
    # Apprise makes its own connections; the client is the machinery's and goes unused here.
    async with httpx.AsyncClient(trust_env=False) as client:
        return await deliver_once(
            sessions,
            client,
            now=now,
            max_failures=settings.webhook_max_failures,
            route=route(settings.notify_hold_s),
        )


def load_channels_file(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Read and apply MESHKEEPER_NOTIFICATIONS_FILE at start; a bad file stops the start."""
    if settings.notifications_file is None:
        return
    specs = channels.read_file(settings.notifications_file)
    with transaction(sessions) as session:
        made, kept, removed = channels.sync_file(session, specs)
    log.info(
        "notification channels from %s: %d new, %d kept, %d removed",
        settings.notifications_file,
        made,
        kept,
        removed,
    )
