"""Topology answers over HTTP: paths, exits, single points of failure, impact, islands."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from api.deps import DbSession, Reader
from api.resources import ERRORS
from ipam.errors import NotFound
from ipam.topology.cache import TopologyCache
from ipam.topology.mesh import Topology
from ipam.topology.store import current

router = APIRouter(prefix="/api/v1/topology", tags=["topology"], responses=ERRORS)

Observed = Annotated[bool, Query(description="only links whose two ends are observed up")]
NN = Annotated[int, Query(ge=1, le=8000)]
NNPath = Annotated[int, Path(ge=1, le=8000, description="network number")]


def _topology(request: Request, session: Any, observed: bool) -> Topology:
    app = request.app
    cache = getattr(app.state, "topology_cache", None)
    if cache is None:
        cache = app.state.topology_cache = TopologyCache()
    exit_types = frozenset(app.state.settings.exit_types)
    return current(session, cache, exit_types).view(observed=observed)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@router.get("/", summary="The whole graph: nodes, edges, counts (or GeoJSON)")
def topology(
    request: Request,
    session: DbSession,
    caller: Reader,
    observed: Observed = False,
    format: Annotated[str, Query(pattern="^(json|geojson)$")] = "json",
) -> Any:
    """Nodes joined by Active links; `?format=geojson` for a map."""
    topo = _topology(request, session, observed)
    if format == "geojson":
        return topo.to_geojson()
    graph = topo.graph
    return {
        "summary": _plain(topo.summary()),
        "nodes": [
            {"key": key, **{k: v for k, v in data.items() if not k.startswith("_")}}
            for key, data in graph.nodes(data=True)
        ],
        "edges": [
            {
                "from": a,
                "to": b,
                "links": list(data.get("ids", ())),
                "types": list(data.get("types", ())),
            }
            for a, b, data in graph.edges(data=True)
        ],
    }


@router.get("/neighbors/{nn}/", summary="The nodes one hop away")
def neighbors(
    request: Request, session: DbSession, caller: Reader, nn: NNPath, observed: Observed = False
) -> Any:
    """Direct neighbours of a node, with the links between."""
    return {
        "network_number": nn,
        "neighbors": _plain(_topology(request, session, observed).neighbors(nn)),
    }


@router.get("/path/", summary="Fewest hops between two nodes, and the links used")
def path(
    request: Request,
    session: DbSession,
    caller: Reader,
    from_: Annotated[int, Query(alias="from", ge=1, le=8000)],
    to: NN,
    observed: Observed = False,
) -> Any:
    """The shortest path by hops; 404 when the two are not connected."""
    route = _topology(request, session, observed).path(from_, to)
    if route is None:
        raise NotFound(f"no path from {from_} to {to}", field="to")
    return _plain(route)


@router.get("/exits/{nn}/", summary="Hops to the nearest internet exit, and which")
def exits(
    request: Request, session: DbSession, caller: Reader, nn: NNPath, observed: Observed = False
) -> Any:
    """The nearest exit (POP or Supernode by default) and the route to it."""
    found = _topology(request, session, observed).nearest_exit(nn)
    if found is None:
        raise NotFound(f"node {nn} has no path to any exit", field="nn")
    return _plain(found)


@router.get("/critical/", summary="Single points of failure: articulation points and bridges")
def critical(
    request: Request, session: DbSession, caller: Reader, observed: Observed = False
) -> Any:
    """Nodes and links whose loss splits the mesh."""
    return _plain(_topology(request, session, observed).critical())


@router.get("/impact/{nn}/", summary="Nodes that lose every exit if this node fails")
def impact(
    request: Request, session: DbSession, caller: Reader, nn: NNPath, observed: Observed = False
) -> Any:
    """What breaks if this node dies."""
    return _plain(_topology(request, session, observed).impact(nn))


@router.get("/islands/", summary="Connected groups with no exit")
def islands(
    request: Request, session: DbSession, caller: Reader, observed: Observed = False
) -> Any:
    """Components that cannot reach the internet."""
    return {"islands": _plain(_topology(request, session, observed).islands())}
