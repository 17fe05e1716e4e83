"""NYC Mesh map feed vocabulary: legacy status words both ways, epoch-ms dates, node types.

Shared by the importer (`ipam.imports.nycmesh_import`) and the feeds (`ipam.maps`), so a
word read in is the word served back. Pure: no database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ipam.enums import DeviceStatus, InstallStatus, LinkStatus, LinkType, NodeStatus, NodeType

# MeshDB's JavascriptDateField turns a date into local midnight on a New York server, so a
# date in the feed is an epoch-ms instant at 00:00 America/New_York.
NEW_YORK = ZoneInfo("America/New_York")

NN_ASSIGNED = "NN assigned"

# Legacy spreadsheet words (compared case-insensitively) -> install status.
INSTALL_WORDS: dict[str, InstallStatus] = {
    "installed": InstallStatus.ACTIVE,
    "interested": InstallStatus.PENDING,
    "powered off": InstallStatus.INACTIVE,
    "abandoned": InstallStatus.CLOSED,
    "no los": InstallStatus.BLOCKED,
    "invalid": InstallStatus.CLOSED,
    "dupe": InstallStatus.CLOSED,
    "no reply": InstallStatus.CLOSED,
    "not interested": InstallStatus.CLOSED,
    "scheduled": InstallStatus.PENDING,
    "to be scheduled": InstallStatus.PENDING,
    "not contacted yet": InstallStatus.REQUEST_RECEIVED,
}
# Install status -> the word the feed shows (MeshDB's convert_status_to_spreadsheet_status);
# None means the key is left out, which readers take as "Request Received".
INSTALL_WORD_BACK: dict[str, str | None] = {
    InstallStatus.REQUEST_RECEIVED: None,
    InstallStatus.PENDING: "Interested",
    InstallStatus.BLOCKED: "No Los",
    InstallStatus.ACTIVE: "Installed",
    InstallStatus.INACTIVE: "Powered Off",
    InstallStatus.CLOSED: "Abandoned",
    InstallStatus.NN_REASSIGNED: NN_ASSIGNED,
}
LINK_WORDS: dict[str, tuple[LinkStatus, LinkType | None]] = {
    "active": (LinkStatus.ACTIVE, None),
    "planned": (LinkStatus.PLANNED, None),
    "inactive": (LinkStatus.INACTIVE, None),
    "dead": (LinkStatus.INACTIVE, None),  # what MeshDB's map serializer calls an Inactive link
    "60ghz": (LinkStatus.ACTIVE, LinkType.SIXTY_GHZ),
    "vpn": (LinkStatus.ACTIVE, LinkType.VPN),
    "fiber": (LinkStatus.ACTIVE, LinkType.FIBER),
}
# Active links whose type the legacy map draws as "60GHz" (MeshDB: 24, 60 and 70-80 GHz).
MMWAVE = frozenset({LinkType.TWENTYFOUR_GHZ, LinkType.SIXTY_GHZ, LinkType.SEVENTY_EIGHTY_GHZ})
SECTOR_WORDS: dict[str, DeviceStatus] = {
    "active": DeviceStatus.ACTIVE,
    "abandoned": DeviceStatus.INACTIVE,
    "inactive": DeviceStatus.INACTIVE,
    "potential": DeviceStatus.POTENTIAL,
}
SECTOR_WORD_BACK: dict[str, str] = {
    DeviceStatus.ACTIVE: "active",
    DeviceStatus.INACTIVE: "abandoned",
    DeviceStatus.POTENTIAL: "potential",
}
NODE_TO_DEVICE_STATUS: dict[str, DeviceStatus] = {
    NodeStatus.ACTIVE: DeviceStatus.ACTIVE,
    NodeStatus.INACTIVE: DeviceStatus.INACTIVE,
    NodeStatus.PLANNED: DeviceStatus.POTENTIAL,
}

# A generous box around the five boroughs and the nearby suburbs the mesh reaches.
NYC_BOX = (40.4, 41.1, -74.35, -73.5)  # lat min, lat max, lon min, lon max
PLACE_DIGITS = 6  # ~0.1 m: rows this close are one building

_SUPERNODE_NAME = re.compile(r"supernode|\bSN\d+\b", re.IGNORECASE)
_POP = re.compile(r"\bPOP\d*\b")
_HUB_NAME = re.compile(r"\bhub\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")

Place = tuple[float, float]  # (rounded latitude, rounded longitude)
NodeKey = tuple[str, int]  # ("nn", network number) or ("install", the dot's install number)


# --- dates ---------------------------------------------------------------------------------


def ms_to_datetime(value: Any) -> datetime | None:
    """An epoch-ms instant as an aware UTC datetime (None for anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def ms_to_date(value: Any) -> date | None:
    """An epoch-ms instant as the New York calendar date MeshDB meant by it."""
    instant = ms_to_datetime(value)
    return None if instant is None else instant.astimezone(NEW_YORK).date()


def datetime_to_ms(value: datetime) -> int:
    """An aware datetime as epoch milliseconds."""
    return int(value.timestamp() * 1000)


@lru_cache(maxsize=16384)
def date_to_ms(value: date) -> int:
    """A calendar date as epoch ms at 00:00 New York (the inverse of `ms_to_date`)."""
    return int(datetime.combine(value, time.min, tzinfo=NEW_YORK).timestamp() * 1000)


# --- words ---------------------------------------------------------------------------------


def install_status(word: str | None) -> InstallStatus | None:
    """A legacy status word as an install status (None word: Request Received; unknown: None)."""
    if word is None or not word.strip():
        return InstallStatus.REQUEST_RECEIVED
    return INSTALL_WORDS.get(" ".join(word.lower().split()))


def node_type(name: str | None, notes: str | None) -> NodeType:
    """A dot's node type from its own words (see the import module's table)."""
    name, notes = name or "", notes or ""
    match = _FIRST_WORD.match(notes)
    first = match.group(1).lower() if match else ""
    if _SUPERNODE_NAME.search(name) or first == "supernode":
        return NodeType.SUPERNODE
    if _POP.search(name) or _POP.search(notes):
        return NodeType.POP
    if first == "hub" or _HUB_NAME.search(name):
        return NodeType.HUB
    if first == "ap":
        return NodeType.AP
    return NodeType.STANDARD


def place_of(latitude: float, longitude: float) -> Place:
    """The building key of a position: coordinates rounded to ~0.1 m."""
    return (round(latitude, PLACE_DIGITS), round(longitude, PLACE_DIGITS))


def device_name(key: NodeKey) -> str:
    """The name of the one device a node's map links hang off."""
    kind, number = key
    return f"nycmesh-{number}-map" if kind == "nn" else f"install-{number}-map"
