"""`TopologyCache`: the latest built topology, rebuilt only when the caller's version changes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

# Generic over what it keeps, so this module needs nothing from ipam.topology.mesh (no cycle).
Topology = TypeVar("Topology")


class TopologyCache(Generic[Topology]):
    """The latest topology and the version it was built for; rebuilds only on a new version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: Hashable | None = None
        self._topology: Topology | None = None

    @property
    def version(self) -> Hashable | None:
        """The version the cached topology was built for (None before the first build)."""
        return self._version

    def get(self, version: Hashable, loader: Callable[[], Topology]) -> Topology:
        """The topology for `version`, calling `loader` only when the version changed."""
        # Held across the load: threads that ask together wait for one rebuild, not run several.
        with self._lock:
            if self._topology is None or version != self._version:
                self._topology = loader()
                self._version = version
            return self._topology

    def clear(self) -> None:
        """Forget the cached topology; the next `get` rebuilds."""
        with self._lock:
            self._topology = None
            self._version = None
