"""A loopback HTTP server that answers recorded JSON by path, and remembers what it was asked."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# A route answers (status, JSON body) for the query (GET) or form (POST) it was sent.
Route = Callable[[dict[str, str]], tuple[int, Any]]


@dataclass
class Recorded:
    """The server's base URL, its routes (changeable mid-test) and the requests it saw."""

    url: str
    routes: dict[str, Route]
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def asked(self, path: str) -> list[dict[str, str]]:
        """The parameters of every request made to this path, in order."""
        return [params for p, params in self.seen if p == path]


@contextmanager
def recorded_server(routes: dict[str, Route]) -> Iterator[Recorded]:
    """Serve routes on 127.0.0.1 until the block ends (unknown paths answer 404)."""
    state = Recorded("", dict(routes))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, params: dict[str, str]) -> None:
            path = urlsplit(self.path).path
            state.seen.append((path, params))
            route = state.routes.get(path)
            status, body = route(params) if route else (404, {"error": "no such path"})
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            query = parse_qs(urlsplit(self.path).query)
            self._answer({k: v[-1] for k, v in query.items()})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            self._answer({k: v[-1] for k, v in form.items()})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
