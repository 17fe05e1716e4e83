"""The console's overview pages: status (what is wrong now), search, and the map."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import DbSession
from api.topology import current_topology
from api.ui.auth import Viewer
from api.ui.render import TEMPLATES, page
from ipam.errors import NotFound
from ipam.observed.status import wrong_now
from ipam.records.search import search

router = APIRouter(prefix="/ui", include_in_schema=False)


def _status(request: Request, session: Any) -> dict[str, Any]:
    """What is wrong now, each down node with the nodes its loss cuts off."""
    now = wrong_now(session)
    topology = current_topology(request, session)
    for node in now["nodes_down"]:
        try:
            node["cuts_off"] = len(topology.impact(node["network_number"]).lost)
        except NotFound:  # a node with no links is in no graph
            node["cuts_off"] = 0
    return now


@router.get("/", response_class=HTMLResponse)
def status(request: Request, session: DbSession, who: Viewer) -> Response:
    """What is down or drifting now; the page refreshes its part from the event stream."""
    return page(request, "status.html", now=_status(request, session))


@router.get("/status/fragment", response_class=HTMLResponse)
def status_fragment(request: Request, session: DbSession, who: Viewer) -> Response:
    """The live part of the status page, re-fetched when an event arrives."""
    return TEMPLATES.TemplateResponse(
        request, "status_panels.html", {"now": _status(request, session), "viewer": who}
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: DbSession,
    who: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """One box: members, installs, buildings, nodes, devices, and who owns an address."""
    return page(request, "search.html", results=search(session, q))


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, who: Viewer) -> Response:
    """Nodes and links on a map, coloured by observed state, sized by type."""
    return page(request, "map.html", tile_url=request.app.state.settings.map_tile_url)


@router.get("/map.json")
def map_data(request: Request, session: DbSession, who: Viewer) -> Response:
    """The map's data: the recorded topology with each node's observed state, as GeoJSON."""
    return JSONResponse(current_topology(request, session).to_geojson())
