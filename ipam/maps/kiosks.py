"""LinkNYC kiosks for the website map, from NYC Open Data (MeshDB's `KioskListWrapper`).

MeshDB's `meshapi/views/map.py` proxies the city's LinkNYC kiosk dataset (s4kf-3yrf) and
answers each kiosk as `{street_address, type, id, coordinates: [lon, lat], status}` with the
installation status in the map's words. A good answer is kept for a minute (the map asks on
every page load; the dataset changes a few times a year).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from ipam.errors import DomainError

DATASET = "/resource/s4kf-3yrf.json"
KEEP_S = 60.0
TIMEOUT_S = 10.0
# The map's words for the dataset's link_installation_status (others: null).
STATUS_WORDS = {"Live": "active", "Ready for Activation": "pending", "Installed": "installed"}
FETCH_FAILED = "Error fetching data from City of New York"
BAD_ANSWER = "Invalid response received from City of New York"


class SourceFailed(DomainError):
    """The city's dataset did not answer, or answered nonsense (a 502 with MeshDB's words)."""


def translate(rows: Any) -> list[dict[str, Any]]:
    """The dataset's rows as the map's kiosks (empty rows skipped); ValueError on nonsense."""
    if not isinstance(rows, list) or not rows:
        raise ValueError("expected at least one kiosk")
    kiosks = []
    for row in rows:
        if not row:
            continue
        kiosks.append(
            {
                "street_address": row["street_address"],
                "type": row["planned_kiosk_type"],
                "id": row["link_site_id"],
                "coordinates": [float(row["longitude"]), float(row["latitude"])],
                "status": STATUS_WORDS.get(row.get("link_installation_status")),
            }
        )
    return kiosks


def fetch(open_data_url: str) -> list[dict[str, Any]]:
    """Every kiosk from the dataset, or SourceFailed."""
    try:
        answer = httpx.get(
            f"{open_data_url.rstrip('/')}{DATASET}", params={"$limit": "100000"}, timeout=TIMEOUT_S
        )
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise SourceFailed(FETCH_FAILED) from exc
    try:
        return translate(answer.json())
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceFailed(BAD_ANSWER) from exc


class KioskCache:
    """The last good answer, kept KEEP_S seconds; one fetch at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[float, list[dict[str, Any]]] | None = None

    def get(self, open_data_url: str) -> list[dict[str, Any]]:
        """The kiosks: kept ones while fresh, else fetched (SourceFailed when that fails)."""
        with self._lock:
            now = self.clock()
            if self._kept is not None and now - self._kept[0] < KEEP_S:
                return self._kept[1]
            kiosks = fetch(open_data_url)
            self._kept = (now, kiosks)
            return kiosks
