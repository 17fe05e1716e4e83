"""A request body over the size limit is refused with 413 before it is held in memory.

The limit (`settings.max_body_bytes`, 10 MiB by default) is the CSV import's (api/bulk.py),
the largest body any route takes; JSON bodies are far smaller. A declared Content-Length
over the limit is answered at once, unread; a body without one (chunked) is counted as the
app reads it and refused as soon as it passes the limit (RFC 9110, 15.5.14).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

DEFAULT_LIMIT = 10 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body read passes the limit; api/errors.py answers it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimit:
    """ASGI middleware: 413 for a body over `limit` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Normally the app's HTTPException handler answers; this covers a body read
            # outside the routes' exception handling.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(self.limit)
        response = JSONResponse(error_body(error.detail), status_code=error.status_code)
        await response(scope, receive, send)
