"""Rendered read answers in two parts: records by their version, observations by observed version.

A GET answer's record part is stored as JSON bytes under its path and query, with the version
it was computed at (ipam/records/versions.py): the newest record change for record answers,
which status events and polling leave alone; the newest event of any kind for answers that
read what the daemon writes (health: routing, availability), and the observed counter too for
those read from observations themselves (series). Where observed state belongs it holds
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
from collections.abc import Callable, Hashable
from typing import Any, Literal

from fastapi import Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from ipam.observed import snapshot
from ipam.records import versions

MAX_ENTRIES = 4096


Follows = Literal["records", "events", "observed"]


class ResponseCache:
    """A small thread-safe LRU of record-part bytes (and the record's ETag) by (key, version)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Hashable, bytes, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: Hashable) -> tuple[bytes, str | None] | None:
        """The stored answer (body, ETag) for key if it was made at this version."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1], found[2]

    def put(self, key: str, version: Hashable, body: bytes, etag: str | None = None) -> None:
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
        # Held while one request reads the new snapshot (tens of milliseconds at NYC's size).
        # The others go on with the one before rather than queue behind it: they are answers
        # a moment older, as if they had come a moment sooner (issue 16's p99 while polling).
        self._lock = threading.Lock()

    def get(self, session: Session, version: int) -> snapshot.Snapshot:
        """A snapshot as new as `version`, or the one before while another request reads it."""
        found = self._current
        if found is not None and found.version >= version:
            return found
        if found is not None and not self._lock.acquire(blocking=False):
            return found
        if found is None:
            self._lock.acquire()
        try:
            found = self._current
            if found is None or found.version < version:
                found = self._current = snapshot.read(session, version)
            return found
        finally:
            self._lock.release()


def render(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """Validated against the declared model, then dumped: the bytes match the schema."""
    return adapter.dump_json(adapter.validate_python(value))


def cached_json(
    request: Request,
    session: Session,
    adapter: TypeAdapter[Any],
    compute: Callable[[], Any],
    etag: Callable[[], str] | None = None,
    follows: Follows = "events",
) -> Response:
    """Answer from the cache when nothing it `follows` changed since, else compute and store.

    `etag`, when given, names the record's version; it changes only with a record change, so
    it is kept beside the record part (observed state is not in it).
    """
    cache: ResponseCache = request.app.state.response_cache
    # The token check read it already (api/deps.py); routes without one read it here.
    now: versions.Versions = getattr(request.state, "version", None) or versions.current(session)
    made_at = {
        "records": now.records,
        "events": now.events,
        "observed": (now.events, now.observed),
    }[follows]
    key = str(request.url)  # with the host: page links in the answer are absolute
    found = cache.get(key, made_at)
    if found is None:
        body = render(adapter, compute())
        tag = etag() if etag is not None else None
        cache.put(key, made_at, body, tag)
    else:
        body, tag = found
    if snapshot.has_markers(body):
        snapshots: ObservedSnapshots = request.app.state.observed_snapshots
        body = snapshots.get(session, now.observed).fill(body)
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
