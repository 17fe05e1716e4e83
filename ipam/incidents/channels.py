"""Notification channels: their filters, the version-controlled file, and what each one is owed.

A channel is an Apprise URL and a filter (`event_types`, `network_numbers`, `incidents_only`,
`min_size`, `daily_summary`). Channels come from the API (admin) or from
MESHKEEPER_NOTIFICATIONS_FILE (YAML, for version control, replaced at each start). Delivery
walks the outbox with each channel's cursor (daemon/webhooks.py's machinery): events the
filter refuses, silenced ones, and incident events a later one of the same incident already
supersedes are stepped over; an event younger than the hold waits.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import apprise
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import SilenceScope
from ipam.errors import Conflict, Invalid, NotFound
from ipam.incidents.messages import message
from ipam.incidents.silences import silenced
from ipam.records import events
from ipam.records.changes import write_event

SUMMARY = "summary.daily"
# Scanned per claim at most, so one claim's transaction stays short on a long backlog.
SCAN_LIMIT = 2000


def valid_url(url: str) -> bool:
    """Whether Apprise knows this URL (scheme and shape), without sending anything."""
    return apprise.Apprise.instantiate(url) is not None


def private_url(url: str) -> str:
    """The URL with its secrets (tokens, passwords) masked, as answers show it."""
    plugin = apprise.Apprise.instantiate(url)
    return str(plugin.url(privacy=True)) if plugin is not None else "(invalid)"


class ChannelFilter(BaseModel):
    """Which events a channel gets; nothing set: every incident of any size."""

    model_config = ConfigDict(extra="forbid")

    event_types: Annotated[list[str], Field(max_length=50)] = []
    network_numbers: Annotated[
        list[Annotated[int, Field(ge=1, le=8000)]], Field(max_length=8000)
    ] = []
    incidents_only: bool = True
    min_size: Annotated[int, Field(ge=1, le=100_000)] = 1

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        for item in value:
            if not events.valid_pattern(item):
                raise ValueError(f"{item[:80]!r} is not an event type or prefix (e.g. incident.)")
        return list(dict.fromkeys(value))


class ChannelSpec(BaseModel):
    """A channel as the API and the file give it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w .:@-]+$")]
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    filter: ChannelFilter = ChannelFilter()
    daily_summary: bool = False

    @field_validator("url")
    @classmethod
    def _apprise_url(cls, value: str) -> str:
        if not valid_url(value):
            raise ValueError("not an Apprise URL Apprise knows (e.g. ntfy://, json://, slack://)")
        return value


class ChannelsFile(BaseModel):
    """MESHKEEPER_NOTIFICATIONS_FILE: `channels:` and a list of channels."""

    model_config = ConfigDict(extra="forbid")

    channels: list[ChannelSpec] = []


def read_file(path: Path) -> list[ChannelSpec]:
    """The channels of the file; `Invalid` naming the file, the channel and the field at fault."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise Invalid(f"{path}: cannot read ({exc.strerror})", field="notifications_file") from None
    except yaml.YAMLError as exc:
        raise Invalid(f"{path}: not valid YAML ({exc})", field="notifications_file") from None
    try:
        spec = ChannelsFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            problems.append(f"{where}: {error['msg']}")
        raise Invalid(f"{path}: " + "; ".join(problems), field="notifications_file") from None
    names = [c.name for c in spec.channels]
    if len(set(names)) != len(names):
        raise Invalid(f"{path}: channel names must be unique", field="notifications_file")
    return spec.channels


def _apply(row: m.NotificationChannel, spec: ChannelSpec) -> None:
    row.name, row.url, row.daily_summary = spec.name, spec.url, spec.daily_summary
    row.event_types = spec.filter.event_types
    row.network_numbers = spec.filter.network_numbers
    row.incidents_only, row.min_size = spec.filter.incidents_only, spec.filter.min_size


def create(session: Session, spec: ChannelSpec, source: str = "api") -> m.NotificationChannel:
    """A new channel; it gets events from now on (its cursor starts at the newest event)."""
    taken = session.scalar(
        select(m.NotificationChannel.id).where(m.NotificationChannel.name == spec.name)
    )
    if taken is not None:
        raise Conflict(f"a channel named {spec.name!r} exists", field="name")
    row = m.NotificationChannel(
        source=source, cursor=events.latest_id(session), paused=False, failures=0
    )
    _apply(row, spec)
    session.add(row)
    session.flush()
    return row


def get(session: Session, channel_id: uuid.UUID, *, lock: bool = False) -> m.NotificationChannel:
    """One channel; NotFound when there is none."""
    row = session.get(m.NotificationChannel, channel_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no notification channel with id {channel_id}", field="id")
    return row


def replace(session: Session, channel_id: uuid.UUID, spec: ChannelSpec) -> m.NotificationChannel:
    """Replace an API channel's name, URL and filter (its cursor and delivery state stay)."""
    row = get(session, channel_id, lock=True)
    if row.source == "file":
        raise Conflict("this channel comes from MESHKEEPER_NOTIFICATIONS_FILE: edit the file")
    taken = session.scalar(
        select(m.NotificationChannel.id).where(
            m.NotificationChannel.name == spec.name, m.NotificationChannel.id != channel_id
        )
    )
    if taken is not None:
        raise Conflict(f"a channel named {spec.name!r} exists", field="name")
    _apply(row, spec)
    session.flush()
    return row


def delete(session: Session, channel_id: uuid.UUID) -> None:
    """Delete an API channel (a file's channel changes only with the file)."""
    row = get(session, channel_id, lock=True)
    if row.source == "file":
        raise Conflict("this channel comes from MESHKEEPER_NOTIFICATIONS_FILE: edit the file")
    session.delete(row)


def sync_file(session: Session, specs: list[ChannelSpec]) -> tuple[int, int, int]:
    """Make the file's channels what the file says: (created, updated, removed).

    A channel kept across starts keeps its cursor: a restart neither repeats nor loses events.
    """
    rows = {
        r.name: r
        for r in session.scalars(
            select(m.NotificationChannel).where(m.NotificationChannel.source == "file")
        )
    }
    created = updated = 0
    for spec in specs:
        row = rows.pop(spec.name, None)
        if row is None:
            api_row = session.scalar(
                select(m.NotificationChannel).where(m.NotificationChannel.name == spec.name)
            )
            if api_row is not None:
                raise Conflict(f"channel {spec.name!r} exists already (made over the API)")
            create(session, spec, source="file")
            created += 1
        else:
            _apply(row, spec)
            updated += 1
    for row in rows.values():
        session.delete(row)
    session.flush()
    return created, updated, len(rows)


def wants(channel: m.NotificationChannel, event: dict[str, Any]) -> bool:
    """Whether the channel's filter lets this event through."""
    kind = event["type"]
    if kind == SUMMARY:
        return channel.daily_summary
    if channel.incidents_only and not (kind.startswith("incident.") or kind.endswith(".flapping")):
        return False
    if channel.event_types and not events.matches(kind, channel.event_types):
        return False
    data = event.get("data") or {}
    if kind == "incident.updated" and data.get("flapping"):
        # A flapping node's falls and returns are one story: its flapping event and the
        # incident's opening and resolution tell it, not every bounce.
        return False
    if kind.startswith("incident."):
        size = data.get("nodes", 0) if kind == "incident.opened" else data.get("peak_nodes", 0)
        if size < channel.min_size:
            return False
    if channel.network_numbers:
        nns = set(data.get("affected_nns") or ())
        nn = event["subject"].get("network_number")
        if nn is not None:
            nns.add(nn)
        if not nns & set(channel.network_numbers):
            return False
    return True


def _is_silenced(session: Session, event: dict[str, Any], at: datetime) -> bool:
    """A silence on the event's node, device or incident (or the incident's cause node)."""
    subject = event["subject"]
    pairs: list[tuple[str, str]] = []
    resource = subject["resource"]
    if resource == "incidents":
        pairs.append((SilenceScope.INCIDENT, subject["id"]))
        cause = event["data"]["cause"]
        if cause["kind"] == "node":
            pairs.append((SilenceScope.NODE, cause["id"]))
    elif resource == "nodes":
        pairs.append((SilenceScope.NODE, subject["id"]))
    elif resource == "devices":
        pairs.append((SilenceScope.DEVICE, subject["id"]))
    return silenced(session, pairs, at)


def _superseded(session: Session, event: dict[str, Any], horizon: int) -> bool:
    """An incident's opening or update with a later event of the same incident already out."""
    if event["type"] not in ("incident.opened", "incident.updated"):
        return False
    later = session.scalar(
        select(m.Event.id).where(
            m.Event.id > event["id"],
            m.Event.id <= horizon,
            m.Event.resource == "incidents",
            m.Event.subject_id == event["subject"]["id"],
        )
    )
    return later is not None


def next_for_channel(
    session: Session, channel: m.NotificationChannel, now: datetime, hold: timedelta
) -> dict[str, Any] | None:
    """The channel's next event to send, with its `message`; the cursor steps over the rest."""
    horizon = events.latest_id(session)
    scanned = 0
    while scanned < SCAN_LIMIT:
        batch = events.events_after(session, channel.cursor, None, 200)
        if not batch:
            channel.cursor = max(channel.cursor, horizon)
            return None
        for event in batch:
            if event["id"] > horizon:
                return None
            at = datetime.fromisoformat(event["time"])
            if at > now - hold:
                return None  # too young: wait for things to settle, cursor stays
            scanned += 1
            if (
                not wants(channel, event)
                or _is_silenced(session, event, at)
                # With a hold, an update that a later one already says better is not sent.
                or (hold > timedelta() and _superseded(session, event, horizon))
            ):
                channel.cursor = event["id"]
                continue
            title, body = message(event, now)
            return {**event, "message": {"title": title, "body": body}}
    return None


def write_summary(session: Session, data: dict[str, Any]) -> None:
    """The daily summary as an event, so it is delivered like every other (at least once)."""
    write_event(session, SUMMARY, "summaries", data["day"], data)
