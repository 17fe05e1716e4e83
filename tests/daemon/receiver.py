"""A webhook receiver on 127.0.0.1 for tests: records every POST, answers as told."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    @property
    def event_id(self) -> int:
        """The X-Meshkeeper-Event-Id header."""
        return int(self.headers["x-meshkeeper-event-id"])

    def signature_ok(self, secret: str) -> bool:
        """Whether X-Meshkeeper-Signature is the HMAC-SHA256 of the exact body bytes."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-meshkeeper-signature", ""))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with receiver.lock:
            status = receiver.status
            delay = receiver.delay
        if delay:
            time.sleep(delay)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with receiver.lock:
            receiver.received.append(Received(self.path, headers, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the test


class Receiver:
    """Serve on a free loopback port until stopped; `status` and `delay` are the answer."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self, status: int, delay: float = 0.0) -> None:
        """Answer later requests with this status, after this delay."""
        with self.lock:
            self.status = status
            self.delay = delay

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in arrival order."""
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


class Trickler:
    """A loopback receiver that answers a byte at a time, `gap` seconds apart (a slow peer)."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self, gap: float = 0.25) -> None:
        self.gap = gap
        self.connections = 0
        self.open = 0  # connections still being answered
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.recv(65536)  # the request (its exact bytes do not matter here)
                for byte in self.ANSWER:
                    if self.stopping.wait(self.gap):
                        return
                    conn.sendall(bytes([byte]))
        except OSError:
            pass  # the client gave up: that is what the tests want to see
        finally:
            with self.lock:
                self.open -= 1

    def __enter__(self) -> Trickler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=5)
