"""Matching the NYC Mesh map plan against the database and writing what is missing.

Each step reads what could match with one set-based query, counts the matches as unchanged
and hands the rest to `BulkWriter`. The rules are tabled in `ipam.imports.nycmesh_import`.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import DeviceKind, NodePlacement
from ipam.imports.nycmesh_bulk import BulkWriter
from ipam.imports.nycmesh_feed import Plan, PlannedLink, Problem
from ipam.imports.nycmesh_words import NODE_TO_DEVICE_STATUS, NodeKey, device_name, place_of
from ipam.numbering.nn_rules import NN_MAX, NN_MIN

PLACEHOLDER_NOTE = "Placeholder from the NYC Mesh map import: the feed has no member data."


@dataclass
class Run:
    """State of one import while it writes: what matched, what was made, what went wrong."""

    session: Session
    plan: Plan
    writer: BulkWriter
    problems: list[Problem]
    created: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    node_ids: dict[NodeKey, uuid.UUID] = field(default_factory=dict)
    node_status: dict[NodeKey, str] = field(default_factory=dict)
    building_ids: dict[tuple[float, float], uuid.UUID] = field(default_factory=dict)
    installs: dict[int, tuple[uuid.UUID, uuid.UUID | None]] = field(default_factory=dict)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Run one read query in the import's transaction."""
        return list(self.session.execute(text(sql), params))


def match_existing(run: Run, unplaced: frozenset[int]) -> None:
    """Load, with a few set-based queries, every record the plan could match."""
    plan = run.plan
    numbers = [row.id for row in plan.installs]
    for number, install_id, node_id in run.rows(
        "SELECT install_number, id, node_id FROM install WHERE install_number = ANY(:n)",
        n=numbers,
    ):
        run.installs[number] = (install_id, node_id)
    wanted = {key[1] for key in plan.nodes if key[0] == "nn"}
    ends = {e for link in plan.links for e in (link.from_id, link.to_id)}
    ends |= {sector.node_id for sector in plan.sectors}
    wanted |= {e for e in ends if NN_MIN <= e <= NN_MAX and e not in unplaced}
    for nn, node_id, status in run.rows(
        "SELECT network_number, id, status FROM node WHERE network_number = ANY(:n)", n=list(wanted)
    ):
        run.node_ids[("nn", nn)] = node_id
        run.node_status[("nn", nn)] = status
    # A node with no NN is found through its dot's install.
    by_node = {
        node_id: ("install", number)
        for number, (_, node_id) in run.installs.items()
        if node_id is not None and ("install", number) in plan.nodes
    }
    for node_id, status in run.rows(
        "SELECT id, status FROM node WHERE id = ANY(:ids)", ids=list(by_node)
    ):
        run.node_ids[by_node[node_id]] = node_id
        run.node_status[by_node[node_id]] = status
    for building_id, lat, lon in run.rows(
        "SELECT id, latitude, longitude FROM building ORDER BY created, id"
    ):
        run.building_ids.setdefault(place_of(lat, lon), building_id)


def _create_nodes(run: Run) -> list[dict[str, Any]]:
    new = []
    for key, node in run.plan.nodes.items():
        if key in run.node_ids:
            run.unchanged["nodes"] += 1
            continue
        if key[0] == "install" and key[1] in run.installs:
            # Its install exists with no node: leave the install as the operator has it.
            run.problems.append(
                Problem(
                    "not placed", f"row {key[1]}", "install exists without a node; no node made"
                )
            )
            continue
        dot = node.dot
        row = run.writer.full_row(
            m.Node,
            {
                "id": uuid.uuid4(),
                "network_number": node.network_number,
                "name": dot.name,
                "status": node.status.value,
                "type": node.type.value,
                "placement": NodePlacement.UNKNOWN.value,
                "latitude": dot.latitude,
                "longitude": dot.longitude,
                "altitude": dot.altitude,
                "install_date": node.install_date,
                "notes": dot.notes if dot.status is None else None,
            },
        )
        run.node_ids[key] = row["id"]
        run.node_status[key] = row["status"]
        new.append(row)
    run.created["nodes"] = len(new)
    return new


def create_nodes_and_buildings(run: Run) -> None:
    """Nodes first (a building points at its primary node), then buildings and their pairs."""
    new_nodes = _create_nodes(run)
    new_node_ids = {row["id"] for row in new_nodes}
    buildings = []
    pairs: list[dict[str, Any]] = []
    m2m: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = defaultdict(lambda: defaultdict(list))
    for place, planned in run.plan.buildings.items():
        node_ids = [run.node_ids[k] for k in planned.nodes if k in run.node_ids]
        is_new = place not in run.building_ids
        if is_new:
            first = planned.first
            run.building_ids[place] = uuid.uuid4()
            buildings.append(
                run.writer.full_row(
                    m.Building,
                    {
                        "id": run.building_ids[place],
                        "latitude": first.latitude,
                        "longitude": first.longitude,
                        "altitude": first.altitude,
                        "primary_node_id": node_ids[0] if node_ids else None,
                        "panoramas": list(planned.panoramas),
                    },
                )
            )
        else:
            run.unchanged["buildings"] += 1
        building_id = run.building_ids[place]
        for node_id in node_ids:
            if is_new or node_id in new_node_ids:
                pairs.append({"node_id": node_id, "building_id": building_id})
                m2m[node_id]["buildings"].append(building_id)
                m2m[building_id]["nodes"].append(node_id)
    run.writer.create("nodes", new_nodes, m2m)
    run.writer.create("buildings", buildings, m2m)
    run.writer.link(m.node_building, pairs)
    run.created["buildings"] = len(buildings)


def create_installs(run: Run, now: Any) -> None:
    """Each install not yet there, with its own placeholder member."""
    members, installs = [], []
    for row in run.plan.installs:
        if row.id in run.installs:
            run.unchanged["installs"] += 1
            run.unchanged["members"] += 1
            continue
        member_id = uuid.uuid4()
        members.append(
            run.writer.full_row(
                m.Member,
                {
                    "id": member_id,
                    "name": f"Imported member (install {row.id})",
                    "notes": PLACEHOLDER_NOTE,
                },
            )
        )
        node_key = run.plan.install_node.get(row.id)
        installs.append(
            run.writer.full_row(
                m.Install,
                {
                    "id": uuid.uuid4(),
                    "install_number": row.id,
                    "status": row.status.value,  # type: ignore[union-attr]
                    "member_id": member_id,
                    "building_id": run.building_ids[row.place],
                    "node_id": run.node_ids.get(node_key) if node_key else None,
                    "roof_access": row.roof_access,
                    "request_date": row.request_date or now,
                    "install_date": row.install_date,
                    "notes": row.notes,
                },
            )
        )
    run.writer.create("members", members)
    run.writer.create("installs", installs)
    run.created["members"] = len(members)
    run.created["installs"] = len(installs)


def _resolve(run: Run, feed_id: int) -> NodeKey | None:
    """The node a link end or a sector's nodeId names, if the feed or the database has it."""
    key = run.plan.dot_keys.get(feed_id)
    if key is None and ("nn", feed_id) in run.node_ids:
        key = ("nn", feed_id)
    return key if key in run.node_ids else None


def create_links(run: Run, unplaced: frozenset[int]) -> None:
    """One device per node a link ends at, then the links between them."""
    resolved: list[tuple[PlannedLink, NodeKey, NodeKey]] = []
    for link in run.plan.links:
        a, b = _resolve(run, link.from_id), _resolve(run, link.to_id)
        subject = f"link {link.index} ({link.from_id} -> {link.to_id})"
        if a is None or b is None:
            missing = [e for e, k in ((link.from_id, a), (link.to_id, b)) if k is None]
            why = ", ".join(
                f"{e} {'could not be placed' if e in unplaced else 'is not in nodes.json'}"
                for e in missing
            )
            run.problems.append(Problem("dangling link", subject, why))
        elif a == b:
            run.problems.append(Problem("self link", subject, "both ends are the same node"))
        else:
            resolved.append((link, a, b))
    wanted = {key for _, a, b in resolved for key in (a, b)}
    devices: dict[NodeKey, uuid.UUID] = {}
    names = {device_name(key): key for key in wanted}
    for device_id, node_id, name in run.rows(
        "SELECT id, node_id, name FROM device WHERE node_id = ANY(:ids) AND name = ANY(:names)",
        ids=[run.node_ids[k] for k in wanted],
        names=list(names),
    ):
        key = names[name]
        if run.node_ids[key] == node_id:
            devices.setdefault(key, device_id)
    new_devices = []
    for key in sorted(wanted):
        if key in devices:
            run.unchanged["devices"] += 1
            continue
        row = run.writer.full_row(
            m.Device,
            {
                "id": uuid.uuid4(),
                "kind": DeviceKind.DEVICE.value,
                "node_id": run.node_ids[key],
                "name": device_name(key),
                "status": NODE_TO_DEVICE_STATUS[run.node_status[key]].value,
            },
        )
        devices[key] = row["id"]
        new_devices.append(row)
    run.writer.create("devices", new_devices)
    run.created["devices"] = len(new_devices)

    existing: Counter[frozenset[uuid.UUID]] = Counter(
        frozenset(pair)
        for pair in run.rows(
            "SELECT from_device_id, to_device_id FROM link"
            " WHERE from_device_id = ANY(:ids) AND to_device_id = ANY(:ids)",
            ids=list(devices.values()),
        )
    )
    links = []
    for link, a, b in resolved:
        pair = frozenset((devices[a], devices[b]))
        if existing[pair] > 0:
            existing[pair] -= 1
            run.unchanged["links"] += 1
            continue
        links.append(
            run.writer.full_row(
                m.Link,
                {
                    "id": uuid.uuid4(),
                    "from_device_id": devices[a],
                    "to_device_id": devices[b],
                    "status": link.status.value,
                    "type": link.type.value if link.type else None,
                    "install_date": link.install_date,
                },
            )
        )
    run.writer.create("links", links)
    run.created["links"] = len(links)


def create_sectors(run: Run) -> None:
    """Sector devices on the node each sectors.json row names."""
    placed = []
    for sector in run.plan.sectors:
        node_key = _resolve(run, sector.node_id)
        if node_key is None:
            run.problems.append(
                Problem(
                    "unplaced sector",
                    f"sector {sector.index} ({sector.name})",
                    f"node {sector.node_id} is neither in nodes.json nor in the database",
                )
            )
            continue
        placed.append((sector, run.node_ids[node_key]))
    existing: Counter[tuple[Any, ...]] = Counter(
        (node_id, name, azimuth, width, round(radius, 6))
        for node_id, name, azimuth, width, radius in run.rows(
            "SELECT d.node_id, d.name, s.azimuth, s.width, s.radius FROM sector s"
            " JOIN device d ON d.id = s.id WHERE d.node_id = ANY(:ids)",
            ids=list({node_id for _, node_id in placed}),
        )
    )
    rows = []
    for sector, node_id in placed:
        key = (node_id, sector.name, sector.azimuth, sector.width, round(sector.radius, 6))
        if existing[key] > 0:
            existing[key] -= 1
            run.unchanged["sectors"] += 1
            continue
        rows.append(
            run.writer.full_row(
                m.Sector,
                {
                    "id": uuid.uuid4(),
                    "kind": DeviceKind.SECTOR.value,
                    "node_id": node_id,
                    "name": sector.name,
                    "status": sector.status.value,
                    "install_date": sector.install_date,
                    "radius": sector.radius,
                    "azimuth": sector.azimuth,
                    "width": sector.width,
                },
            )
        )
    run.writer.create("sectors", rows)
    run.created["sectors"] = len(rows)
