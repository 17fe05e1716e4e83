"""uvicorn's httptools protocol with limits a hostile client cannot get round.

uvicorn bounds neither the request head nor the time a request takes to arrive: a client could
send a 64 MiB header (all of it kept by the parser) or trickle a request for ever. This
protocol counts the head's bytes before the parser sees them and refuses a head over
`MAX_HEAD_BYTES` or with more than `MAX_HEADERS` fields with 431 (RFC 6585, section 5) as soon
as the limit is passed, so no more than the limit is ever held. A request, head and body,
must arrive whole within the configured time from its first byte (or from the connection's
start, for a connection that sends nothing), else 408 (RFC 9110, section 15.5.9).

A refusal is a lingering close (what nginx does): the answer, a FIN, then whatever the client
still sends is read and dropped for `LINGER_S`, so the client reads the answer instead of a
reset, and nothing it sends is kept.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

# The request line and the header fields together; the figures are issue 11's.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
LINGER_S = 2.0
DEFAULT_TIMEOUT_S = 30.0


class HeadTooLarge(Exception):
    """Raised from the parser's header callback once a head has too many fields."""


def raw_answer(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 answer with the API's JSON error body that closes the connection."""
    body = json.dumps({"detail": detail, "errors": []}).encode()
    head = (
        b"content-type: application/json\r\n"
        + b"content-length: %d\r\n" % len(body)
        + b"connection: close\r\n\r\n"
    )
    return STATUS_LINE[status] + head + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a bounded head and a deadline for each request to arrive."""

    # Set by `api.serving.server_config` on a subclass: the request timeout in seconds.
    request_timeout_s = DEFAULT_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._deadline: asyncio.TimerHandle | None = None
        self._dropping = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock: the first request must arrive in time too."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, counting the head's bytes before it may hold them."""
        if self._dropping:
            return  # after a refusal: read and forgotten
        self._unset_keepalive_if_required()
        if self._deadline is None:
            self._arm()  # the first byte of the next request on a kept-alive connection
        try:
            while data and self._in_head:
                # Never more than one byte past the limit reaches the parser while in the head.
                room = MAX_HEAD_BYTES + 1 - self._head_bytes
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
                self.parser.feed_data(piece)
                if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse(431, f"request header fields larger than {MAX_HEAD_BYTES} bytes")
                    return
            if data:
                self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__cause__ or exc.__context__, HeadTooLarge):
                self._refuse(431, f"more than {MAX_HEADERS} request header fields")
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        """A new request: its fields are counted from zero (its bytes already are)."""
        super().on_message_begin()
        self._in_head = True
        self._header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count the fields; one too many stops the parser."""
        self._header_count += 1
        if self._header_count > MAX_HEADERS:
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """The head is whole; what follows is body, bounded by api/body_limit.py."""
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request arrived whole in time: stop its clock."""
        self._disarm()
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self._in_head:
            if self._head_bytes == 0:
                self.transport.close()  # a connection that never sent a byte: nothing to answer
                return
        elif self.cycle.response_started:
            # Answered before its body came (an early 413, say): let the answer finish, and
            # wait no longer for the rest of a body nobody reads.
            if self.cycle.response_complete:
                self.transport.close()
            return
        self._refuse(408, f"the request did not arrive within {self.request_timeout_s:g} s")

    def _refuse(self, status: int, detail: str) -> None:
        """Answer, half-close, drop what still comes for LINGER_S, then close."""
        self._disarm()
        self._dropping = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The app waiting for this body sees the client gone and answers nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        if self.transport.is_closing():
            return
        self.logger.info("refused a request with %d: %s", status, detail)
        self.transport.write(raw_answer(status, detail))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_S, self.transport.close)
