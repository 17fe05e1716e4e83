"""One poller for every open event stream, and the bounds on how many may be open.

A stream that polled the outbox itself cost a worker thread hop and a database session every
half second: 200 streams took every thread and most of the pool, and the API and the daemon
beside it stalled. Here one task per process polls the outbox (one thread hop, one short
session per poll, whatever the number of streams) and hands each batch to every stream's own
queue; a waiting stream holds a socket and a few objects, no session and no thread.

The same poll re-reads, every `TOKEN_RECHECK_S`, which of the open streams' tokens are still
live, and ends the streams of revoked or deleted tokens. Streams are bounded per client
address (counted from before the token check, so a storm of bad tokens is bounded too), per
token, and in all; past a bound the answer is 429.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ipam.records import events, people, tokens
from ipam.settings import Settings

log = logging.getLogger(__name__)

# New events reach the streams within about this delay.
POLL_INTERVAL_S = 0.5
# A revoked token's streams end within about this delay (plus one poll).
TOKEN_RECHECK_S = 2.0
BATCH = 500
# Batches a stream may have waiting; a client that reads slower than this is dropped (it
# reconnects with Last-Event-ID and loses nothing) rather than held in memory.
MAX_PENDING = 64
# Secrets found to be no live token are answered 401 from memory for this long: a storm of
# one bad token costs one lookup. Safe: a new token's secret is random, and a revoked or
# deleted token never comes back.
REFUSED_TTL_S = 10.0
MAX_REFUSED = 4096

Batch = list[dict[str, Any]]


class TooManyStreams(Exception):
    """A bound on open streams would be passed; the message says which."""


@dataclass(eq=False)
class Subscription:
    """One open stream: what the poller hands it, and why it ended."""

    client: str
    digest: str | None = None
    pending: deque[Batch] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ended: str | None = None

    def offer(self, batch: Batch) -> None:
        """Queue a batch for this stream, or end it when it has fallen too far behind."""
        if len(self.pending) >= MAX_PENDING:
            self.end("the client reads too slowly")
            return
        self.pending.append(batch)
        self.wake.set()

    def end(self, reason: str) -> None:
        """Ask the stream to stop (it does at its next wake-up)."""
        if self.ended is None:
            self.ended = reason
        self.wake.set()

    async def next_batch(self, timeout: float) -> Batch | None:
        """The next batch, or None when `timeout` passes first."""
        if not self.pending and self.ended is None:
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except TimeoutError:
                return None
        return self.pending.popleft() if self.pending else None


class StreamHub:
    """The process's open streams, their bounds, and the one task that feeds them."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.max_per_token = settings.stream_max_per_token
        self.max_per_client = settings.stream_max_per_client
        self.max_total = settings.stream_max_total
        self._admitted: set[Subscription] = set()
        self._per_client: Counter[str] = Counter()
        self._per_token: Counter[str] = Counter()
        self._cursor: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._rechecked = 0.0
        self._refused: dict[str, float] = {}

    @property
    def cursor(self) -> int | None:
        """The newest event id the poller has handed out (None while it is stopped)."""
        return self._cursor

    def admit(self, client: str) -> Subscription:
        """Count a stream for a client address before its token is checked (or raise)."""
        if len(self._admitted) >= self.max_total:
            raise TooManyStreams(f"{self.max_total} event streams are open; try again later")
        if self._per_client[client] >= self.max_per_client:
            raise TooManyStreams(f"at most {self.max_per_client} event streams per client")
        sub = Subscription(client)
        self._admitted.add(sub)
        self._per_client[client] += 1
        return sub

    def refused(self, digest: str) -> bool:
        """Whether this secret was found to be no live token a moment ago."""
        until = self._refused.get(digest)
        return until is not None and until > time.monotonic()

    def refuse(self, digest: str) -> None:
        """Remember a secret that is no live token (bounded: the oldest is forgotten)."""
        if len(self._refused) >= MAX_REFUSED:
            del self._refused[next(iter(self._refused))]
        self._refused[digest] = time.monotonic() + REFUSED_TTL_S

    def subscribe(self, sub: Subscription, digest: str, latest: int) -> int:
        """Start feeding an admitted stream of a checked token; returns the poller's cursor."""
        if self._per_token[digest] >= self.max_per_token:
            raise TooManyStreams(f"at most {self.max_per_token} event streams per token")
        sub.digest = digest
        self._per_token[digest] += 1
        if self._cursor is None:
            # Read with the token, before the stream catches up from its own cursor: the
            # poller hands out everything after it, so nothing falls between the two.
            self._cursor = latest
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self._cursor

    def release(self, sub: Subscription) -> None:
        """Forget a stream (idempotent): its slots are free again."""
        if sub not in self._admitted:
            return
        self._admitted.discard(sub)
        self._per_client[sub.client] -= 1
        if self._per_client[sub.client] <= 0:
            del self._per_client[sub.client]
        if sub.digest is not None:
            self._per_token[sub.digest] -= 1
            if self._per_token[sub.digest] <= 0:
                del self._per_token[sub.digest]
        sub.end("closed")

    def _fed(self) -> list[Subscription]:
        return [sub for sub in self._admitted if sub.digest is not None]

    async def _run(self) -> None:
        try:
            while self._fed() and self._cursor is not None:
                due = time.monotonic() - self._rechecked >= TOKEN_RECHECK_S
                digests = set(self._per_token) if due else None
                try:
                    found, live = await to_thread.run_sync(self._poll, self._cursor, digests)
                except SQLAlchemyError as exc:
                    # Streams end cleanly: clients reconnect after `retry` with Last-Event-ID.
                    log.warning("event streams stopped, database unavailable: %s", exc)
                    for sub in self._fed():
                        sub.end("database unavailable")
                    return
                if digests is not None and live is not None:
                    self._rechecked = time.monotonic()
                    # Only the tokens asked about: one that joined during the poll is unjudged.
                    for sub in self._fed():
                        if sub.digest in digests and sub.digest not in live:
                            sub.end("token revoked")
                if found:
                    self._cursor = found[-1]["id"]
                    for sub in self._fed():
                        sub.offer(found)
                if len(found) < BATCH:
                    await asyncio.sleep(POLL_INTERVAL_S)
        finally:
            self._cursor = None
            self._task = None

    def _poll(self, cursor: int, digests: set[str] | None) -> tuple[Batch, set[str] | None]:
        # One short session per poll, in one worker thread, for every stream at once.
        with self.sessions() as session:
            found = events.events_after(session, cursor, None, BATCH)
            # A stream is a token's or a console sign-in's: either may end (revoked, signed out).
            live = (
                tokens.live_digests(session, digests)
                | people.live_session_digests(session, digests)
                if digests is not None
                else None
            )
            session.rollback()
        return found, live
