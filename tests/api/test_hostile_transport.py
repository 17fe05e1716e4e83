"""Hostile clients at the transport (issue 11): slow bodies, header floods, spoofed addresses,
stream storms and revoked tokens, as real sockets against a real uvicorn on loopback.

Each test serves the app the way `meshkeeper run` does (tests/live.py, api/serving.py) and
stays within a few seconds: the attacks are scaled down in time (a 3 s request timeout
instead of 30 s), not in kind.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from api.http_guard import MAX_HEAD_BYTES
from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.records import tokens
from ipam.records.changes import write_event
from tests.live import served

KIB = 1024
MIB = 1024 * KIB


@contextlib.contextmanager
def serving(db, sessions, tmp_path, **overrides: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """The app on a real uvicorn with these settings: (base URL, secret by token name)."""
    from api.app import create_app
    from ipam.settings import Settings

    settings = Settings(data_dir=tmp_path, probe_networks=["127.0.0.0/8"], **overrides)
    with transaction(sessions) as session:
        secrets = {
            name: tokens.create_token(session, name, role)
            for name, role in [
                ("admin", TokenRole.ADMIN),
                ("reader", TokenRole.READ_ONLY),
                ("other", TokenRole.READ_ONLY),
            ]
        }
    with served(create_app(settings, db)) as url:
        yield url, secrets


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _connect(url: str, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(url)), timeout=timeout)


def _read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or the socket times out)."""
    chunks = []
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def _timed_get(url: str, path: str, **headers: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        response = httpx.get(url + path, headers=headers, timeout=5, trust_env=False)
    except httpx.TimeoutException:
        return 0, time.monotonic() - started
    return response.status_code, time.monotonic() - started


# --- 1. slow request bodies ----------------------------------------------------------------


def test_slow_bodies_hold_no_slot_and_end_in_408(db, sessions, tmp_path):
    """41 bodies at a byte every half second: the API answers within 2 s; they get 408."""
    with serving(db, sessions, tmp_path, request_timeout_s=3) as (url, secrets):
        auth = {"Authorization": f"Bearer {secrets['admin']}"}
        head = (
            b"POST /api/v1/members/ HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {secrets['admin']}\r\n".encode()
            + b"Content-Length: 1000\r\n\r\n{"
        )
        # Warm first (a new server's first database connection is not what is measured here).
        _timed_get(url, "/api/v1/")
        _timed_get(url, "/api/v1/nodes/", **auth)
        # The clock starts before the connections: the server's deadline counts from each one.
        started = time.monotonic()
        slow = [_connect(url) for _ in range(41)]
        for sock in slow:
            sock.sendall(head)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.5):
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.send(b" ")

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            time.sleep(0.5)  # every slow request is in
            answers = [_timed_get(url, "/api/v1/"), _timed_get(url, "/api/v1/members/", **auth)]
            answers += [_timed_get(url, "/api/v1/nodes/", **auth) for _ in range(3)]
            for sock in slow:
                sock.settimeout(10)
            statuses = [_status(_read_answer(sock)) for sock in slow]
            took = time.monotonic() - started
        finally:
            stop.set()
            trickler.join()
            for sock in slow:
                sock.close()
    assert all(status == 200 and seconds < 2 for status, seconds in answers), answers
    assert statuses == [408] * 41, statuses
    assert 3 <= took < 8, took


def test_a_request_that_arrives_in_time_is_served(db, sessions, tmp_path):
    """A body in a few slow pieces, whole within the timeout, is read and answered."""
    with serving(db, sessions, tmp_path, request_timeout_s=3) as (url, secrets):
        body = b'{"name": "Slow but steady"}'
        with _connect(url) as sock:
            sock.sendall(
                b"POST /api/v1/members/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                + f"Authorization: Bearer {secrets['admin']}\r\n".encode()
                + b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            for start in range(0, len(body), 9):
                time.sleep(0.3)
                sock.sendall(body[start : start + 9])
            assert _status(_read_answer(sock)) == 201


def test_a_silent_or_slow_head_is_ended(db, sessions, tmp_path):
    """A head that never ends gets 408; a connection that never sends is closed."""
    with (
        serving(db, sessions, tmp_path, request_timeout_s=2) as (url, _),
        _connect(url) as silent,
        _connect(url) as slow,
    ):
        slow.sendall(b"GET /api/v1/ HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        for n in range(4):
            time.sleep(0.4)
            slow.sendall(f"X-Slow-{n}: 1\r\n".encode())
        assert _status(_read_answer(slow)) == 408
        assert _read_answer(silent) == b""
        assert time.monotonic() - started < 5


# --- 3. header floods ----------------------------------------------------------------------


def _get_with(headers: bytes) -> bytes:
    return b"GET /api/v1/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n"


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
    raise AssertionError("no VmRSS")


def test_heads_over_the_limits_are_431(db, sessions, tmp_path):
    with serving(db, sessions, tmp_path) as (url, _):
        just_under = b"X-Pad: " + b"a" * (MAX_HEAD_BYTES - 200) + b"\r\n"
        hundred = b"".join(f"X-H{n}: v\r\n".encode() for n in range(97))  # + Host, Connection
        for headers, status in [
            (just_under, 200),
            (hundred, 200),
            (b"X-Pad: " + b"a" * MAX_HEAD_BYTES + b"\r\n", 431),
            (b"".join(f"X-H{n}: v\r\n".encode() for n in range(101)), 431),
            (b"".join(b"X-%d: %s\r\n" % (n, b"b" * 1000) for n in range(80)), 431),
        ]:
            with _connect(url) as sock:
                sock.sendall(_get_with(headers))
                answer = _read_answer(sock)
            assert _status(answer) == status, (len(headers), answer[:200])
            if status == 431:
                assert b'"detail"' in answer


def test_header_floods_are_refused_without_being_held(db, sessions, tmp_path):
    """Eight clients each sending a 16 MiB header: refused early, memory stays flat."""
    size = 16 * MIB
    with serving(db, sessions, tmp_path) as (url, _):

        def flood(_: int) -> tuple[int, int]:
            sent = 0
            with _connect(url, timeout=20) as sock:
                try:
                    sock.sendall(b"GET /api/v1/ HTTP/1.1\r\nHost: t\r\nX-Flood: ")
                    chunk = b"f" * (256 * KIB)
                    while sent < size:
                        sock.sendall(chunk)
                        sent += len(chunk)
                except OSError:
                    pass  # the server closed after its lingering read: refused
                return sent, _status(_read_answer(sock))

        before = _rss_bytes()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(flood, range(8)))
        grown = _rss_bytes() - before
        assert httpx.get(url + "/api/v1/", trust_env=False).status_code == 200
    assert all(status in (431, 0) for _, status in results), results
    assert any(status == 431 for _, status in results), results
    # Before the guard the parser kept every header byte: 8 x 16 MiB and more.
    assert grown < 32 * MIB, grown


# --- 4. spoofed client addresses -----------------------------------------------------------


def _join_statuses(url: str, count: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        for n in range(count):
            spoofed = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
            statuses.append(client.post("/api/v1/join/", json={}, headers=spoofed).status_code)
    return statuses


def test_forwarded_for_from_an_unlisted_peer_is_ignored(db, sessions, tmp_path):
    """Rotating X-Forwarded-For buys no new budget: the limit keys on the real peer."""
    with serving(db, sessions, tmp_path, join_rate_limit=3) as (url, _):
        statuses = _join_statuses(url, 8)
    # An empty form is MeshDB's 400 "incomplete form" (api/join.py) until the budget is spent.
    assert statuses == [400] * 3 + [429] * 5, statuses


def test_forwarded_for_from_a_listed_proxy_is_believed(db, sessions, tmp_path):
    overrides = {"join_rate_limit": 3, "trusted_proxies": ["127.0.0.1"]}
    with serving(db, sessions, tmp_path, **overrides) as (url, _):
        statuses = _join_statuses(url, 8)
    assert statuses == [400] * 8, statuses


# --- 2. event stream storms, and 5. revoked tokens -------------------------------------------


def _ask_stream(url: str, secret: str, timeout: float = 10) -> socket.socket:
    """Send an event-stream request; the answer is read later (`_head_status`)."""
    sock = _connect(url, timeout=timeout)
    sock.sendall(
        b"GET /api/v1/events/stream/ HTTP/1.1\r\nHost: t\r\n"
        + f"Authorization: Bearer {secret}\r\n\r\n".encode()
    )
    return sock


def _head_status(sock: socket.socket) -> int:
    """The status of the answer's head, read up to its blank line (0 if none came)."""
    return _status(_read_until(sock, b"\r\n\r\n"))


def _open_stream(url: str, secret: str) -> tuple[socket.socket, int]:
    """An event-stream request and the status it was answered with."""
    sock = _ask_stream(url, secret)
    return sock, _head_status(sock)


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    """What a stream sent until `marker` came, it ended, or the socket timed out."""
    got = b""
    with contextlib.suppress(OSError):
        while marker not in got and (chunk := sock.recv(65536)):
            got += chunk
    return got


def _idle_in_transaction(engine) -> int:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_storm_of_bad_tokens_is_cheap(db, sessions, tmp_path):
    """100 stream requests with a bad token: all answered at once, few lookups, no leaks."""
    bad = "mk_" + "x" * 43
    lookups: list[str] = []

    def count(conn, cursor, statement, *args: Any) -> None:
        if "api_token" in statement:
            lookups.append(statement)

    with serving(db, sessions, tmp_path) as (url, secrets):
        assert _timed_get(url, "/api/v1/")[0] == 200  # warm: the first request pays the setup
        event.listen(db, "before_cursor_execute", count)
        try:
            storm = [_ask_stream(url, bad) for _ in range(100)]  # all sent before any is read
            answers = [_timed_get(url, "/api/v1/") for _ in range(3)]
            opened = [(sock, _head_status(sock)) for sock in storm]
        finally:
            event.remove(db, "before_cursor_execute", count)
        for sock, _ in opened:
            sock.close()
        idle = _idle_in_transaction(db)
    statuses = {status for _, status in opened}
    assert statuses <= {401, 429} and 401 in statuses, statuses
    assert all(status == 200 and seconds < 2 for status, seconds in answers), answers
    assert idle == 0
    # At most one lookup per stream a client may have open at once (default 20), not 100.
    assert len(lookups) <= 20, len(lookups)


def test_streams_are_bounded_and_the_api_keeps_its_latency(db, sessions, tmp_path):
    """The most streams allowed are open: the next is 429, and reads stay fast."""
    overrides = {"stream_max_total": 200, "stream_max_per_client": 200, "stream_max_per_token": 100}
    with serving(db, sessions, tmp_path, **overrides) as (url, secrets):
        auth = {"Authorization": f"Bearer {secrets['admin']}"}
        assert _timed_get(url, "/api/v1/")[0] == 200  # warm: the first request pays the setup
        asked = [_ask_stream(url, secrets[name]) for name in ["reader", "other"] * 100]
        streams = [(sock, _head_status(sock)) for sock in asked]
        try:
            assert [status for _, status in streams] == [200] * 200
            over_token = _open_stream(url, secrets["reader"])
            over_total = _open_stream(url, secrets["admin"])
            answers = [_timed_get(url, "/api/v1/") for _ in range(5)]
            answers += [_timed_get(url, "/api/v1/members/", **auth) for _ in range(5)]
            idle = _idle_in_transaction(db)
            checked_out = db.pool.checkedout()
            # An event still reaches every stream, through the one shared poller.
            with transaction(sessions) as session:
                write_event(session, "node.updated", "nodes", "n1", {"before": {}, "after": {}})
            deadline = time.monotonic() + 5
            seen = 0
            for sock, _ in streams:
                sock.settimeout(max(deadline - time.monotonic(), 0.1))
                seen += b"event: node.updated" in _read_until(sock, b"event: node.updated")
        finally:
            for sock, _ in streams:
                sock.close()
    assert over_token[1] == 429 and over_total[1] == 429
    over_token[0].close()
    over_total[0].close()
    assert all(status == 200 and seconds < 1 for status, seconds in answers), answers
    assert idle == 0
    assert checked_out <= 2, checked_out  # the streams hold no connection while they wait
    assert seen == 200, seen


def test_streams_per_client_are_bounded(db, sessions, tmp_path):
    with serving(db, sessions, tmp_path, stream_max_per_client=3) as (url, secrets):
        streams = [_open_stream(url, secrets[name]) for name in ("reader", "other", "admin")]
        extra = _open_stream(url, secrets["reader"])
        for sock, _ in [*streams, extra]:
            sock.close()
    assert [status for _, status in streams] == [200] * 3
    assert extra[1] == 429


def test_revoking_a_token_ends_its_open_streams(db, sessions, tmp_path):
    with serving(db, sessions, tmp_path) as (url, secrets):
        revoked, kept = _open_stream(url, secrets["reader"]), _open_stream(url, secrets["other"])
        assert revoked[1] == 200 and kept[1] == 200
        with transaction(sessions) as session:
            tokens.revoke_token(session, "reader")
        started = time.monotonic()
        revoked[0].settimeout(6)
        got = _read_until(revoked[0], b"0\r\n\r\n")  # the chunked body's last chunk
        ended_after = time.monotonic() - started
        with transaction(sessions) as session:
            write_event(session, "member.updated", "members", "m1", {"before": {}, "after": {}})
        kept[0].settimeout(3)
        still = _read_until(kept[0], b"event: member.updated")
        revoked[0].close()
        kept[0].close()
    assert got.endswith(b"0\r\n\r\n"), got[-200:]  # ended, not cut off
    assert ended_after < 4, ended_after
    assert b"event: member.updated" in still


# --- 10. HEAD on the health check, the docs without a CDN -----------------------------------


def test_head_on_the_health_check(db, sessions, tmp_path):
    with serving(db, sessions, tmp_path) as (url, _):
        response = httpx.head(url + "/api/v1/", trust_env=False)
    assert response.status_code == 200
    assert response.content == b""


def test_docs_load_nothing_from_outside(db, sessions, tmp_path):
    import re

    with (
        serving(db, sessions, tmp_path) as (url, _),
        httpx.Client(base_url=url, trust_env=False) as client,
    ):
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets, page
            assert not [a for a in assets if "//" in a], assets  # nothing off this server
            for asset in assets:
                assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/members/"])
def test_keep_alive_requests_after_the_guard(db, sessions, tmp_path, path):
    """Several requests on one kept-alive connection, each under the deadline, all answered."""
    with serving(db, sessions, tmp_path, request_timeout_s=1) as (url, secrets):
        auth = {"Authorization": f"Bearer {secrets['admin']}"}
        with httpx.Client(base_url=url, trust_env=False, headers=auth) as client:
            for _ in range(3):
                assert client.get(path).status_code == 200
                time.sleep(0.6)  # together longer than the deadline: each request is timed alone
