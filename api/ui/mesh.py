"""A node's, a device's and a link's page: records, addresses, observed state, neighbours."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import DbSession
from api.topology import current_topology
from api.ui.auth import Viewer
from api.ui.graphs import PING, RADIO, RTT, device_graphs
from api.ui.records import history_rows, load_record
from api.ui.render import page
from ipam import models as m
from ipam.errors import NotFound
from ipam.numbering import addressing
from ipam.observed.health import node_health, one_device
from ipam.observed.history import tiers
from ipam.observed.series_rules import radio_figures
from ipam.observed.snapshot import filled

router = APIRouter(prefix="/ui", include_in_schema=False)
# RTT graphs on a node's page: a hub has dozens of devices; the rest are on their own pages.
NODE_GRAPHS = 12


def _graph(request: Request, session: Any, nn: int) -> dict[str, Any]:
    """Neighbours, the way out, and what this node's loss would cut off."""
    topology = current_topology(request, session)
    try:
        return {
            "neighbors": topology.neighbors(nn),
            "exit": topology.nearest_exit(nn),
            "cuts_off": topology.impact(nn).lost,
        }
    except NotFound:  # a node without Active links is not in the graph
        return {"neighbors": (), "exit": None, "cuts_off": ()}


@router.get("/nodes/{nn}/", response_class=HTMLResponse)
def node_page(
    request: Request, session: DbSession, who: Viewer, nn: int = Path(ge=1, le=8000)
) -> Response:
    """Everything about one node on one page."""
    node = load_record(session, "nodes", str(nn))
    health = filled(session, node_health(session, nn))
    # The monitored devices: those the daemon polls at an address.
    monitored = [d for d in health["devices"] if d.get("address")]
    now, kept = datetime.now(UTC), tiers(request.app.state.settings)
    rtt = [
        (d, device_graphs(session, uuid.UUID(d["id"]), (RTT,), now=now, kept=kept))
        for d in monitored[:NODE_GRAPHS]
    ]
    return page(
        request,
        "node.html",
        node=node,
        health=health,
        rtt=rtt,
        unshown=len(monitored) - len(rtt),
        addresses=addressing.addresses_for(nn).to_dict(),
        graph=_graph(request, session, nn),
        history=history_rows(session, "nodes", uuid.UUID(str(node["id"])))[-10:],
        outages=session.scalars(
            select(m.Outage)
            .where(m.Outage.network_numbers.contains([nn]))
            .order_by(m.Outage.started_at.desc())
            .limit(10)
        ).all(),
    )


@router.get("/devices/{device_id}/", response_class=HTMLResponse)
def device_page(
    request: Request, session: DbSession, who: Viewer, device_id: uuid.UUID
) -> Response:
    """One device: record, observed health, its links."""
    device = load_record(session, "devices", str(device_id))
    links = session.execute(
        select(m.Link.id, m.Link.status, m.Link.type).where(
            (m.Link.from_device_id == device_id) | (m.Link.to_device_id == device_id)
        )
    ).all()
    health = filled(session, one_device(session, device_id))
    # The radio figures its radios report now: no query for a series it cannot have.
    figures = radio_figures(health.get("radio"))
    metrics = PING + tuple(r for r in RADIO if figures[r.name] is not None)
    return page(
        request,
        "device.html",
        device=device,
        health=health,
        graphs=device_graphs(
            session,
            device_id,
            metrics,
            now=datetime.now(UTC),
            kept=tiers(request.app.state.settings),
        ),
        links=links,
        history=history_rows(session, "devices", device_id)[-10:],
    )


@router.get("/links/{link_id}/", response_class=HTMLResponse)
def link_page(request: Request, session: DbSession, who: Viewer, link_id: uuid.UUID) -> Response:
    """One link: its two ends (device and node), recorded and observed status."""
    link = load_record(session, "links", str(link_id))
    ends = {
        row.id: row
        for row in session.execute(
            select(m.Device.__table__.c.id, m.Device.__table__.c.name, m.Node.network_number)
            .join(m.Node, m.Node.id == m.Device.__table__.c.node_id)
            .where(
                m.Device.__table__.c.id.in_([link["from_device"]["id"], link["to_device"]["id"]])
            )
        )
    }
    observed = session.scalar(
        select(m.LinkObservation.status).where(m.LinkObservation.link_id == link_id)
    )
    return page(
        request,
        "link.html",
        link=link,
        ends=[ends.get(uuid.UUID(str(link[end]["id"]))) for end in ("from_device", "to_device")],
        observed=observed or "pending",
        history=history_rows(session, "links", link_id)[-10:],
    )
