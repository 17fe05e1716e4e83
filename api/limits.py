"""At most as many requests at work as there are worker threads and pooled connections.

A request takes its database connection in one worker thread and may wait for another thread
(the endpoint, then the commit) while holding it. Without a bound, a burst of requests can
check out every pooled connection and then wait for threads that are busy waiting for
connections. Queuing requests here, before they touch the database, keeps a burst a queue.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

# anyio's default thread limiter is 40; the engine's pool holds 50 connections.
IN_FLIGHT = 40

# Long-lived answers that hold no connection while they wait: event streams share one
# poller and are bounded by api/stream_hub.py (per client, per token, in all).
UNBOUNDED_PREFIXES = ("/api/v1/events/stream", "/metrics")


class InFlightLimit:
    """ASGI middleware: a semaphore around every HTTP request but the long-lived ones."""

    def __init__(self, app: ASGIApp, limit: int = IN_FLIGHT) -> None:
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNBOUNDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made on the serving loop, not at import
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
