"""Events for alerting systems: a cursor feed and a Server-Sent Events stream.

Both read the one outbox table (`event`), so what a client sees over either is exactly
what committed, in commit order; the integer id is the cursor for both.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.deps import DbSession, Reader
from api.resources import ERRORS
from ipam.errors import Invalid
from ipam.records import events

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_CURSOR = 2**63 - 1
# The stream polls the table this often (new events arrive within about this delay) and
# writes a comment line when it has been silent this long, so proxies keep the connection.
POLL_INTERVAL_S = 0.5
HEARTBEAT_S = 15.0
STREAM_BATCH = 500
# Reconnect delay the stream suggests to EventSource clients (WHATWG HTML, "retry" field).
RETRY_MS = 2000

# Streams currently open in this process (for tests and operators; not a limit).
open_streams = 0

router = APIRouter(prefix="/api/v1/events", tags=["events"], responses=ERRORS)

After = Annotated[int, Query(ge=0, le=MAX_CURSOR, description="Return events after this id")]
TypeFilter = Annotated[
    str | None,
    Query(
        alias="type",
        max_length=events.TYPE_MAX_LENGTH,
        pattern=events.TYPE_PATTERN,
        description='An event type, or a prefix of one such as "device." or "node"',
    ),
]


class Subject(BaseModel):
    """What an event is about."""

    resource: str
    id: str
    network_number: int | None = None  # present only where the subject has one


class EventOut(BaseModel):
    """One event."""

    id: int
    type: str
    time: str
    subject: Subject
    data: dict[str, Any]


class EventPage(BaseModel):
    """A slice of the feed and the cursor to ask with next."""

    events: list[EventOut]
    next_cursor: int


@router.get(
    "/",
    response_model=None,
    responses={200: {"model": EventPage}},
    summary="Events after a cursor, oldest first",
)
def list_events(
    session: DbSession,
    caller: Reader,
    after: After = 0,
    event_type: TypeFilter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Any:
    """Events with id > after; next_cursor is the last id returned (after when none)."""
    found = events.events_after(session, after, event_type, limit)
    return {"events": found, "next_cursor": found[-1]["id"] if found else after}


def format_event(event: dict[str, Any]) -> str:
    """One event in the text/event-stream format (WHATWG HTML, server-sent events)."""
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    # json.dumps never emits a raw newline, so the data is one "data:" line.
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {body}\n\n"


def _fetch(sessions: sessionmaker[Session], cursor: int, type_filter: str | None) -> list:
    # A fresh session per poll: no connection is held while the stream sleeps.
    with sessions() as session:
        return events.events_after(session, cursor, type_filter, STREAM_BATCH)


def _latest(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return events.latest_id(session)


def _start_cursor(last_event_id: str | None, after: int | None) -> int | None:
    # Last-Event-ID wins: on reconnect an EventSource resends it with the original URL,
    # whose ?after= is by then stale.
    if last_event_id is not None and last_event_id.strip():
        value = last_event_id.strip()
        if not (value.isascii() and value.isdigit() and len(value) < 19):
            raise Invalid(
                "Last-Event-ID: must be an event id (a non-negative integer)", field="Last-Event-ID"
            )
        return int(value)
    return after


async def _stream(
    request: Request, sessions: sessionmaker[Session], cursor: int, type_filter: str | None
) -> AsyncIterator[str]:
    global open_streams
    open_streams += 1
    try:
        yield f"retry: {RETRY_MS}\n: connected at event {cursor}\n\n"
        last_write = time.monotonic()
        while not await request.is_disconnected():
            try:
                found = await to_thread.run_sync(_fetch, sessions, cursor, type_filter)
            except SQLAlchemyError as exc:
                # End the stream cleanly: the client reconnects after `retry` with
                # Last-Event-ID and loses nothing.
                log.warning("event stream stopped, database unavailable: %s", exc)
                return
            for event in found:
                yield format_event(event)
                cursor = event["id"]
            if found:
                last_write = time.monotonic()
            if len(found) == STREAM_BATCH:
                continue  # more waiting: no sleep
            if time.monotonic() - last_write >= HEARTBEAT_S:
                yield ": heartbeat\n\n"
                last_write = time.monotonic()
            await anyio.sleep(POLL_INTERVAL_S)
    finally:
        open_streams -= 1


@router.get(
    "/stream/",
    summary="Server-Sent Events: every new event, resumable with Last-Event-ID",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    caller: Reader,
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    event_type: TypeFilter = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream events as `id:`/`event:`/`data:` records; resume after Last-Event-ID or ?after=.

    With neither, the stream starts at the newest event (only what happens from now on).
    A comment line is sent after 15 s of silence so idle connections stay open.
    """
    sessions = request.app.state.sessions
    cursor = _start_cursor(last_event_id, after)
    if cursor is None:
        cursor = await to_thread.run_sync(_latest, sessions)
    return StreamingResponse(
        _stream(request, sessions, cursor, event_type),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
