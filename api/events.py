"""Events for alerting systems: a cursor feed and a Server-Sent Events stream.

Both read the one outbox table (`event`), so what a client sees over either is exactly
what committed, in commit order; the integer id is the cursor for both.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from api.deps import SESSION_COOKIE, DbSession, Reader, bearer
from api.resources import ERRORS
from api.schemas.common import ErrorBody
from api.stream_hub import StreamHub, Subscription, TooManyStreams
from ipam.errors import Invalid
from ipam.records import events, people, tokens

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_CURSOR = 2**63 - 1
# A stream writes a comment line when it has been silent this long, so proxies keep the
# connection (new events reach it within api/stream_hub.py's poll interval).
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
    # A short session per catch-up read: no connection is held while the stream waits.
    with sessions() as session:
        found = events.events_after(session, cursor, type_filter, STREAM_BATCH)
        session.rollback()
    return found


def _check(
    sessions: sessionmaker[Session], secret: str, console: bool
) -> tuple[str | None, str | None, int]:
    # The token (or the console's sign-in) and the newest event id in one short transaction,
    # ended before returning: a stream never leaves a session open ("idle in transaction").
    with sessions() as session:
        if console:
            who = people.signed_in(session, secret)
            name, role = (who.username, who.role.value) if who else (None, None)
        else:
            identity = tokens.identify(session, secret)
            name, role = identity.name, identity.role
        latest = events.latest_id(session) if name is not None else 0
        session.rollback()
    return name, role, latest


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
    sessions: sessionmaker[Session],
    sub: Subscription,
    cursor: int,
    published: int,
    type_filter: str | None,
) -> AsyncIterator[str]:
    global open_streams
    open_streams += 1
    try:
        yield f"retry: {RETRY_MS}\n: connected at event {cursor}\n\n"
        # Catch up from the client's own cursor to where the shared poller stood when this
        # stream joined it; from then on the poller's batches carry everything newer.
        while cursor < published:
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
            if len(found) < STREAM_BATCH:
                break
        while sub.ended is None:
            batch = await sub.next_batch(HEARTBEAT_S)
            if batch is None:
                if sub.ended is None:
                    yield ": heartbeat\n\n"
                continue
            for event in batch:
                # A batch may repeat what the catch-up sent; ids say which are new.
                if event["id"] > cursor and events.matches(event["type"], type_filter):
                    yield format_event(event)
                    cursor = event["id"]
    finally:
        open_streams -= 1


class EventStreamResponse(StreamingResponse):
    """A stream that gives its slots back however it ends, even before its first byte."""

    def __init__(self, content: AsyncIterator[str], hub: StreamHub, sub: Subscription) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.hub = hub
        self.sub = sub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream, then free the stream's slots."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.hub.release(self.sub)


@router.get(
    "/stream/",
    summary="Server-Sent Events: every new event, resumable with Last-Event-ID",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"model": ErrorBody, "description": "too many open streams (see Retry-After)"},
    },
)
async def stream_events(
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    event_type: TypeFilter = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream events as `id:`/`event:`/`data:` records; resume after Last-Event-ID or ?after=.

    With neither, the stream starts at the newest event (only what happens from now on).
    A comment line is sent after 15 s of silence so idle connections stay open. Streams are
    bounded per client address, per token and in all (429 beyond), and a stream ends within
    seconds of its token being revoked.
    """
    secret = bearer(request)
    # The console's status page follows the stream with its sign-in cookie (an EventSource
    # cannot send headers); a GET changes nothing, so no CSRF token is asked for.
    console = secret is None and SESSION_COOKIE in request.cookies
    if console:
        secret = request.cookies[SESSION_COOKIE]
    if secret is None:
        raise HTTPException(401, "authentication required: send Authorization: Bearer <token>")
    start = _start_cursor(last_event_id, after)
    hub: StreamHub = request.app.state.stream_hub
    digest = tokens.secret_digest(secret)
    if hub.refused(digest):
        raise HTTPException(401, "invalid or revoked token")
    client = request.client.host if request.client else "unknown"
    try:
        sub = hub.admit(client)
    except TooManyStreams as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "10"}) from None
    try:
        sessions = request.app.state.sessions
        name, role, latest = await to_thread.run_sync(_check, sessions, secret, console)
        if name is None or role is None:
            hub.refuse(digest)
            raise HTTPException(401, "invalid or revoked token")
        # Every role may read events (read_only is the least); require() says the same.
        published = hub.subscribe(sub, digest, latest)
    except TooManyStreams as exc:
        hub.release(sub)
        raise HTTPException(429, str(exc), headers={"Retry-After": "10"}) from None
    except BaseException:
        hub.release(sub)
        raise
    cursor = latest if start is None else start
    return EventStreamResponse(_stream(sessions, sub, cursor, published, event_type), hub, sub)
