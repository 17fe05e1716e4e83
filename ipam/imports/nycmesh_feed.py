"""The NYC Mesh map feed, pure: reading the three files and planning what to create.

No database here: `read_feed` parses the three files, `plan_feed` decides which rows are
installs, which are node "dots", which building every row stands in and what each link and
sector hangs off. `ipam.imports.nycmesh_import` matches the plan against the database and writes
it; `ipam.imports.nycmesh_words` holds the words and dates both directions share. The rules
are tabled in `ipam.imports.nycmesh_import`'s docstring.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ipam.enums import DeviceStatus, InstallStatus, LinkStatus, LinkType, NodeStatus, NodeType
from ipam.errors import Invalid
from ipam.imports.nycmesh_words import (
    LINK_WORDS,
    NN_ASSIGNED,
    NYC_BOX,
    SECTOR_WORDS,
    NodeKey,
    Place,
    install_status,
    ms_to_date,
    ms_to_datetime,
    node_type,
    place_of,
)
from ipam.numbering.nn_rules import NN_MAX, NN_MIN

# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing in the feed the import could not take as it stands."""

    kind: str
    subject: str
    detail: str


@dataclass(frozen=True)
class Row:
    """One readable nodes.json row."""

    id: int
    word: str | None
    status: InstallStatus | None  # None: an "NN assigned" row (a node, not an install)
    latitude: float
    longitude: float
    altitude: float | None
    request_date: datetime | None
    install_date: date | None
    roof_access: bool
    name: str | None
    notes: str | None
    panoramas: tuple[str, ...]

    @property
    def place(self) -> Place:
        """The building this row stands in."""
        return place_of(self.latitude, self.longitude)


@dataclass(frozen=True)
class Feed:
    """The three files as read: raw links and sectors, readable rows, and what was wrong."""

    directory: Path
    rows: list[Row]
    row_count: int
    unplaced: frozenset[int]  # ids of rows that were read but could not be placed
    links: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    problems: list[Problem]


def _load_list(path: Path, *, required: bool, problems: list[Problem]) -> list[Any]:
    if not path.is_file():
        if required:
            raise Invalid(f"{path}: no such file", field="directory")
        problems.append(Problem("missing file", path.name, "not found; nothing imported from it"))
        return []
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: not JSON ({exc})", field="directory") from exc
    if not isinstance(data, list):
        raise Invalid(f"{path}: expected a JSON list of rows", field="directory")
    return data


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _row(raw: Any, problems: list[Problem]) -> Row | None:
    """A readable row, or None with a problem saying why it cannot be placed."""
    if not isinstance(raw, dict) or isinstance(raw.get("id"), bool):
        problems.append(Problem("unreadable row", repr(raw)[:60], "not an object with an id"))
        return None
    row_id = raw.get("id")
    if not isinstance(row_id, int) or row_id < 1 or row_id > 2**31 - 1:
        problems.append(Problem("unreadable row", f"id {row_id!r}", "id is not a positive int"))
        return None
    coords = raw.get("coordinates")
    if not isinstance(coords, list):
        coords = []
    lon, lat = (_number(coords[0]), _number(coords[1])) if len(coords) >= 2 else (None, None)
    subject = f"row {row_id}"
    if lon is None or lat is None:
        detail = f"coordinates {raw.get('coordinates')!r}"[:80]
        problems.append(Problem("impossible coordinates", subject, detail))
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        problems.append(Problem("impossible coordinates", subject, f"[lon, lat] = [{lon}, {lat}]"))
        return None
    word = _text(raw.get("status"))
    status: InstallStatus | None = None
    if word is None or word.lower() != NN_ASSIGNED.lower():
        status = install_status(word)
        if status is None:
            problems.append(
                Problem("unknown status", subject, f"{word!r} taken as Request Received")
            )
            status = InstallStatus.REQUEST_RECEIVED
    elif not NN_MIN <= row_id <= NN_MAX:
        problems.append(
            Problem("NN out of range", subject, f"NN assigned row outside {NN_MIN}..{NN_MAX}")
        )
        return None
    lat_min, lat_max, lon_min, lon_max = NYC_BOX
    if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        problems.append(
            Problem("outside NYC", subject, f"[lon, lat] = [{lon}, {lat}]; imported as given")
        )
    altitude = _number(coords[2]) if len(coords) > 2 else None
    panoramas = raw.get("panoramas") or []
    return Row(
        id=row_id,
        word=word,
        status=status,
        latitude=lat,
        longitude=lon,
        altitude=altitude,
        request_date=ms_to_datetime(raw.get("requestDate")),
        install_date=ms_to_date(raw.get("installDate")),
        roof_access=raw.get("roofAccess") is True,
        name=_text(raw.get("name")),
        notes=_text(raw.get("notes")),
        panoramas=tuple(p for p in panoramas if isinstance(p, str) and p)
        if isinstance(panoramas, list)
        else (),
    )


def read_feed(directory: Path) -> Feed:
    """Read DIR/nodes.json (required), links.json and sectors.json; bad rows become problems."""
    directory = Path(directory)
    problems: list[Problem] = []
    raw_rows = _load_list(directory / "nodes.json", required=True, problems=problems)
    links = _load_list(directory / "links.json", required=False, problems=problems)
    sectors = _load_list(directory / "sectors.json", required=False, problems=problems)
    rows: list[Row] = []
    seen: set[int] = set()
    unplaced: set[int] = set()
    for raw in raw_rows:
        row = _row(raw, problems)
        if row is None:
            row_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(row_id, int):
                unplaced.add(row_id)
            continue
        if row.id in seen:
            problems.append(Problem("duplicate id", f"row {row.id}", "a later row with this id"))
            continue
        seen.add(row.id)
        rows.append(row)
    return Feed(directory, rows, len(raw_rows), frozenset(unplaced), links, sectors, problems)


# --- planning ------------------------------------------------------------------------------


@dataclass
class PlannedNode:
    """A node the feed shows: an "NN assigned" row or an install row that is a dot."""

    key: NodeKey
    dot: Row
    place: Place
    status: NodeStatus = NodeStatus.PLANNED
    type: NodeType = NodeType.STANDARD
    install_date: date | None = None

    @property
    def network_number(self) -> int | None:
        """The NN, or None for a node the feed names by its lowest install number."""
        return self.key[1] if self.key[0] == "nn" else None


@dataclass
class PlannedBuilding:
    """The rows at one place: one building."""

    place: Place
    first: Row  # the lowest-id row: its altitude stands for the building's
    panoramas: list[str] = field(default_factory=list)
    nodes: list[NodeKey] = field(default_factory=list)  # the primary (home) node first


@dataclass(frozen=True)
class PlannedLink:
    """One links.json row with its ends as feed ids."""

    index: int
    from_id: int
    to_id: int
    status: LinkStatus
    type: LinkType | None
    install_date: date | None


@dataclass(frozen=True)
class PlannedSector:
    """One sectors.json row."""

    index: int
    node_id: int
    name: str
    radius: float
    azimuth: int
    width: int
    status: DeviceStatus
    install_date: date | None


@dataclass
class Plan:
    """What the feed says, decided row by row, before any database is asked."""

    installs: list[Row]
    install_node: dict[int, NodeKey]  # install number -> its node's key (when it has one)
    nodes: dict[NodeKey, PlannedNode]
    dot_keys: dict[int, NodeKey]  # feed id of a dot -> its node's key
    buildings: dict[Place, PlannedBuilding]
    links: list[PlannedLink]
    sectors: list[PlannedSector]
    problems: list[Problem]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plan_links(raw_links: list[Any], problems: list[Problem]) -> list[PlannedLink]:
    links = []
    for index, raw in enumerate(raw_links):
        ends = (_int(raw.get("from")), _int(raw.get("to"))) if isinstance(raw, dict) else None
        word = _text(raw.get("status")) if isinstance(raw, dict) else None
        subject = f"link {index}"
        if ends is None or None in ends:
            problems.append(Problem("unreadable link", subject, repr(raw)[:80]))
            continue
        known = LINK_WORDS.get((word or "").lower())
        if known is None:
            problems.append(Problem("unknown status", subject, f"{word!r} taken as planned"))
            known = (LinkStatus.PLANNED, None)
        links.append(
            PlannedLink(index, ends[0], ends[1], *known, ms_to_date(raw.get("installDate")))  # type: ignore[arg-type]
        )
    return links


def _plan_sectors(raw_sectors: list[Any], problems: list[Problem]) -> list[PlannedSector]:
    sectors = []
    for index, raw in enumerate(raw_sectors):
        raw = raw if isinstance(raw, dict) else {}
        node_id = _int(raw.get("nodeId"))
        radius, azimuth, width = (_number(raw.get(k)) for k in ("radius", "azimuth", "width"))
        subject = f"sector {index} (node {node_id})"
        if node_id is None or radius is None or azimuth is None or width is None:
            problems.append(Problem("unreadable sector", subject, repr(raw)[:80]))
            continue
        if radius < 0 or not 0 <= azimuth <= 360 or not 0 <= width <= 360:
            detail = f"radius {radius}, azimuth {azimuth}, width {width} out of range"
            problems.append(Problem("impossible sector", subject, detail))
            continue
        word = (_text(raw.get("status")) or "").lower()
        status = SECTOR_WORDS.get(word)
        if status is None:
            problems.append(Problem("unknown status", subject, f"{word!r} taken as active"))
            status = DeviceStatus.ACTIVE
        name = _text(raw.get("device")) or "Sector"
        sectors.append(
            PlannedSector(
                index,
                node_id,
                name[:200],
                radius,
                round(azimuth),
                round(width),
                status,
                ms_to_date(raw.get("installDate")),
            )
        )
    return sectors


def _node_status(statuses: list[InstallStatus], on_active_link: bool) -> NodeStatus:
    if InstallStatus.ACTIVE in statuses:
        return NodeStatus.ACTIVE
    if InstallStatus.INACTIVE in statuses:
        return NodeStatus.INACTIVE
    # No install says: a live link drawn to the node says the site is up.
    return NodeStatus.ACTIVE if on_active_link else NodeStatus.PLANNED


def plan_feed(feed: Feed) -> Plan:
    """Decide installs, nodes, buildings, links and sectors from a read feed (pure)."""
    problems = list(feed.problems)
    links = _plan_links(feed.links, problems)
    sectors = _plan_sectors(feed.sectors, problems)
    rows = sorted(feed.rows, key=lambda r: r.id)
    named_by_feed = {end for link in links for end in (link.from_id, link.to_id)}
    named_by_feed |= {sector.node_id for sector in sectors}

    # Dots: "NN assigned" rows, rows a link or sector names, and rows with a name.
    dots = {r.id for r in rows if r.status is None or r.id in named_by_feed or r.name}
    by_place: dict[Place, list[Row]] = defaultdict(list)
    for row in rows:
        by_place[row.place].append(row)
    homes: dict[Place, Row] = {}
    for place, here in by_place.items():
        placed = [r for r in here if r.id in dots]
        if not placed:
            # An Installed / Powered Off row with no dot at its place: the lowest is the dot.
            live = [r for r in here if r.status in (InstallStatus.ACTIVE, InstallStatus.INACTIVE)]
            if not live:
                continue
            dots.add(live[0].id)
            placed = [live[0]]
        # An "NN assigned" dot is the building's primary NN, else the lowest-numbered dot.
        homes[place] = min(placed, key=lambda r: (r.status is not None, r.id))

    def key_of(row: Row) -> NodeKey:
        return ("nn", row.id) if NN_MIN <= row.id <= NN_MAX else ("install", row.id)

    nodes: dict[NodeKey, PlannedNode] = {}
    dot_keys: dict[int, NodeKey] = {}
    members: dict[NodeKey, list[Row]] = defaultdict(list)
    for row in rows:
        if row.id not in dots:
            continue
        key = key_of(row)
        nodes[key] = PlannedNode(key, row, row.place, type=node_type(row.name, row.notes))
        dot_keys[row.id] = key
        if row.status is not None:
            members[key].append(row)

    install_node: dict[int, NodeKey] = {}
    installs = [r for r in rows if r.status is not None]
    for row in installs:
        if row.id in dot_keys:
            install_node[row.id] = dot_keys[row.id]
        elif row.status in (InstallStatus.ACTIVE, InstallStatus.INACTIVE):
            key = dot_keys[homes[row.place].id]
            install_node[row.id] = key
            members[key].append(row)

    live_ends = {
        end
        for link in links
        if link.status == LinkStatus.ACTIVE
        for end in (link.from_id, link.to_id)
    }
    for key, node in nodes.items():
        joined = members[key]
        statuses = [r.status for r in joined if r.status is not None]
        node.status = _node_status(statuses, node.dot.id in live_ends)
        dates = [r.install_date for r in [node.dot, *joined] if r.install_date]
        node.install_date = node.dot.install_date or (min(dates) if dates else None)

    buildings: dict[Place, PlannedBuilding] = {}
    for row in rows:
        building = buildings.setdefault(row.place, PlannedBuilding(row.place, row))
        building.panoramas.extend(p for p in row.panoramas if p not in building.panoramas)
    for place, home in homes.items():
        buildings[place].nodes.append(dot_keys[home.id])
    for key, node in nodes.items():
        if key not in buildings[node.place].nodes:
            buildings[node.place].nodes.append(key)

    return Plan(installs, install_node, nodes, dot_keys, buildings, links, sectors, problems)
