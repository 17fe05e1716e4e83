"""`geography/active-mesh.kml`: the live and planned mesh, as MeshDB's `ActiveMeshKML` draws it.

MeshDB's `meshapi/views/active_mesh_kml.py` is the contract: one placemark per place (a
node's position, else its building's) for Active and Pending installs and for Active and
Planned nodes, filed by node type ("Standard Nodes" ... "Remote Nodes") or in "Planned
Nodes" when nothing there is live yet, coloured by type; links that are Active or Planned
(not VPN, both ends placed and numbered), one per pair of places (the fastest medium wins),
filed by medium or in "Planned Links". Opens on New York, as MeshDB's does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple
from xml.etree import ElementTree as ET

from sqlalchemy import Connection

from ipam.enums import InstallStatus, LinkStatus, LinkType, NodeStatus, NodeType
from ipam.maps import kml_xml as k
from ipam.maps.sql import fetch
from ipam.maps.whole_mesh import DEFAULT_ALTITUDE, GREY_DOT, node_label

# One dot for every node style, tinted by its IconStyle colour (MeshDB serves its own
# dot-100.png; meshkeeper ships no icons, so the dot its whole-mesh file uses).
DOT_ICON = GREY_DOT
PENDING_COLOR = "#FFFFFF"
# Node type -> (style id, colour, scale); the folder is "<type> Nodes", in this order.
NODE_STYLES: dict[str, tuple[str, str, float]] = {
    NodeType.STANDARD: ("red_dot", "#F82C55", 0.5),
    NodeType.HUB: ("hub_dot", "#5AC8FA", 0.75),
    NodeType.SUPERNODE: ("blue_dot", "#297AFE", 1.0),
    NodeType.POP: ("yellow_dot", "#F6BE00", 1.0),
    NodeType.AP: ("green_dot", "#38E708", 0.5),
    NodeType.REMOTE: ("purple_dot", "#800080", 0.5),
}
# The order MeshDB declares its dot styles in.
STYLE_ORDER = ("red_dot", "blue_dot", "hub_dot", "green_dot", "yellow_dot", "purple_dot")
WDS = "WDS (5 GHz)"
# Link medium -> colour, in MeshDB's folder order; the rank says which line of several
# between one pair of places is drawn (lowest wins).
LINK_TYPES = {
    "Other": ("#FFFFFF", 9),
    "VPN": ("#7F0093", 10),
    WDS: ("#293BFE", 8),
    "5 GHz": ("#2675f4", 7),
    "6 GHz": ("#26a2f4", 6),
    "24 GHz": ("#45dafc", 5),
    "60 GHz": ("#45fcf8", 4),
    "70-80 GHz": ("#45fcea", 3),
    "Fiber": ("#F6BE00", 1),
    "Ethernet": ("#A07B00", 2),
}
FIVE_GHZ = {LinkType.FIVE_GHZ, LinkType.FIVE_GHZ_AIRMAX, LinkType.FIVE_GHZ_WLAN4}
# MeshDB's initial view: midtown Manhattan from 80 km.
LOOK_AT = {
    "longitude": "-73.9857",
    "latitude": "40.7484",
    "altitude": "0",
    "heading": "0",
    "tilt": "0",
    "range": "80000",
    "altitudeMode": "relativeToGround",
}

_NODES = """
    SELECT id, network_number, name, status, type, longitude, latitude, altitude FROM node
    ORDER BY network_number NULLS LAST, id
    """
_INSTALLS = f"""
    SELECT i.install_number, i.status, i.install_date, i.node_id,
           b.longitude, b.latitude, b.altitude
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.status IN ('{InstallStatus.ACTIVE.value}', '{InstallStatus.PENDING.value}')
    ORDER BY i.install_number
    """
_LINKS = f"""
    SELECT l.status, l.type, l.install_date,
           fn.network_number, fn.name, fn.longitude, fn.latitude, fn.altitude,
           tn.network_number, tn.name, tn.longitude, tn.latitude, tn.altitude
    FROM link l
    JOIN device fd ON fd.id = l.from_device_id JOIN node fn ON fn.id = fd.node_id
    JOIN device td ON td.id = l.to_device_id JOIN node tn ON tn.id = td.node_id
    WHERE l.status IN ('{LinkStatus.ACTIVE.value}', '{LinkStatus.PLANNED.value}')
      AND fn.network_number IS NOT NULL AND tn.network_number IS NOT NULL
      AND fn.latitude IS NOT NULL AND fn.longitude IS NOT NULL
      AND tn.latitude IS NOT NULL AND tn.longitude IS NOT NULL
      AND l.type IS DISTINCT FROM '{LinkType.VPN.value}'
    ORDER BY greatest(fn.altitude, tn.altitude) ASC NULLS FIRST, l.id
    """


class _Node(NamedTuple):
    network_number: int | None
    name: str | None
    status: str
    type: str
    longitude: float | None
    latitude: float | None
    altitude: float | None


class _Install(NamedTuple):
    number: int
    status: str
    installed: date | None
    node: _Node | None


@dataclass
class _Place:
    """Everything MeshDB folds into one placemark at one position."""

    altitude: float
    node: _Node | None = None
    installs: list[_Install] = field(default_factory=list)
    active: bool = False
    pending: bool = False


def kml_color(hex_color: str) -> str:
    """ "#RRGGBB" as KML's opaque "ffBBGGRR"."""
    red, green, blue = hex_color[1:3], hex_color[3:5], hex_color[5:7]
    return f"ff{blue}{green}{red}"


def style_id(link_type: str) -> str:
    """A link medium's style id ("70-80 GHz" -> "70_80_GHz_line", as MeshDB names them)."""
    return f"{link_type.replace(' ', '_').replace('-', '_').replace('/', '_')}_line"


def link_kind(link_type: str | None) -> str:
    """A link's medium as the file groups it: WDS apart, the other 5 GHz kinds together."""
    if link_type == LinkType.FIVE_GHZ_WDS:
        return WDS
    if link_type in FIVE_GHZ:
        return LinkType.FIVE_GHZ.value
    return link_type or "Other"


def _styles(doc: ET.Element) -> None:
    by_id = {style: (colour, scale) for style, colour, scale in NODE_STYLES.values()}
    for style in STYLE_ORDER:
        colour, scale = by_id[style]
        k.icon_style(doc, style, DOT_ICON, kml_color(colour), scale)
    k.icon_style(doc, "white_dot", DOT_ICON, kml_color(PENDING_COLOR), 0.5)
    k.line_style(doc, "white_line", kml_color(PENDING_COLOR), 3)
    for link_type, (colour, _rank) in LINK_TYPES.items():
        k.line_style(doc, style_id(link_type), kml_color(colour), 3)


def _places(conn: Connection, nodes: dict[Any, _Node]) -> dict[tuple[float, float], _Place]:
    """Installs, then live and planned nodes, folded by position (first seen first)."""
    places: dict[tuple[float, float], _Place] = {}
    for number, status, installed, node_id, lon, lat, alt in fetch(conn, _INSTALLS):
        node = nodes.get(node_id)
        if node and node.latitude is not None and node.longitude is not None:
            key, altitude = (node.longitude, node.latitude), node.altitude
        else:
            key, altitude = (lon, lat), alt
        place = places.setdefault(key, _Place(float(altitude or DEFAULT_ALTITUDE)))
        place.installs.append(_Install(number, status, installed, node))
        place.active |= status == InstallStatus.ACTIVE
        place.pending |= status == InstallStatus.PENDING
        if node and node.network_number:
            place.node = node
    for node in nodes.values():
        # MeshDB also takes a Planned node with no NN here and names it "None"; one with
        # no number has nothing to be found by, so it shows only through its installs.
        if node.status not in (NodeStatus.ACTIVE, NodeStatus.PLANNED) or not node.network_number:
            continue
        if node.latitude is None or node.longitude is None:
            continue
        key = (node.longitude, node.latitude)
        if key not in places:
            places[key] = _Place(float(node.altitude or DEFAULT_ALTITUDE), node)
        place = places[key]
        place.node = place.node or node
        place.active |= node.status == NodeStatus.ACTIVE
        place.pending |= node.status == NodeStatus.PLANNED
    return places


def _node_marks(conn: Connection, nodes: dict[Any, _Node], nodes_folder: ET.Element) -> None:
    folders: dict[str, ET.Element] = {t: k.folder(nodes_folder, f"{t} Nodes") for t in NODE_STYLES}
    planned = k.folder(nodes_folder, "Planned Nodes")
    for (lon, lat), place in _places(conn, nodes).items():
        node: _Node | None = place.node
        if place.node:
            identifier = str(place.node.network_number)
            status, label = place.node.status, place.node.name or f"NN {identifier}"
        else:
            first = place.installs[0]
            node, identifier = first.node, f"#{first.number}"
            status = first.status
            label = (node.name if node else None) or f"Install {identifier}"
        node_type = (node.type if node else None) or NodeType.STANDARD
        active = [i for i in place.installs if i.status == InstallStatus.ACTIVE]
        numbers = [str(i.number) for i in active]
        numbers += [str(i.number) for i in place.installs if i.status == InstallStatus.PENDING]
        if place.pending and not place.active:
            folder, style = planned, "#white_dot"
        else:
            style_name = NODE_STYLES.get(node_type, NODE_STYLES[NodeType.STANDARD])[0]
            folder = folders.get(node_type, folders[NodeType.STANDARD])
            style = f"#{style_name}"
        data = {
            "name": label,
            "nodeType": node_type,
            "status": status,
            "id": identifier,
            "install_numbers": ",".join(numbers),
            "install_count": str(len(numbers)),
        }
        dates = [i.installed for i in active if i.installed]
        if dates:
            data["install_date"] = min(dates).isoformat()
        k.point(k.placemark(folder, identifier, style, data), (lon, lat, place.altitude))


def _links(conn: Connection) -> list[dict[str, Any]]:
    """One line per pair of places: of several, the first of the fastest medium."""
    chosen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for status, link_type, installed, *ends in fetch(conn, _LINKS):
        from_nn, from_name, *start = ends[:5]
        to_nn, to_name, *end = ends[5:]
        if from_nn == to_nn:
            continue  # a zero-length line within one node
        start[2], end[2] = start[2] or DEFAULT_ALTITUDE, end[2] or DEFAULT_ALTITUDE
        kind = link_kind(link_type)
        line: dict[str, Any] = {
            "label": f"{node_label(from_nn, from_name)}<->{node_label(to_nn, to_name)}",
            "ends": (tuple(start), tuple(end)),
            "rank": LINK_TYPES.get(kind, LINK_TYPES["Other"])[1],
            "data": {
                "type": kind,
                "raw_type": link_type,
                "status": status,
                "from": str(from_nn),
                "to": str(to_nn),
                "install_date": installed.isoformat() if installed else None,
            },
        }
        pair = tuple(sorted(line["ends"]))
        kept = chosen.setdefault(pair, line)
        if line["rank"] < kept["rank"]:
            chosen[pair] = line
    return list(chosen.values())


def _link_marks(conn: Connection, links_folder: ET.Element) -> None:
    folders = {t: k.folder(links_folder, t) for t in LINK_TYPES}
    planned = k.folder(links_folder, "Planned Links")
    for line in _links(conn):
        kind = line["data"]["type"] if line["data"]["type"] in LINK_TYPES else "Other"
        if line["data"]["status"] == LinkStatus.PLANNED:
            folder, style = planned, "#white_line"
        else:
            folder, style = folders[kind], f"#{style_id(kind)}"
        k.line(k.placemark(folder, line["label"], style, line["data"]), *line["ends"])


def document(conn: Connection) -> bytes:
    """The live and planned mesh as MeshDB's active-mesh.kml."""
    root, doc = k.document()
    look = k.sub(doc, "LookAt")
    for tag, value in LOOK_AT.items():
        k.sub(look, tag, value)
    _styles(doc)
    nodes = {row[0]: _Node(*row[1:]) for row in fetch(conn, _NODES)}
    _node_marks(conn, nodes, k.folder(doc, "Nodes"))
    _link_marks(conn, k.folder(doc, "Links"))
    return k.to_bytes(root)
