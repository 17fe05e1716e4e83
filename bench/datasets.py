"""Loaders: real public mesh data -> the plain values `ipam.topology.mesh.build` takes.

NYC Mesh map feed (`nycmesh-network-map/`, as MeshDB's map API served it; MeshDB's
`meshapi/serializers/map.py` and `views/map.py` define the rows):

- `nodes.json` rows are installs: `id` is the install number. MeshDB gives a node one "dot":
  the install whose number is the node's NN, or, when the NN differs from every install number,
  an extra row with `id = NN` and status "NN assigned". A node with no NN is named by its lowest
  install number. Only dots carry a `name`. The feed has no NN field, so nodes are found thus:
  dots are the "NN assigned" rows, every id a link names, and every row with a name; an
  Installed / Powered Off row at the exact coordinates of a dot joins that dot's node (an
  "NN assigned" dot first, else the lowest id); one with no dot there is its own node. Every
  other row (requests, dupes, invalid, ...) is dropped and counted by status.
- A dot's id is its NN when <= 8192 (MeshDB's NETWORK_NUMBER_MAX); a larger id is an install
  number standing for a node with no NN: network_number None, key "install-<id>".
- Node status: Active if any of its installs is Installed, else Inactive if one is Powered Off,
  else Planned.
- Node type from the dot's own words: a name with "Supernode" or "SN<n>", or notes starting with
  "Supernode" -> Supernode; a name or notes with "POP<n>" -> POP; notes starting with "Hub" or
  a name with the word "Hub" -> Hub; notes starting with "AP" -> AP; else Standard. Mentions
  further in ("Lbe to SN1", "(used to be SN4)") do not count.
- `links.json`: endpoints are NNs (or the lowest install number of an NN-less node); the status
  word also carries the type for Active links: active (radio, type not told: None), 60GHz
  (24 / 60 / 70-80 GHz: "60 GHz"), vpn, fiber; planned -> Planned. Endpoints that name no row
  are kept, so `build` counts those links as dangling. Sectors are ignored.

Freifunk meshviewer (`freifunk/*-meshviewer.json`): nodes carry no NN, so they are numbered
1..N in `node_id` order to be asked about; gateways are "Supernode"; `is_online` -> observed
"up" / "down"; every link is Active (meshviewer lists only links batman-adv currently sees).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipam.topology.values import TopoLink, TopoNode

NN_MAX = 8192

_INSTALL_TO_NODE_STATUS = {"Installed": "Active", "Powered Off": "Inactive"}
_LINK_STATUS = {
    "active": ("Active", None),
    "60GHz": ("Active", "60 GHz"),
    "vpn": ("Active", "VPN"),
    "fiber": ("Active", "Fiber"),
    "planned": ("Planned", None),
}
_SUPERNODE_NAME = re.compile(r"supernode|\bSN\d+\b", re.IGNORECASE)
_POP = re.compile(r"\bPOP\d*\b")
_HUB_NAME = re.compile(r"\bhub\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")
_MESHVIEWER_LINK_TYPE = {"vpn": "VPN", "wifi": "WiFi", "other": "Other"}


@dataclass
class NycLoad:
    """The NYC feed as topology input, and what the loader made of each row."""

    nodes: list[TopoNode]
    links: list[TopoLink]
    report: dict[str, Any] = field(default_factory=dict)


def nyc_key(row_id: int) -> str:
    """The node key the NYC loader gives the dot with this id."""
    return f"nn-{row_id}" if row_id <= NN_MAX else f"install-{row_id}"


def _nyc_type(row: dict[str, Any]) -> str:
    """Node type from a dot's name and the first word of its notes (see the module docstring)."""
    name = row.get("name") or ""
    notes = row.get("notes") or ""
    match = _FIRST_WORD.match(notes)
    first = match.group(1).lower() if match else ""
    if _SUPERNODE_NAME.search(name) or first == "supernode":
        return "Supernode"
    if _POP.search(name) or _POP.search(notes):
        return "POP"
    if first == "hub" or _HUB_NAME.search(name):
        return "Hub"
    if first == "ap":
        return "AP"
    return "Standard"


def load_nycmesh_detailed(directory: Path) -> NycLoad:
    """Read nodes.json and links.json into nodes, links and a report of what was kept or dropped."""
    rows: list[dict[str, Any]] = json.loads((directory / "nodes.json").read_text())
    raw_links: list[dict[str, Any]] = json.loads((directory / "links.json").read_text())
    by_id = {row["id"]: row for row in rows}
    linked = {end for link in raw_links for end in (link["from"], link["to"])}

    dots = {
        row["id"]
        for row in rows
        if row.get("status") == "NN assigned" or row["id"] in linked or row.get("name")
    }
    by_place: dict[tuple[float, float], list[int]] = {}
    for row in rows:
        if row["id"] in dots:
            by_place.setdefault(_place(row), []).append(row["id"])
    # Undotted Installed / Powered Off rows at one place with no dot: the lowest id is the dot.
    for row in sorted(rows, key=lambda r: r["id"]):
        undotted = row["id"] not in dots and row.get("status") in _INSTALL_TO_NODE_STATUS
        if undotted and _place(row) not in by_place:
            dots.add(row["id"])
            by_place[_place(row)] = [row["id"]]

    members: dict[int, list[str | None]] = {dot: [by_id[dot].get("status")] for dot in dots}
    joined = 0
    dropped: Counter[str] = Counter()
    for row in rows:
        status = row.get("status")
        if row["id"] in dots:
            continue
        if status in _INSTALL_TO_NODE_STATUS:
            here = by_place[_place(row)]
            # An "NN assigned" dot is the building's primary NN: installs there are its own.
            home = min(here, key=lambda i: (by_id[i].get("status") != "NN assigned", i))
            members[home].append(status)
            joined += 1
        else:
            dropped[status or "Request Received"] += 1

    nodes = []
    for dot in sorted(dots):
        row = by_id[dot]
        statuses = members[dot]
        if "Installed" in statuses:
            status = "Active"
        elif "Powered Off" in statuses:
            status = "Inactive"
        else:
            status = "Planned"
        lon, lat = _place(row)
        nodes.append(
            TopoNode(
                id=nyc_key(dot),
                network_number=dot if dot <= NN_MAX else None,
                name=row.get("name"),
                type=_nyc_type(row),
                status=status,
                latitude=lat,
                longitude=lon,
            )
        )

    links = []
    for i, raw in enumerate(raw_links):
        status, kind = _LINK_STATUS.get(raw["status"], ("Planned", None))
        links.append(TopoLink(f"link-{i}", nyc_key(raw["from"]), nyc_key(raw["to"]), status, kind))
    dangling = sum(1 for raw in raw_links if raw["from"] not in by_id or raw["to"] not in by_id)
    report = {
        "rows": len(rows),
        "nodes": len(nodes),
        "nodes_without_nn": sum(1 for node in nodes if node.network_number is None),
        "installs_joined": joined,
        "rows_dropped": dict(sorted(dropped.items())),
        "links": len(links),
        "links_dangling": dangling,
        "links_by_status": dict(Counter(raw["status"] for raw in raw_links)),
    }
    return NycLoad(nodes, links, report)


def _place(row: dict[str, Any]) -> tuple[float, float]:
    """A row's (longitude, latitude); the feed's coordinates are [lon, lat, alt_m]."""
    lon, lat = row["coordinates"][:2]
    return float(lon), float(lat)


def load_nycmesh(directory: Path) -> tuple[list[TopoNode], list[TopoLink]]:
    """NYC Mesh map feed (nodes.json, links.json) -> topology nodes and links."""
    load = load_nycmesh_detailed(directory)
    return load.nodes, load.links


def load_meshviewer(path: Path) -> tuple[list[TopoNode], list[TopoLink]]:
    """A Freifunk meshviewer.json -> topology nodes (numbered 1..N by node_id) and links."""
    data = json.loads(path.read_text())
    nodes = []
    for nn, raw in enumerate(sorted(data["nodes"], key=lambda n: n["node_id"]), start=1):
        location = raw.get("location") or {}
        nodes.append(
            TopoNode(
                id=raw["node_id"],
                network_number=nn,
                name=raw.get("hostname"),
                type="Supernode" if raw.get("is_gateway") else "Standard",
                status="Active",
                observed_status="up" if raw.get("is_online") else "down",
                latitude=location.get("latitude"),
                longitude=location.get("longitude"),
            )
        )
    links = [
        TopoLink(
            id=f"link-{i}",
            from_node=raw["source"],
            to_node=raw["target"],
            status="Active",
            type=_MESHVIEWER_LINK_TYPE.get(raw.get("type", ""), raw.get("type")),
            observed_status="up",
        )
        for i, raw in enumerate(data["links"])
    ]
    return nodes, links
