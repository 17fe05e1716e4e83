"""The legacy map feeds (nodes / links / sectors), GeoJSON and KML, built set-based and cached.

Shapes and rules follow MeshDB's map serializers and views (`meshapi/serializers/map.py`,
`views/map.py`), which NYC Mesh's website map reads:

- nodes (`ipam.maps.nodes`): one row per install not Closed / NN Reassigned, `id` = install
  number, keys `id, name, status, coordinates, requestDate, installDate, roofAccess, notes,
  panoramas`; `name`, `status`, `installDate` and `notes` are left out when empty. A row is its
  node's "dot" when its number is the node's NN (or, for a node with no NN, its lowest install
  number): only a dot carries the node's name and sits at the node's own position. A node that
  is not Inactive and whose NN is no shown install number gets an extra row `id` = NN: status
  "NN assigned" when the node is Active, no status otherwise; an Inactive node gets none. Notes
  are synthetic, never the install's own: the node type on a non-Standard dot, plus "Omni" when
  a device on the node is named so. Active access points follow as dots of their own
  (`id` 1,000,000 + their UUID modulo a million, notes "AP").
- links (`ipam.maps.links`): recorded links (not Inactive, not touching an Inactive node, not
  within one NN, one per (from, to) pair), then cable runs, planned links from lines of sight
  and links to access points; 6 GHz counts as "60GHz" as the other millimetre bands do.
- sectors: sectors not Inactive on a node with an NN, `nodeId` = that NN, plus `device` = the
  sector's name (the legacy feed's key, which the NYC importer reads back).
- Status words go back through `ipam.imports.nycmesh_words`; dates are epoch ms (00:00 New
  York for calendar dates, computed in SQL); coordinates `[lon, lat, alt]`.

No member is ever read here: the queries select only install, building, node, device, link,
line-of-sight and sector columns that the public map already shows, so no name, email or
phone can leak (an install's own notes, unit and referral are never selected either).
`FeedCache` keeps the serialised bytes until the newest record change (every record change
writes an event; status events change nothing here), reading the version and the data in one
REPEATABLE READ snapshot; it also keeps
MeshDB's two KML files (`ipam.maps.whole_mesh`, `ipam.maps.active_mesh`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from ipam.enums import DeviceStatus
from ipam.imports.nycmesh_words import SECTOR_WORD_BACK
from ipam.maps import active_mesh, whole_mesh
from ipam.maps import kml_xml as k
from ipam.maps.links import link_rows
from ipam.maps.nodes import load_nodes, node_rows
from ipam.maps.sql import day_ms, fetch, number
from ipam.records import versions

LEGACY_FEEDS = ("nodes", "links", "sectors", "geojson", "kml")
MEDIA_TYPES = {
    "nodes": "application/json",
    "links": "application/json",
    "sectors": "application/json",
    "geojson": "application/geo+json",
    "kml": k.KML_MEDIA_TYPE,
    # MeshDB's geography views answer with the charset named.
    "whole-mesh.kml": f"{k.KML_MEDIA_TYPE}; charset=utf-8",
    "active-mesh.kml": f"{k.KML_MEDIA_TYPE}; charset=utf-8",
}
# MeshDB's geography files (`views/geography.py`, `views/active_mesh_kml.py`), each built from
# its own queries rather than from MapData.
DOCUMENTS: dict[str, Callable[[Connection], bytes]] = {
    "whole-mesh.kml": whole_mesh.document,
    "active-mesh.kml": active_mesh.document,
}
FEEDS = LEGACY_FEEDS + tuple(DOCUMENTS)

# MeshDB's MapDataSectorList: not Inactive, on a node with an NN.
_SECTORS = f"""
    SELECT n.network_number, s.radius, s.azimuth, s.width, d.status, d.name,
           {day_ms("d.install_date")}
    FROM sector s JOIN device d ON d.id = s.id JOIN node n ON n.id = d.node_id
    WHERE d.status <> '{DeviceStatus.INACTIVE.value}' AND n.network_number IS NOT NULL
    ORDER BY d.install_date DESC NULLS LAST, d.created, d.id
    """


@dataclass
class MapData:
    """The built feeds as plain lists and dicts, before serialisation."""

    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    points: list[dict[str, Any]]  # one per located node, for GeoJSON and KML
    positions: dict[int, list[Any]] = field(default_factory=dict)  # map id -> [lon, lat, alt]


def _sector_rows(conn: Connection) -> list[dict[str, Any]]:
    rows = []
    for nn, radius, azimuth, width, status, name, installed in fetch(conn, _SECTORS):
        row: dict[str, Any] = {
            "nodeId": nn,
            "radius": number(radius),
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
    """Every legacy feed from the database with set-based queries (never one per row)."""
    nodes = load_nodes(conn)
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
        nodes=node_rows(conn, nodes),
        links=link_rows(conn, nodes),
        sectors=_sector_rows(conn),
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
    "dead": "ff808080",
}


def kml(data: MapData) -> bytes:
    """Nodes as Placemark Points and links as Placemark LineStrings (OGC KML 2.2)."""
    root, doc = k.document()
    k.sub(doc, "name", "Mesh map")
    for status, colour in _KML_COLOURS.items():
        style = k.sub(doc, "Style", id=f"s-{status}")
        if status[0].isupper():
            k.sub(k.sub(style, "IconStyle"), "color", colour)
        else:
            line = k.sub(style, "LineStyle")
            k.sub(line, "color", colour)
            k.sub(line, "width", 2)
    folder = k.folder(doc, "Nodes")
    for point in data.points:
        mark = k.sub(folder, "Placemark", id=f"node-{point['id']}")
        label = f"NN {point['network_number']}" if point["network_number"] else f"#{point['id']}"
        k.sub(mark, "name", f"{label} {point['name']}" if point["name"] else label)
        k.sub(mark, "description", f"{point['type']}, {point['status']}")
        k.sub(mark, "styleUrl", f"#s-{point['status']}")
        lon, lat, alt = point["position"]
        coords = f"{lon},{lat},{alt}" if alt is not None else f"{lon},{lat}"
        k.sub(k.sub(mark, "Point"), "coordinates", coords)
    folder = k.folder(doc, "Links")
    for link, ends in _located_links(data):
        mark = k.sub(folder, "Placemark")
        k.sub(mark, "name", f"{link['from']} - {link['to']}")
        k.sub(mark, "styleUrl", f"#s-{link['status']}")
        coords = " ".join(f"{p[0]},{p[1]}" for p in ends)
        k.sub(k.sub(mark, "LineString"), "coordinates", coords)
    return k.to_bytes(root)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def serialise(data: MapData, name: str) -> bytes:
    """One feed as the bytes served."""
    if name == "kml":
        return kml(data)
    return _dumps(geojson(data) if name == "geojson" else getattr(data, name)).encode()


@dataclass
class _Slot:
    """Feeds built from one snapshot, behind their own lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    version: int = -1
    data: MapData | None = None
    bytes: dict[str, bytes] = field(default_factory=dict)

    def reset(self, version: int) -> None:
        """Forget what was built; `version` is what the next build will be."""
        self.version, self.data, self.bytes = version, None, {}


# The feeds show records only: a status event (a device down) rebuilds nothing.
_RECORD_VERSION = text(f"SELECT {versions.RECORDS}")


class FeedCache:
    """Built feeds for the newest record change; a new one means a rebuild on the next request."""

    def __init__(self) -> None:
        # The legacy feeds share one build; each KML document has a slot of its own, so a
        # whole-mesh rebuild (most of a second on NYC Mesh's data) never holds up the map.
        self._legacy = _Slot()
        self._documents = {name: _Slot() for name in DOCUMENTS}

    def get(self, engine: Engine, name: str) -> tuple[int, bytes]:
        """(version, bytes) of one feed, rebuilding when a record has changed since."""
        if name not in FEEDS:
            raise KeyError(name)
        slot = self._documents.get(name, self._legacy)
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            version = conn.scalar(_RECORD_VERSION) or 0
            # Held across the build: requests that arrive together wait for one rebuild.
            with slot.lock:
                if version > slot.version:
                    slot.reset(version)
                if name in slot.bytes:
                    # A request whose snapshot is older than the cache gets the newer data.
                    return slot.version, slot.bytes[name]
                # Kept only when built from the cached version's snapshot.
                keep = version == slot.version
                if name in DOCUMENTS:
                    body = DOCUMENTS[name](conn)
                else:
                    data = slot.data if keep and slot.data is not None else build(conn)
                    if keep:
                        slot.data = data
                    body = serialise(data, name)
                if keep:
                    slot.bytes[name] = body
                return version, body

    def clear(self) -> None:
        """Forget everything; the next request rebuilds."""
        for slot in (self._legacy, *self._documents.values()):
            with slot.lock:
                slot.reset(-1)
