"""A read that met a connection the server had dropped runs once more, on a fresh one.

After a PostgreSQL restart every pooled connection is dead, and only those idle for a while
are pinged before use (ipam/db.py). A GET or HEAD that fails on one is marked retryable by
the error handler (api/errors.py): it changed nothing, so it runs again, once, on a new
connection (SQLAlchemy discards the whole dead generation of the pool on the first such
error). A restart then costs at most the requests in flight while the server is down.
A stalled server (ipam/db_guard.py) is not retried: a second wait would only double the 503's.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRY = "meshkeeper.retry_read"
IDEMPOTENT = frozenset({"GET", "HEAD"})


class RetryReads:
    """Run an idempotent request a second time when its first answer was marked retryable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in IDEMPOTENT:
            await self.app(scope, receive, send)
            return
        state = dict(scope.get("state") or {})
        # The same scope both times (reset in between): the router names the matched route in
        # it, and outer middleware (api/metrics.py counts by route template) reads it there.
        scope["state"] = dict(state)
        dropped = False

        async def first_send(message: Message) -> None:
            nonlocal dropped
            if message["type"] == "http.response.start" and scope.get(RETRY):
                dropped = True
            if not dropped:
                await send(message)

        await self.app(scope, receive, first_send)
        if dropped:
            scope["state"] = dict(state)
            scope.pop(RETRY, None)
            await self.app(scope, receive, send)
