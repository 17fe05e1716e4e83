"""The legacy links feed: recorded links, cable runs, planned links from LOS, access point links.

Every rule follows MeshDB's `meshapi/views/map.py` (`MapDataLinkList`) and the status words
its `MapDataLinkSerializer` (`serializers/map.py`) gives; the four parts are served in
MeshDB's order. `from` / `to` are map ids: a node's NN (lowest install number for a node with
no NN), an install number, or an access point's made-up number.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection

from ipam.enums import InstallStatus, LinkStatus, LinkType, NodeStatus
from ipam.imports.nycmesh_words import MMWAVE
from ipam.maps.nodes import MapNode, ap_map_id
from ipam.maps.sql import day_ms, fetch

_INACTIVE = NodeStatus.INACTIVE.value
# Recorded links: not Inactive, neither end on an Inactive node, not within one NN, and one
# link (the lowest id) per (from NN, to NN) pair; links with an end of no NN are all kept.
_LINKS = f"""
    SELECT status, type, installed, from_node, to_node FROM (
        SELECT l.id, l.status, l.type, {day_ms("l.install_date")} AS installed,
               fd.node_id AS from_node, td.node_id AS to_node,
               fn.network_number AS from_nn, tn.network_number AS to_nn,
               row_number() OVER (PARTITION BY fn.network_number, tn.network_number
                                  ORDER BY l.id) AS nth
        FROM link l
        JOIN device fd ON fd.id = l.from_device_id JOIN node fn ON fn.id = fd.node_id
        JOIN device td ON td.id = l.to_device_id JOIN node tn ON tn.id = td.node_id
        WHERE l.status <> '{LinkStatus.INACTIVE.value}'
          AND fn.status <> '{_INACTIVE}' AND tn.status <> '{_INACTIVE}'
    ) k
    WHERE from_nn IS NULL OR to_nn IS NULL OR (from_nn <> to_nn AND nth = 1)
    ORDER BY from_nn, to_nn, id
    """
# Cable runs: a live node standing on several buildings is joined to the lowest Active install
# of each of its other buildings.
_CABLE_RUNS = f"""
    WITH spread AS (
        SELECT n.id, n.network_number FROM node n JOIN node_building nb ON nb.node_id = n.id
        WHERE n.status <> '{_INACTIVE}' AND n.network_number IS NOT NULL
        GROUP BY n.id HAVING count(*) > 1
    )
    SELECT first.install_number, s.network_number
    FROM spread s
    JOIN node_building nb ON nb.node_id = s.id
    CROSS JOIN LATERAL (
        SELECT min(i.install_number) AS install_number FROM install i
        WHERE i.building_id = nb.building_id AND i.status = '{InstallStatus.ACTIVE.value}'
    ) first
    WHERE first.install_number <> s.network_number
    ORDER BY s.network_number, nb.building_id
    """
# The lines of sight MeshDB draws (views/map.py, views/geography.py), as a condition on `los s`:
# between two buildings that both have installs (any status), where no link (any status)
# joins a node of one to a node of the other.
LOS_SHOWN = """
    s.from_building_id <> s.to_building_id
    AND EXISTS (SELECT 1 FROM install i WHERE i.building_id = s.from_building_id)
    AND EXISTS (SELECT 1 FROM install i WHERE i.building_id = s.to_building_id)
    AND NOT EXISTS (
        SELECT 1 FROM link k
        JOIN device fd ON fd.id = k.from_device_id
        JOIN node_building fb ON fb.node_id = fd.node_id
        JOIN device td ON td.id = k.to_device_id
        JOIN node_building tb ON tb.node_id = td.node_id
        WHERE (fb.building_id = s.from_building_id AND tb.building_id = s.to_building_id)
           OR (fb.building_id = s.to_building_id AND tb.building_id = s.from_building_id))
    """
# ... one per (from, to) pair, the lowest id, for the links feed.
_LOSES = f"""
    SELECT from_building_id, to_building_id FROM (
        SELECT DISTINCT ON (s.from_building_id, s.to_building_id)
               s.id, s.from_building_id, s.to_building_id
        FROM los s WHERE {LOS_SHOWN}
        ORDER BY s.from_building_id, s.to_building_id, s.id
    ) first
    ORDER BY id
    """
# Every number a building answers to: its installs' (any status) and its nodes' NNs.
_BUILDING_NUMBERS = """
    SELECT building_id, install_number FROM install WHERE building_id = ANY(%(ids)s)
    UNION
    SELECT nb.building_id, n.network_number FROM node_building nb JOIN node n ON n.id = nb.node_id
    WHERE n.network_number IS NOT NULL AND nb.building_id = ANY(%(ids)s)
    """
# Links (any status) with an access point at one end or both.
_AP_LINKS = """
    SELECT l.status, l.type, fa.id, fn.network_number, ta.id, tn.network_number
    FROM link l
    JOIN device fd ON fd.id = l.from_device_id JOIN node fn ON fn.id = fd.node_id
    JOIN device td ON td.id = l.to_device_id JOIN node tn ON tn.id = td.node_id
    LEFT JOIN access_point fa ON fa.id = l.from_device_id
    LEFT JOIN access_point ta ON ta.id = l.to_device_id
    WHERE fa.id IS NOT NULL OR ta.id IS NOT NULL
    ORDER BY l.id
    """


def link_word(status: str, link_type: str | None) -> str:
    """A link's legacy status word (MeshDB: planned / dead / fiber / vpn / 60GHz / active)."""
    if status == LinkStatus.PLANNED:
        return "planned"
    if status == LinkStatus.INACTIVE:
        return "dead"
    if link_type == LinkType.FIBER:
        return "fiber"
    if link_type == LinkType.VPN:
        return "vpn"
    if link_type in MMWAVE or link_type == LinkType.SIX_GHZ:
        return "60GHz"  # MeshDB's map serializer counts 6 GHz with the millimetre bands
    return "active"


def _recorded(conn: Connection, nodes: dict[Any, MapNode]) -> list[dict[str, Any]]:
    rows = []
    for status, link_type, installed, from_node, to_node in fetch(conn, _LINKS):
        a, b = nodes[from_node].map_id, nodes[to_node].map_id
        # MeshDB would write null for an end with neither NN nor install: nothing to draw.
        if a is None or b is None:
            continue
        row: dict[str, Any] = {"from": a, "to": b, "status": link_word(status, link_type)}
        if installed is not None:
            row["installDate"] = installed
        rows.append(row)
    return rows


def _cable_runs(conn: Connection, covered: set[tuple[int, int]]) -> list[dict[str, Any]]:
    # MeshDB counts a node's buildings through a second join that can inflate the count (a
    # node on one building shared with another NN passes); meshkeeper counts buildings.
    return [
        {"from": install, "to": nn, "status": "active"}
        for install, nn in fetch(conn, _CABLE_RUNS)
        if (install, nn) not in covered
    ]


def _planned_from_los(conn: Connection) -> list[dict[str, Any]]:
    loses = fetch(conn, _LOSES)
    if not loses:
        return []
    ids = list({b for pair in loses for b in pair})
    numbers: dict[Any, set[int]] = defaultdict(set)
    for building_id, value in fetch(conn, _BUILDING_NUMBERS, {"ids": ids}):
        numbers[building_id].add(value)
    # Every number of one building to every number of the other (MeshDB's cross product).
    return [
        {"from": a, "to": b, "status": "planned"}
        for from_building, to_building in loses
        for a in sorted(numbers[from_building])
        for b in sorted(numbers[to_building])
    ]


def _access_point_links(conn: Connection) -> list[dict[str, Any]]:
    rows = []
    for status, link_type, from_ap, from_nn, to_ap, to_nn in fetch(conn, _AP_LINKS):
        a = ap_map_id(from_ap) if from_ap else from_nn
        b = ap_map_id(to_ap) if to_ap else to_nn
        if a is None or b is None:
            continue  # a node with no NN: MeshDB would write null
        rows.append({"from": a, "to": b, "status": link_word(status, link_type)})
    return rows


def link_rows(conn: Connection, nodes: dict[Any, MapNode]) -> list[dict[str, Any]]:
    """The links feed: recorded links, cable runs, planned links from LOS, AP links."""
    rows = _recorded(conn, nodes)
    covered = {(row["from"], row["to"]) for row in rows}
    return rows + _cable_runs(conn, covered) + _planned_from_los(conn) + _access_point_links(conn)
