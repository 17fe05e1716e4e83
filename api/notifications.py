"""Notification channels (admin): Apprise URLs with filters; the file's channels read-only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from sqlalchemy import select

from api.deps import Admin, DbSession
from api.resources import DEFAULT_PAGE_SIZE, ERRORS, MAX_PAGE_SIZE, page_of
from ipam import models as m
from ipam.incidents import channels
from ipam.incidents.channels import ChannelSpec

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], responses=ERRORS)


def shape(row: m.NotificationChannel) -> dict[str, Any]:
    """A channel as admins see it: the URL with its secrets masked."""
    return {
        "id": str(row.id),
        "name": row.name,
        "url": channels.private_url(row.url),
        "filter": {
            "event_types": list(row.event_types),
            "network_numbers": list(row.network_numbers),
            "incidents_only": row.incidents_only,
            "min_size": row.min_size,
        },
        "daily_summary": row.daily_summary,
        "source": row.source,
        "paused": row.paused,
        "failures": row.failures,
        "cursor": row.cursor,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    }


@router.post("/channels/", status_code=201, summary="Add a notification channel")
def create_channel(body: Annotated[ChannelSpec, Body()], session: DbSession, caller: Admin) -> Any:
    """It gets messages about events from now on."""
    return shape(channels.create(session, body))


@router.get("/channels/", summary="Notification channels")
def list_channels(
    request: Request,
    session: DbSession,
    caller: Admin,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Any:
    """Every channel, by name, the file's and the API's."""
    stmt = select(m.NotificationChannel).order_by(m.NotificationChannel.name)
    return page_of(request, session, stmt, page, page_size, lambda rows: [shape(r) for r in rows])


@router.get("/channels/{channel_id}/", summary="One notification channel")
def get_channel(channel_id: uuid.UUID, session: DbSession, caller: Admin) -> Any:
    """The channel, its filter and its delivery state."""
    return shape(channels.get(session, channel_id))


@router.put("/channels/{channel_id}/", summary="Replace a channel's name, URL and filter")
def replace_channel(
    channel_id: uuid.UUID, body: Annotated[ChannelSpec, Body()], session: DbSession, caller: Admin
) -> Any:
    """Its place in the outbox stays: nothing is sent twice or skipped."""
    return shape(channels.replace(session, channel_id, body))


@router.delete("/channels/{channel_id}/", status_code=204, summary="Remove a channel")
def delete_channel(channel_id: uuid.UUID, session: DbSession, caller: Admin) -> Response:
    """Remove an API channel (a file's channel is a 409: edit the file)."""
    channels.delete(session, channel_id)
    return Response(status_code=204)


@router.post("/channels/{channel_id}/resume/", summary="Unpause a channel")
def resume_channel(channel_id: uuid.UUID, session: DbSession, caller: Admin) -> Any:
    """Clear its failures and retry at once, from the event it stopped at."""
    row = channels.get(session, channel_id, lock=True)
    row.paused, row.failures, row.next_attempt_at = False, 0, None
    return shape(row)
