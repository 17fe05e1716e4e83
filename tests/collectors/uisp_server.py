"""A small UISP stand-in on 127.0.0.1: canned answers per path, for the tests and the benchmark.

In a test: ``with UispServer({DEVICES: json_reply([...])}, token="t") as server: server.url``.
For the benchmark, in its own process (so serving does not share our GIL)::

    python tests/collectors/uisp_server.py --devices d.json --links l.json --token t

prints the port on its first line and serves until killed. Only the standard library here.
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API = "/nms/api/v2.1"
DEVICES = f"{API}/devices"
LINKS = f"{API}/data-links"
LOGIN = f"{API}/user/login"
TOKEN_HEADER = "x-auth-token"


@dataclass(frozen=True)
class Reply:
    """One canned answer; the fault knobs make the failures a real server makes."""

    status: int = 200
    body: bytes = b"[]"
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0  # wait before answering (a slow server)
    hang_up: bool = False  # close the connection without a word
    cut_after: int | None = None  # announce the whole body, send this many bytes, hang up


def json_reply(doc: Any, status: int = 200, **knobs: Any) -> Reply:
    """A Reply carrying doc as JSON."""
    return Reply(status=status, body=json.dumps(doc).encode(), **knobs)


def uisp_error(status: int, error: str, message: str) -> Reply:
    """A Reply in UISP's Error schema (statusCode, error, message)."""
    return json_reply({"statusCode": status, "error": error, "message": message}, status)


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class UispServer:
    """A threaded HTTP server on 127.0.0.1 answering routes[(method, path)] or routes[path]."""

    routes: dict[Any, Reply] = field(default_factory=dict)
    token: str | None = None  # when set, GETs without this x-auth-token get 401
    credentials: tuple[str, str] | None = None  # when set, POST /user/login hands out token
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port> of the running server."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> UispServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        self._httpd = _Httpd(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        # A short poll keeps stop() (which waits for the next poll) from costing half a second.
        serve = self._httpd.serve_forever
        self._thread = threading.Thread(target=serve, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (slow handlers are daemon threads, left to die)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> UispServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def paths(self, method: str = "GET") -> list[str]:
        """The paths asked for with this method, in order."""
        with self._lock:
            return [seen.path for seen in self.requests if seen.method == method]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def _reply(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if method == "POST" and path == LOGIN and self.credentials is not None:
            try:
                given = json.loads(body)
            except ValueError:
                given = None
            wanted = {"username": self.credentials[0], "password": self.credentials[1]}
            if isinstance(given, dict) and all(given.get(k) == v for k, v in wanted.items()):
                token = self.token or "token"
                return json_reply({"id": "user"}, headers=((TOKEN_HEADER, token),))
            return uisp_error(401, "Unauthorized", "Invalid credentials.")
        reply = self.routes.get((method, path)) or self.routes.get(path)
        if reply is None:
            return uisp_error(404, "Not Found", f"no route for {method} {path}")
        if method == "GET" and self.token is not None and headers.get(TOKEN_HEADER) != self.token:
            return uisp_error(401, "Unauthorized", "Invalid token.")
        return reply


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: UispServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) leaves a broken pipe: not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Httpd

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner = self.server.owner
        owner._record(Seen(method, path, headers, body))
        reply = owner._reply(method, path, headers, body)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.hang_up:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.cut_after is not None:
            self.send_header("connection", "close")
        self.end_headers()
        if reply.cut_after is not None:
            self.wfile.write(reply.body[: reply.cut_after])
            self.close_connection = True
            return
        self.wfile.write(reply.body)


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_device(
    device_id: str,
    name: str,
    *,
    status: str | None = "active",
    last_seen: str | None = "2023-09-27T20:51:37.668Z",
    created_at: str | None = "2023-06-10T16:07:55.107Z",
    ip: str | None = "10.96.127.246/26",
    frequency: float | None = 5320,
    signal: float | None = None,
    wireless_mode: str | None = "ap-ptmp",
    device_type: str = "airMax",
    category: str = "wireless",
    model: str = "LAP-120",
    site: tuple[str, str] | None = ("3ab48f9f-2eaa-418f-8550-381703a28720", "Thames - 265"),
    firmware: str = "8.7.11",
    mac: str = "70:a7:41:4a:9c:c9",
    uptime: int | None = 1025623,
) -> dict[str, Any]:
    """A /devices item in the shape of the real 2023 NYC Mesh answer (the fields we read+)."""
    site_doc: dict[str, Any] | None = None
    if site is not None:
        site_doc = {"id": site[0], "name": site[1], "status": "active", "type": "site"}
        site_doc["parent"] = None
    return {
        "identification": {
            "id": device_id,
            "site": site_doc,
            "mac": mac,
            "name": name,
            "hostname": name,
            "serialNumber": None,
            "firmwareVersion": firmware,
            "model": model,
            "modelName": model,
            "platformId": "WA",
            "type": device_type,
            "category": category,
            "authorized": True,
            "displayName": name,
            "role": "ap",
        },
        "overview": {
            "status": status,
            "canUpgrade": False,
            "cpu": 15,
            "ram": 68,
            "signal": signal,
            "uptime": uptime,
            "lastSeen": last_seen,
            "createdAt": created_at,
            "frequency": frequency,
            "channelWidth": 40,
            "transmitPower": 11,
            "wirelessMode": wireless_mode,
        },
        "mode": "bridge",
        "firmware": {"compatible": True, "current": firmware, "latest": firmware},
        "meta": {"alias": None, "note": None, "maintenance": False},
        "attributes": {"series": "AC", "ssid": name},
        "ipAddress": ip,
        "ipAddressList": [ip.split("/")[0]] if ip else [],
        "enabled": True,
        "location": {"latitude": 40.70538, "longitude": -73.930575, "altitude": 10},
    }


def _link_end(device: dict[str, Any] | None) -> dict[str, Any]:
    # Swagger: from/to = {site: DataLinkSite, device: DataLinkDevice, interface}.
    if device is None:
        return {"site": None, "device": None, "interface": None}
    ident = device["identification"]
    site = ident.get("site") or {}
    return {
        "site": {"identification": {"id": site.get("id"), "name": site.get("name")}},
        "device": {
            "identification": {
                key: ident.get(key)
                for key in ("id", "name", "displayName", "model", "type", "category", "role")
            }
            | {"authorized": True, "siteId": site.get("id"), "mac": ident.get("mac")},
            "overview": {"channelWidth": 40},
            "meta": {},
            "frequency": device["overview"].get("frequency"),
            "signal": device["overview"].get("signal"),
            "status": device["overview"].get("status") or "active",
            "attributes": {"series": "AC"},
        },
        "interface": {"id": "main", "name": "main"},
    }


def make_link(
    link_id: str,
    from_device: dict[str, Any] | None,
    to_device: dict[str, Any] | None,
    *,
    link_type: str = "wireless",
    state: str = "active",
    frequency: float | None = None,
    signal: float | None = -60,
) -> dict[str, Any]:
    """A /data-links item built from the Swagger DataLink schema, between two /devices items."""
    return {
        "id": link_id,
        "from": _link_end(from_device),
        "to": _link_end(to_device),
        "ssid": (from_device or {}).get("identification", {}).get("name") or "",
        "type": link_type,
        "state": state,
        "canDelete": False,
        "frequency": frequency,
        "signal": signal,
        "sitesDistance": None,
        "devicesDistance": None,
        "origin": "unms",
    }


def main() -> None:
    """Serve two files as /devices and /data-links until killed; print the port first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=Path, required=True)
    parser.add_argument("--links", type=Path, required=True)
    parser.add_argument("--token")
    args = parser.parse_args()
    routes = {
        DEVICES: Reply(body=args.devices.read_bytes()),
        LINKS: Reply(body=args.links.read_bytes()),
    }
    server = UispServer(routes, token=args.token).start()
    print(server.url.rsplit(":", 1)[1], flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
