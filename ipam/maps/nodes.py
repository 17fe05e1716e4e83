"""The legacy nodes feed: install rows, a row for each live NN no install shows, access points.

MeshDB's `meshapi/views/map.py` (`MapDataNodeList`) and `serializers/map.py`
(`MapDataInstallSerializer`) decide every row; each rule below cites which part.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Connection

from ipam.enums import DeviceStatus, InstallStatus, NodeStatus, NodeType
from ipam.imports.nycmesh_words import INSTALL_WORD_BACK, NN_ASSIGNED
from ipam.maps.sql import day_ms, fetch, ms, number

# MeshDB's EXCLUDED_INSTALL_STATUSES (serializers/map.py): never a row of their own.
HIDDEN_INSTALLS = (InstallStatus.CLOSED.value, InstallStatus.NN_REASSIGNED.value)
# An access point's row id: MeshDB's convert_access_point_id_to_fake_node_number, above
# every install number so the map takes it for one more dot.
AP_ID_BASE = 1_000_000

_NODES = f"""
    SELECT n.id, n.network_number, n.name, n.status, n.type, n.latitude, n.longitude,
           n.altitude, {day_ms("n.install_date")}, mi.min_install,
           EXISTS (SELECT 1 FROM device d WHERE d.node_id = n.id AND d.name ILIKE '%omni%')
    FROM node n
    LEFT JOIN (SELECT node_id, min(install_number) AS min_install FROM install
               WHERE node_id IS NOT NULL GROUP BY node_id) mi ON mi.node_id = n.id
    """
# The install standing for a node in its NN row: MeshDB takes the first of the node's Active
# installs, else of all its installs, in Install's default order (highest number first).
_REPRESENTATIVES = f"""
    SELECT DISTINCT ON (i.node_id) i.node_id, {ms("i.request_date")}, i.roof_access,
           b.latitude, b.longitude, b.altitude, b.panoramas
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.node_id IS NOT NULL
    ORDER BY i.node_id, (i.status = 'Active') DESC, i.install_number DESC
    """
# Where a node with no install stands: its building (the one it is primary of first).
_NODE_BUILDINGS = """
    SELECT DISTINCT ON (nb.node_id) nb.node_id, b.latitude, b.longitude, b.altitude, b.panoramas
    FROM node_building nb JOIN building b ON b.id = nb.building_id
    ORDER BY nb.node_id, (b.primary_node_id IS NOT DISTINCT FROM nb.node_id) DESC, b.created
    """
_INSTALLS = f"""
    SELECT i.install_number, i.status, {ms("i.request_date")}, {day_ms("i.install_date")},
           i.roof_access, i.node_id, b.latitude, b.longitude, b.altitude,
           NULLIF(b.panoramas, '{{}}')
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.status <> ALL(%(hidden)s::text[])
    ORDER BY i.install_number
    """
# Active access points, in Device's default order (newest install date first).
_ACCESS_POINTS = f"""
    SELECT d.id, d.name, a.latitude, a.longitude, {day_ms("d.install_date")}
    FROM access_point a JOIN device d ON d.id = a.id
    WHERE d.status = '{DeviceStatus.ACTIVE.value}'
    ORDER BY d.install_date DESC NULLS LAST, d.id
    """


@dataclass
class MapNode:
    """What the feeds need of one node."""

    map_id: int | None  # NN, else lowest install number, else None (not on the map)
    network_number: int | None
    name: str | None
    status: str
    type: str
    position: list[Any] | None  # [lon, lat, alt]
    omni: bool
    install_date: int | None  # epoch ms
    representative: tuple[Any, ...] | None = None
    building: tuple[Any, ...] | None = None
    dot_notes: str | None = None  # the synthetic notes its dot shows
    notes: str | None = None  # ... and its other installs show


def ap_map_id(device_id: uuid.UUID) -> int:
    """The number an access point's dot and links carry (MeshDB's fake node number)."""
    return AP_ID_BASE + device_id.int % AP_ID_BASE


def load_nodes(conn: Connection) -> dict[Any, MapNode]:
    """Every node by id, with its map id, position and what its NN row would show."""
    nodes: dict[Any, MapNode] = {}
    for node_id, nn, name, status, type_, lat, lon, alt, installed, low, omni in fetch(
        conn, _NODES
    ):
        position = [lon, lat, number(alt)] if lat is not None and lon is not None else None
        map_id = nn if nn is not None else low
        nodes[node_id] = MapNode(map_id, nn, name, status, type_, position, omni, installed)
    for node_id, *rest in fetch(conn, _REPRESENTATIVES):
        nodes[node_id].representative = tuple(rest)
    for node_id, *rest in fetch(conn, _NODE_BUILDINGS):
        nodes[node_id].building = tuple(rest)
    for node in nodes.values():
        node.dot_notes, node.notes = _notes(node, True), _notes(node, False)
        if node.position is None:
            place = node.representative[2:5] if node.representative else node.building
            if place and place[0] is not None:
                node.position = [place[1], place[0], number(place[2])]
    return nodes


def _notes(node: MapNode, is_dot: bool) -> str | None:
    # MeshDB's get_synthetic_notes: the type on a non-Standard dot, "Omni" for an omni device.
    words = []
    if is_dot and node.type != NodeType.STANDARD:
        words.append(node.type)
    if node.omni:
        words.append("Omni")
    return " ".join(words) or None


def _panoramas(urls: list[str] | None) -> list[str]:
    """MeshDB stores panorama URLs; the map wants the file names."""
    return [os.path.basename(urlparse(url).path) if "/" in url else url for url in urls or ()]


def _install_rows(conn: Connection, nodes: dict[Any, MapNode]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number_, status, requested, installed, roof, node_id, lat, lon, alt, panos in fetch(
        conn, _INSTALLS, {"hidden": list(HIDDEN_INSTALLS)}
    ):
        node = nodes.get(node_id)
        is_dot = node is not None and node.map_id == number_
        row: dict[str, Any] = {"id": number_}
        if is_dot and node.name:  # type: ignore[union-attr]
            row["name"] = node.name  # type: ignore[union-attr]
        word = INSTALL_WORD_BACK.get(status, status)
        if word:
            row["status"] = word
        if is_dot and node.position:  # type: ignore[union-attr]
            row["coordinates"] = node.position  # type: ignore[union-attr]
        else:
            row["coordinates"] = [lon, lat, number(alt)]
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
    return rows


def _nn_row(node: MapNode, nn: int) -> dict[str, Any]:
    """The row MeshDB makes up for a node whose NN no shown install carries."""
    rep = node.representative
    panos = rep[5] if rep else (node.building[3] if node.building else None)
    row: dict[str, Any] = {"id": nn}
    if node.name:
        row["name"] = node.name
    # views/map.py: an "NN Reassigned" stand-in for an Active node ("NN assigned" on the
    # map), "Request Received" (no status key) for a Planned one.
    if node.status == NodeStatus.ACTIVE:
        row["status"] = NN_ASSIGNED
    row["coordinates"] = node.position
    # The representative's request date, else the node's install date, else the epoch.
    if rep:
        row["requestDate"] = rep[0]
    else:
        row["requestDate"] = node.install_date if node.install_date is not None else 0
    row["roofAccess"] = bool(rep[1]) if rep else True
    if node.dot_notes:
        row["notes"] = node.dot_notes
    row["panoramas"] = _panoramas(panos)
    return row


def _access_point_rows(conn: Connection) -> list[dict[str, Any]]:
    """views/map.py's rows for Active access points, keys in its order (dates last)."""
    rows = []
    for device_id, name, lat, lon, installed in fetch(conn, _ACCESS_POINTS):
        row: dict[str, Any] = {
            "id": ap_map_id(device_id),
            "name": name,
            "status": "Installed",
            "coordinates": [lon, lat, None],
            "roofAccess": False,
            "notes": "AP",
            "panoramas": [],
        }
        if installed is not None:
            row["requestDate"] = row["installDate"] = installed
        rows.append(row)
    return rows


def node_rows(conn: Connection, nodes: dict[Any, MapNode]) -> list[dict[str, Any]]:
    """The nodes feed: install and NN rows by id, then the access points."""
    rows = _install_rows(conn, nodes)
    shown = {row["id"] for row in rows}
    for node in nodes.values():
        nn = node.network_number
        # MeshDB leaves Inactive nodes out; a node placed nowhere cannot be drawn.
        if nn is None or nn in shown or node.status == NodeStatus.INACTIVE:
            continue
        if node.position is not None:
            rows.append(_nn_row(node, nn))
            shown.add(nn)
    rows.sort(key=lambda r: r["id"])
    return rows + _access_point_rows(conn)
