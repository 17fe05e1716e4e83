"""Rendered read answers, kept while nothing they show has changed.

A GET answer is stored as JSON bytes under its path and query, with the version it was
computed at (ipam/versions.py). The version is read before the answer is computed, so a
stored answer is never older than its version: a change that lands meanwhile only makes it
newer. Authorisation is checked on every request before the cache is consulted; every role
that may read sees the same records, so one entry serves them all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from ipam.records import versions

MAX_ENTRIES = 4096


class ResponseCache:
    """A small thread-safe LRU of answer bytes by (key, version)."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple[int, int], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: tuple[int, int]) -> bytes | None:
        """The stored answer for key if it was made at this version."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: str, version: tuple[int, int], body: bytes) -> None:
        """Store an answer, dropping the least recently used beyond the size."""
        with self._lock:
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def cached_json(
    request: Request, session: Session, adapter: TypeAdapter[Any], compute: Callable[[], Any]
) -> Response:
    """Answer from the cache when nothing changed since, else compute, check and store."""
    cache: ResponseCache = request.app.state.response_cache
    # The token check read it already (api/deps.py); routes without one read it here.
    version = getattr(request.state, "version", None) or versions.current(session)
    key = str(request.url)  # with the host: page links in the answer are absolute
    body = cache.get(key, version)
    if body is None:
        # Validated against the declared model once, when made: the bytes match the schema.
        body = adapter.dump_json(adapter.validate_python(compute()))
        cache.put(key, version, body)
    # A read has nothing to keep: ending it here, in this worker thread, spares the request
    # a second trip through the thread pool to end it (api/deps.py).
    session.commit()
    return Response(content=body, media_type="application/json")
