"""Rendered read answers in two parts: records by event id, observations by observed version.

A GET answer's record part is stored as JSON bytes under its path and query, with the latest
event id it was computed at (ipam/records/versions.py); where observed state belongs it holds
a marker (ipam/observed/snapshot.py). The observed part is one snapshot of every observation,
read once per observed version and shared by all answers. A polling cycle thus costs one
snapshot read, and no record answer is recomputed because a measurement moved.

Both versions are read before the parts are computed, so neither part is older than its
version: a change that lands meanwhile only makes it newer. Authorisation is checked on every
request before the cache is consulted; every role that may read sees the same records, so
one entry serves them all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from ipam.observed import snapshot
from ipam.records import versions

MAX_ENTRIES = 4096


class ResponseCache:
    """A small thread-safe LRU of record-part bytes (and the record's ETag) by (key, event id)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[int, bytes, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: int) -> tuple[bytes, str | None] | None:
        """The stored answer (body, ETag) for key if it was made at this version."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1], found[2]

    def put(self, key: str, version: int, body: bytes, etag: str | None = None) -> None:
        """Store an answer, dropping the least recently used beyond the size."""
        with self._lock:
            self._entries[key] = (version, body, etag)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class ObservedSnapshots:
    """The snapshot of the newest observed version seen, read by one request at a time."""

    def __init__(self) -> None:
        self._current: snapshot.Snapshot | None = None
        # Held while reading: the requests that arrive meanwhile wait for that one read
        # instead of each reading every observation themselves.
        self._lock = threading.Lock()

    def get(self, session: Session, version: int) -> snapshot.Snapshot:
        """A snapshot at least as new as `version`."""
        found = self._current
        if found is not None and found.version >= version:
            return found
        with self._lock:
            found = self._current
            if found is None or found.version < version:
                found = self._current = snapshot.read(session, version)
            return found


def render(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """Validated against the declared model, then dumped: the bytes match the schema."""
    return adapter.dump_json(adapter.validate_python(value))


def cached_json(
    request: Request,
    session: Session,
    adapter: TypeAdapter[Any],
    compute: Callable[[], Any],
    etag: Callable[[], str] | None = None,
) -> Response:
    """Answer from the cache when no record changed since, else compute, check and store.

    `etag`, when given, names the record's version; it changes only with an event, so it is
    kept beside the record part under the same event id (observed state is not in it).
    """
    cache: ResponseCache = request.app.state.response_cache
    # The token check read it already (api/deps.py); routes without one read it here.
    event_id, observed = getattr(request.state, "version", None) or versions.current(session)
    key = str(request.url)  # with the host: page links in the answer are absolute
    found = cache.get(key, event_id)
    if found is None:
        body = render(adapter, compute())
        tag = etag() if etag is not None else None
        cache.put(key, event_id, body, tag)
    else:
        body, tag = found
    if snapshot.has_markers(body):
        snapshots: ObservedSnapshots = request.app.state.observed_snapshots
        body = snapshots.get(session, observed).fill(body)
    # A read has nothing to keep: ending it here, in this worker thread, spares the request
    # a second trip through the thread pool to end it (api/deps.py).
    session.commit()
    headers = {"ETag": tag} if tag is not None else None
    return Response(content=body, media_type="application/json", headers=headers)


def filled_json(
    session: Session, adapter: TypeAdapter[Any], value: Any, status_code: int = 200
) -> Response:
    """An answer made now (after a write), its observed parts read for just these records."""
    body = render(adapter, value)
    body = snapshot.read_for(session, body).fill(body)
    return Response(content=body, status_code=status_code, media_type="application/json")
