"""A request's body is read whole before the request waits for a slot of the in-flight limit.

api/limits.py lets 40 requests work at once. When a request took its slot before its body had
arrived, 41 clients sending a body one byte every few seconds held every slot, and every
other request queued behind them for as long as they liked. Reading the body first (as a
buffering reverse proxy does) means a slow sender holds only its own socket; the protocol
(api/http_guard.py) ends a request that has not arrived whole in time with 408, and
api/body_limit.py (outside this) bounds what is read.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


class ReadBodyFirst:
    """ASGI middleware: read the whole body, then call the app with it replayed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left, or took too long (answered 408 by the protocol)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks)}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                message, whole = whole, None
                return message
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)
