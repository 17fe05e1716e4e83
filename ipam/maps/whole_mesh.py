"""`geography/whole-mesh.kml`: every install, node and link, as MeshDB's `WholeMeshKML` draws it.

MeshDB's `meshapi/views/geography.py` is the contract: styles `grey_dot`, `red_dot`, `red_line`,
`grey_line`, `dark_grey_line`; a Nodes folder with Active and Inactive folders, each split by
borough (the building's city; anything else is "Other"); a Links folder with Active and
Inactive. Installs (not Closed / NN Reassigned) are placemarks named by install number, with
one more placemark per NN (at the node) in the folder of the first install that reaches it.
Links (not Inactive, not VPN, both ends with an NN) and lines of sight between buildings with
installs that no link already joins follow, lowest first (the higher end's altitude), so the
higher lines draw on top. Public like the map feeds: no member column is read; a line of
sight names its buildings' street addresses, as MeshDB's does.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy import Connection

from ipam.enums import InstallStatus, LinkStatus, LinkType
from ipam.maps import kml_xml as k
from ipam.maps.links import LOS_SHOWN
from ipam.maps.nodes import HIDDEN_INSTALLS, MapNode, load_nodes
from ipam.maps.sql import fetch

DEFAULT_ALTITUDE = 5  # metres, absolute: MeshDB's stand-in for an unknown altitude
ACTIVE_COLOR, INACTIVE_COLOR, POTENTIAL_COLOR = "#F00", "#777", "#CCC"
GREY_DOT = "http://maps.google.com/mapfiles/kml/shapes/shaded_dot.png"
RED_DOT = "http://maps.google.com/mapfiles/kml/paddle/red-circle.png"
# Building city -> borough folder, in MeshDB's order; any other city goes to "Other".
CITY_FOLDERS = {
    "New York": "Manhattan",
    "Brooklyn": "Brooklyn",
    "Queens": "Queens",
    "Bronx": "The Bronx",
    "Staten Island": "Staten Island",
}
OTHER = "Other"

_INSTALLS = """
    SELECT i.install_number, i.status, i.roof_access, i.node_id,
           b.longitude, b.latitude, b.altitude, b.city
    FROM install i JOIN building b ON b.id = i.building_id
    WHERE i.status <> ALL(%(hidden)s::text[])
    ORDER BY i.install_number
    """
_LINKS = f"""
    SELECT l.id, l.status, l.type, fd.node_id, td.node_id
    FROM link l
    JOIN device fd ON fd.id = l.from_device_id JOIN node fn ON fn.id = fd.node_id
    JOIN device td ON td.id = l.to_device_id JOIN node tn ON tn.id = td.node_id
    WHERE l.status <> '{LinkStatus.INACTIVE.value}'
      AND fn.network_number IS NOT NULL AND tn.network_number IS NOT NULL
      AND l.type IS DISTINCT FROM '{LinkType.VPN.value}'
    ORDER BY greatest(fn.altitude, tn.altitude) ASC NULLS FIRST, l.id
    """
# Each end's representative is its building's lowest install number (any status).
_LOSES = f"""
    SELECT s.id, s.source,
           fb.longitude, fb.latitude, fb.altitude, fb.street_address,
           (SELECT min(i.install_number) FROM install i WHERE i.building_id = fb.id),
           tb.longitude, tb.latitude, tb.altitude, tb.street_address,
           (SELECT min(i.install_number) FROM install i WHERE i.building_id = tb.id)
    FROM los s
    JOIN building fb ON fb.id = s.from_building_id JOIN building tb ON tb.id = s.to_building_id
    WHERE {LOS_SHOWN}
    ORDER BY greatest(fb.altitude, tb.altitude) ASC NULLS FIRST, s.id
    """


def node_label(network_number: int | None, name: str | None) -> str:
    """How MeshDB's Node.__str__ names a node with an NN: "NN12 (name)", else "NN12"."""
    return f"NN{network_number} ({name})" if name else f"NN{network_number}"


def _at(lon: float, lat: float, alt: float | None) -> k.Position:
    return (lon, lat, alt or DEFAULT_ALTITUDE)


def _node_at(node: MapNode) -> k.Position | None:
    return _at(*node.position) if node.position else None


def _dot(
    parent: ET.Element,
    name: str,
    where: k.Position,
    active: bool,
    status: str,
    roof_access: bool,
) -> None:
    """One point placemark with MeshDB's ExtendedData (never the install's notes)."""
    data = {
        "name": name,
        "roofAccess": str(roof_access),
        "marker-color": ACTIVE_COLOR if active else INACTIVE_COLOR,
        "id": name,
        "status": status,
    }
    k.point(k.placemark(parent, name, "#red_dot" if active else "#grey_dot", data), where)


def _styles(doc: ET.Element) -> None:
    k.icon_style(doc, "grey_dot", GREY_DOT)
    k.icon_style(doc, "red_dot", RED_DOT)
    k.line_style(doc, "red_line", "ff0000ff", 2)
    k.line_style(doc, "grey_line", "ffcccccc", 2)
    k.line_style(doc, "dark_grey_line", "ff777777", 2)


def _borough_folders(parent: ET.Element) -> dict[str, ET.Element]:
    folders = {city: k.folder(parent, borough) for city, borough in CITY_FOLDERS.items()}
    folders[OTHER] = k.folder(parent, OTHER)
    return folders


def _nodes(conn: Connection, nodes_folder: ET.Element, nodes: dict[Any, MapNode]) -> None:
    active = _borough_folders(k.folder(nodes_folder, "Active"))
    inactive = _borough_folders(k.folder(nodes_folder, "Inactive"))
    mapped: set[int] = set()
    rows = fetch(conn, _INSTALLS, {"hidden": list(HIDDEN_INSTALLS)})
    for number, status, roof, node_id, lon, lat, alt, city in rows:
        is_active = status == InstallStatus.ACTIVE
        folder = (active if is_active else inactive)[city if city in CITY_FOLDERS else OTHER]
        _dot(folder, str(number), _at(lon, lat, alt), is_active, status, roof)
        # One more placemark per NN, beside the first install that reaches it (easy to search).
        node = nodes.get(node_id)
        nn = node.network_number if node else None
        where = _node_at(node) if node else None
        if node and nn and nn not in mapped and where:
            _dot(folder, str(nn), where, False, node.status, False)
            mapped.add(nn)


def _link_marks(conn: Connection, nodes: dict[Any, MapNode]) -> list[tuple[bool, dict[str, Any]]]:
    """(active, what to draw) for each link, then each line of sight no link already shows."""
    marks = []
    pairs: set[tuple[int, int]] = set()
    for link_id, status, link_type, from_id, to_id in fetch(conn, _LINKS):
        a, b = nodes[from_id], nodes[to_id]
        ends = (_node_at(a), _node_at(b))
        if a.network_number is None or b.network_number is None or None in ends:
            continue
        active = status == LinkStatus.ACTIVE
        label = f"{node_label(a.network_number, a.name)}-{node_label(b.network_number, b.name)}"
        pairs.add(
            (min(a.network_number, b.network_number), max(a.network_number, b.network_number))
        )
        data = {
            "name": f"Links-{link_id}-{label}",
            "stroke": ACTIVE_COLOR if active else INACTIVE_COLOR,
            "fill": "#000000",
            "fill-opacity": "0",
            "from": str(a.network_number),
            "to": str(b.network_number),
            "status": status,
            "type": link_type,
        }
        style = "#red_line" if active else "#dark_grey_line"
        marks.append((active, {"label": label, "style": style, "ends": ends, "data": data}))
    for los_id, source, *ends in fetch(conn, _LOSES):
        f_lon, f_lat, f_alt, f_street, f_rep, t_lon, t_lat, t_alt, t_street, t_rep = ends
        pair = (min(f_rep, t_rep), max(f_rep, t_rep))
        if pair in pairs:
            continue
        pairs.add(pair)
        label = f"{f_rep}-{t_rep}"
        data = {
            "name": f"LOS-{los_id} {label}",
            "stroke": POTENTIAL_COLOR,
            "fill": "#000000",
            "fill-opacity": "0",
            "from": f"#{f_rep} ({f_street})",
            "to": f"#{t_rep} ({t_street})",
            "source": source,
        }
        where = (_at(f_lon, f_lat, f_alt), _at(t_lon, t_lat, t_alt))
        marks.append((False, {"label": label, "style": "#grey_line", "ends": where, "data": data}))
    return marks


def document(conn: Connection) -> bytes:
    """The whole mesh as MeshDB's whole-mesh.kml."""
    root, doc = k.document()
    _styles(doc)
    nodes = load_nodes(conn)
    _nodes(conn, k.folder(doc, "Nodes"), nodes)
    links = k.folder(doc, "Links")
    active, inactive = k.folder(links, "Active"), k.folder(links, "Inactive")
    for is_active, mark in _link_marks(conn, nodes):
        parent = active if is_active else inactive
        placemark = k.placemark(parent, f"Links-{mark['label']}", mark["style"], mark["data"])
        k.line(placemark, *mark["ends"])
    return k.to_bytes(root)
