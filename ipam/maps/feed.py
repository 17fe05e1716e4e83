"""The legacy map feeds (nodes / links / sectors), GeoJSON and KML, built set-based and cached.

Shapes follow MeshDB's map serializers (`meshapi/serializers/map.py`, `views/map.py`), which
NYC Mesh's website map reads:

- nodes: one row per install not Closed / NN Reassigned, `id` = install number, keys `id,
  name, status, coordinates, requestDate, installDate, roofAccess, notes, panoramas`;
  `name`, `status`, `installDate` and `notes` are left out when empty. A row is its node's
  "dot" when its number is the node's NN (or, for a node with no NN, its lowest install
  number): only a dot carries the node's name and sits at the node's own position. Every
  node whose NN is no shown install number gets an extra row `id` = NN, status "NN assigned"
  (MeshDB shows it only for live nodes; here every located node gets one, so a feed served
  and imported again gives the same nodes). Notes are synthetic, never the install's own:
  the node type on a non-Standard dot, plus "Omni" when a device on the node is named so.
- links: `from` / `to` are the ends' NNs (lowest install number for a node with no NN);
  Inactive links, links touching an Inactive node, links within one node and repeats of a
  (from, to) pair are left out; 6 GHz counts as "60GHz" as the other millimetre bands do.
- sectors: every sector, `nodeId` as above, `device` = the sector's name.
- Status words go back through `ipam.imports.nycmesh_words`; dates are epoch ms (00:00 New York for
  calendar dates, computed in SQL); coordinates `[lon, lat, alt]`.

No member is ever read here: the queries select only install, building, node, device, link
and sector columns that the public map already shows, so no name, email or phone can leak
(an install's own notes, unit and referral are never selected either). Six set-based
queries build everything. `FeedCache` keeps the serialised bytes until the newest event id
changes (every change writes an event), reading the version and the data in one
REPEATABLE READ snapshot.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

from sqlalchemy import Connection, Engine, text

from ipam.enums import InstallStatus, LinkStatus, LinkType, NodeStatus, NodeType
from ipam.imports.nycmesh_words import (
    INSTALL_WORD_BACK,
    MMWAVE,
    NEW_YORK,
    NN_ASSIGNED,
    SECTOR_WORD_BACK,
)

FEEDS = ("nodes", "links", "sectors", "geojson", "kml")
MEDIA_TYPES = {
    "nodes": "application/json",
    "links": "application/json",
    "sectors": "application/json",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
}
HIDDEN_INSTALLS = (InstallStatus.CLOSED.value, InstallStatus.NN_REASSIGNED.value)


# Epoch ms computed by PostgreSQL: ten times faster than datetime.timestamp() per row, and a
# calendar date is 00:00 New York (see ipam.imports.nycmesh_words.date_to_ms, which this matches).
def _ms(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000)::bigint"


def _day_ms(column: str) -> str:
    return f"(extract(epoch FROM {column}::timestamp AT TIME ZONE '{NEW_YORK.key}') * 1000)::bigint"


_NODES = f"""
    SELECT n.id, n.network_number, n.name, n.status, n.type, n.latitude, n.longitude,
           n.altitude, {_ms("n.created")}, mi.min_install,
           EXISTS (SELECT 1 FROM device d WHERE d.node_id = n.id AND d.name ILIKE '%omni%')
    FROM node n
    LEFT JOIN (SELECT node_id, min(install_number) AS min_install FROM install
               WHERE node_id IS NOT NULL GROUP BY node_id) mi ON mi.node_id = n.id
    """
# The install standing for a node in its extra row: an Active one first (MeshDB's choice).
_REPRESENTATIVES = f"""
    SELECT DISTINCT ON (i.node_id) i.node_id, {_ms("i.request_date")}, i.roof_access,
           b.latitude, b.longitude, b.altitude, b.panoramas
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.node_id IS NOT NULL
    ORDER BY i.node_id, (i.status = 'Active') DESC, i.install_number
    """
# Where a node with no install stands: its building (the one it is primary of first).
_NODE_BUILDINGS = """
    SELECT DISTINCT ON (nb.node_id) nb.node_id, b.latitude, b.longitude, b.altitude, b.panoramas
    FROM node_building nb JOIN building b ON b.id = nb.building_id
    ORDER BY nb.node_id, (b.primary_node_id IS NOT DISTINCT FROM nb.node_id) DESC, b.created
    """
_INSTALLS = f"""
    SELECT i.install_number, i.status, {_ms("i.request_date")}, {_day_ms("i.install_date")},
           i.roof_access, i.node_id, b.latitude, b.longitude, b.altitude,
           NULLIF(b.panoramas, '{{}}')
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.status <> ALL(%(hidden)s::text[])
    ORDER BY i.install_number
    """
_LINKS = f"""
    SELECT l.status, l.type, {_day_ms("l.install_date")}, fd.node_id, td.node_id
    FROM link l
    JOIN device fd ON fd.id = l.from_device_id
    JOIN device td ON td.id = l.to_device_id
    WHERE l.status <> 'Inactive'
    ORDER BY l.created, l.id
    """
_SECTORS = f"""
    SELECT d.node_id, s.radius, s.azimuth, s.width, d.status, d.name, {_day_ms("d.install_date")}
    FROM sector s JOIN device d ON d.id = s.id
    ORDER BY d.created, d.id
    """


def _rows(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """All rows of one query in the caller's transaction, in PostgreSQL's binary format."""
    # Binary decoding of the install query's floats, numbers and arrays costs half of text's.
    raw = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(sql, params)
        return cursor.fetchall()


def _num(value: float | None) -> float | int | None:
    """A float that is a whole number as an int, as the legacy feed writes it."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _panoramas(urls: list[str] | None) -> list[str]:
    """MeshDB stores panorama URLs; the map wants the file names."""
    return [os.path.basename(urlparse(url).path) if "/" in url else url for url in urls or ()]


def link_word(status: str, link_type: str | None) -> str:
    """A link's legacy status word (MeshDB: planned / active / 60GHz / vpn / fiber)."""
    if status != LinkStatus.ACTIVE:
        return status.lower()
    if link_type == LinkType.FIBER:
        return "fiber"
    if link_type == LinkType.VPN:
        return "vpn"
    if link_type in MMWAVE or link_type == LinkType.SIX_GHZ:
        return "60GHz"  # MeshDB's map serializer counts 6 GHz with the millimetre bands
    return "active"


@dataclass
class _Node:
    """What the feeds need of one node."""

    map_id: int | None  # NN, else lowest install number, else None (not on the map)
    network_number: int | None
    name: str | None
    status: str
    type: str
    position: list[Any] | None  # [lon, lat, alt]
    omni: bool
    created: Any
    representative: tuple[Any, ...] | None = None
    building: tuple[Any, ...] | None = None
    dot_notes: str | None = None  # the synthetic notes its dot shows
    notes: str | None = None  # ... and its other installs show


@dataclass
class MapData:
    """The built feeds as plain lists and dicts, before serialisation."""

    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    points: list[dict[str, Any]]  # one per located node, for GeoJSON and KML
    positions: dict[int, list[Any]] = field(default_factory=dict)  # map id -> [lon, lat, alt]


def _load_nodes(conn: Connection) -> dict[Any, _Node]:
    nodes: dict[Any, _Node] = {}
    for node_id, nn, name, status, type_, lat, lon, alt, created, low, omni in _rows(conn, _NODES):
        position = [lon, lat, _num(alt)] if lat is not None and lon is not None else None
        map_id = nn if nn is not None else low
        nodes[node_id] = _Node(map_id, nn, name, status, type_, position, omni, created)
    for node_id, *rest in _rows(conn, _REPRESENTATIVES):
        nodes[node_id].representative = tuple(rest)
    for node_id, *rest in _rows(conn, _NODE_BUILDINGS):
        nodes[node_id].building = tuple(rest)
    for node in nodes.values():
        node.dot_notes, node.notes = _notes(node, True), _notes(node, False)
        if node.position is None:
            place = node.representative[2:5] if node.representative else node.building
            if place and place[0] is not None:
                node.position = [place[1], place[0], _num(place[2])]
    return nodes


def _notes(node: _Node, is_dot: bool) -> str | None:
    words = []
    if is_dot and node.type != NodeType.STANDARD:
        words.append(node.type)
    if node.omni:
        words.append("Omni")
    return " ".join(words) or None


def _node_rows(conn: Connection, nodes: dict[Any, _Node]) -> list[dict[str, Any]]:
    """The nodes feed in id order: install rows, then an extra row for each other NN."""
    rows: list[dict[str, Any]] = []
    shown: set[int] = set()
    words = INSTALL_WORD_BACK
    for number, status, requested, installed, roof, node_id, lat, lon, alt, panos in _rows(
        conn, _INSTALLS, {"hidden": list(HIDDEN_INSTALLS)}
    ):
        node = nodes.get(node_id)
        is_dot = node is not None and node.map_id == number
        row: dict[str, Any] = {"id": number}
        if is_dot and node.name:  # type: ignore[union-attr]
            row["name"] = node.name  # type: ignore[union-attr]
        word = words.get(status, status)
        if word:
            row["status"] = word
        if is_dot and node.position:  # type: ignore[union-attr]
            row["coordinates"] = node.position  # type: ignore[union-attr]
        else:
            row["coordinates"] = [lon, lat, _num(alt)]
        row["requestDate"] = requested
        if installed is not None:
            row["installDate"] = installed
        row["roofAccess"] = roof
        if node is not None:
            notes = node.dot_notes if is_dot else node.notes
            if notes:
                row["notes"] = notes
        row["panoramas"] = _panoramas(panos) if panos else []
        rows.append(row)
        shown.add(number)
    for node in nodes.values():
        nn = node.network_number
        if nn is None or nn in shown or node.position is None:
            continue
        rep = node.representative
        panos = rep[5] if rep else (node.building[3] if node.building else None)
        row = {"id": nn}
        if node.name:
            row["name"] = node.name
        row["status"] = NN_ASSIGNED
        row["coordinates"] = node.position
        row["requestDate"] = rep[0] if rep else node.created
        row["roofAccess"] = bool(rep[1]) if rep else False
        if node.dot_notes:
            row["notes"] = node.dot_notes
        row["panoramas"] = _panoramas(panos)
        rows.append(row)
    rows.sort(key=lambda r: r["id"])
    return rows


def _link_rows(conn: Connection, nodes: dict[Any, _Node]) -> list[dict[str, Any]]:
    rows = []
    seen: set[tuple[int, int]] = set()
    for status, link_type, installed, from_node, to_node in _rows(conn, _LINKS):
        if NodeStatus.INACTIVE in (nodes[from_node].status, nodes[to_node].status):
            continue  # MeshDB's views/map.py leaves out links that touch an Inactive node
        a, b = nodes[from_node].map_id, nodes[to_node].map_id
        # MeshDB shows one line per (from, to) pair; a link within a node draws nothing.
        if a is None or b is None or a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        row: dict[str, Any] = {"from": a, "to": b, "status": link_word(status, link_type)}
        if installed is not None:
            row["installDate"] = installed
        rows.append(row)
    return rows


def _sector_rows(conn: Connection, nodes: dict[Any, _Node]) -> list[dict[str, Any]]:
    rows = []
    for node_id, radius, azimuth, width, status, name, installed in _rows(conn, _SECTORS):
        map_id = nodes[node_id].map_id
        if map_id is None:
            continue
        row: dict[str, Any] = {
            "nodeId": map_id,
            "radius": _num(radius),
            "azimuth": azimuth,
            "width": width,
            "status": SECTOR_WORD_BACK.get(status, str(status).lower()),
            "device": name,
        }
        if installed is not None:
            row["installDate"] = installed
        rows.append(row)
    return rows


def build(conn: Connection) -> MapData:
    """Every feed from the database with six set-based queries (never one per row)."""
    nodes = _load_nodes(conn)
    points = []
    positions: dict[int, list[Any]] = {}
    for node in sorted(nodes.values(), key=lambda n: (n.map_id is None, n.map_id or 0)):
        if node.map_id is None or node.position is None:
            continue
        positions[node.map_id] = node.position
        points.append(
            {
                "id": node.map_id,
                "network_number": node.network_number,
                "name": node.name,
                "status": node.status,
                "type": node.type,
                "position": node.position,
            }
        )
    return MapData(
        nodes=_node_rows(conn, nodes),
        links=_link_rows(conn, nodes),
        sectors=_sector_rows(conn, nodes),
        points=points,
        positions=positions,
    )


def _geometry_position(position: list[Any]) -> list[Any]:
    return position if position[2] is not None else position[:2]


def _located_links(data: MapData) -> list[tuple[dict[str, Any], tuple[list[Any], list[Any]]]]:
    """Links whose two ends have a position, with those positions."""
    found = []
    for link in data.links:
        a, b = data.positions.get(link["from"]), data.positions.get(link["to"])
        if a is not None and b is not None:
            found.append((link, (a, b)))
    return found


def geojson(data: MapData) -> dict[str, Any]:
    """Nodes as Points and links as LineStrings (RFC 7946: [lon, lat(, alt)])."""
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "id": f"node-{point['id']}",
            "geometry": {"type": "Point", "coordinates": _geometry_position(point["position"])},
            "properties": {"kind": "node", **{k: v for k, v in point.items() if k != "position"}},
        }
        for point in data.points
    ]
    for link, ends in _located_links(data):
        features.append(
            {
                "type": "Feature",
                "id": f"link-{link['from']}-{link['to']}",
                "geometry": {"type": "LineString", "coordinates": [p[:2] for p in ends]},
                "properties": {"kind": "link", **link},
            }
        )
    return {"type": "FeatureCollection", "features": features}


_KML_COLOURS = {  # aabbggrr
    "Active": "ff00c000",
    "Planned": "ff00a5ff",
    "Inactive": "ff808080",
    "active": "ff00c000",
    "60GHz": "ffffff00",
    "vpn": "ffff00ff",
    "fiber": "ff0000ff",
    "planned": "ff00a5ff",
}


# Characters XML 1.0 allows (section 2.2): a name with another control character (a node
# named through the API can hold any) would make the whole feed unparseable for everyone.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """A value as XML character data: characters XML 1.0 forbids become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(value))


def kml(data: MapData) -> bytes:
    """Nodes as Placemark Points and links as Placemark LineStrings (OGC KML 2.2)."""
    root = ET.Element("kml", xmlns="http://www.opengis.net/kml/2.2")
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = "Mesh map"
    for status, colour in _KML_COLOURS.items():
        style = ET.SubElement(doc, "Style", id=f"s-{status}")
        if status[0].isupper():
            ET.SubElement(ET.SubElement(style, "IconStyle"), "color").text = colour
        else:
            line = ET.SubElement(style, "LineStyle")
            ET.SubElement(line, "color").text = colour
            ET.SubElement(line, "width").text = "2"
    folder = ET.SubElement(doc, "Folder")
    ET.SubElement(folder, "name").text = "Nodes"
    for point in data.points:
        mark = ET.SubElement(folder, "Placemark", id=f"node-{point['id']}")
        label = f"NN {point['network_number']}" if point["network_number"] else f"#{point['id']}"
        name = f"{label} {point['name']}" if point["name"] else label
        ET.SubElement(mark, "name").text = xml_text(name)
        ET.SubElement(mark, "description").text = xml_text(f"{point['type']}, {point['status']}")
        ET.SubElement(mark, "styleUrl").text = f"#s-{point['status']}"
        lon, lat, alt = point["position"]
        coords = f"{lon},{lat},{alt}" if alt is not None else f"{lon},{lat}"
        ET.SubElement(ET.SubElement(mark, "Point"), "coordinates").text = coords
    folder = ET.SubElement(doc, "Folder")
    ET.SubElement(folder, "name").text = "Links"
    for link, ends in _located_links(data):
        mark = ET.SubElement(folder, "Placemark")
        ET.SubElement(mark, "name").text = xml_text(f"{link['from']} - {link['to']}")
        ET.SubElement(mark, "styleUrl").text = f"#s-{link['status']}"
        line = ET.SubElement(mark, "LineString")
        ET.SubElement(line, "coordinates").text = " ".join(f"{p[0]},{p[1]}" for p in ends)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def serialise(data: MapData, name: str) -> bytes:
    """One feed as the bytes served."""
    if name == "kml":
        return kml(data)
    return _dumps(geojson(data) if name == "geojson" else getattr(data, name)).encode()


class FeedCache:
    """Built feeds for the newest event id; a new event means a rebuild on the next request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._data: MapData | None = None
        self._bytes: dict[str, bytes] = {}

    def get(self, engine: Engine, name: str) -> tuple[int, bytes]:
        """(version, bytes) of one feed, rebuilding when an event has been written since."""
        if name not in FEEDS:
            raise KeyError(name)
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            version = conn.scalar(text("SELECT coalesce(max(id), 0) FROM event")) or 0
            # Held across the build: requests that arrive together wait for one rebuild.
            with self._lock:
                # A request whose snapshot is older than the cache is served the newer data.
                if self._data is None or version > self._version:
                    self._data = build(conn)
                    self._bytes = {}
                    self._version = version
                if name not in self._bytes:
                    self._bytes[name] = serialise(self._data, name)
                return self._version, self._bytes[name]

    def clear(self) -> None:
        """Forget everything; the next request rebuilds."""
        with self._lock:
            self._version, self._data, self._bytes = -1, None, {}
