"""NYC Mesh's OSPF JSON API (ospf-linkdb-schema.json) -> a LinkStateDb.

`{"areas": {A: {"routers": {R: {"links": {"router"|"network"|"stubnet"|"external": [...]}}},
"networks": {N/L: {"dr": R, "routers": [R, ...]}}}}, "updated": epoch}`. The API publishes
no reachability, so every router in it counts as visible (`has_reachability=False`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors.routing.model import (
    External,
    LinkStateDb,
    NetworkLink,
    ParseError,
    Router,
    RouterLink,
    Stubnet,
    TransitNetwork,
    ipv4,
    ipv4_prefix,
)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(f"{where}: expected an object")
    return value


def _entries(links: Mapping[str, Any], kind: str, where: str) -> list[Mapping[str, Any]]:
    value = links.get(kind, [])
    if not isinstance(value, list):
        raise ParseError(f"{where}.{kind}: expected a list")
    return [_mapping(v, f"{where}.{kind}[]") for v in value]


def _metric(entry: Mapping[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ParseError(f"{where}: {key} must be a non-negative integer")
    return value


def _id(entry: Mapping[str, Any], where: str) -> str:
    value = entry.get("id")
    if not isinstance(value, str):
        raise ParseError(f"{where}: id must be a string")
    return value


def _external(entry: Mapping[str, Any], where: str) -> External:
    type2 = "metric2" in entry
    via = entry.get("via")
    return External(
        prefix=ipv4_prefix(_id(entry, where)),
        metric=_metric(entry, "metric2" if type2 else "metric", where),
        type2=type2,
        via=ipv4(via) if isinstance(via, str) else None,
    )


def _router(rid: str, area: str, body: Any) -> Router:
    where = f"areas.{area}.routers.{rid}"
    links = _mapping(_mapping(body, where).get("links", {}), f"{where}.links")
    return Router(
        router_id=ipv4(rid),
        area=area,
        reachable=None,
        routers=tuple(
            RouterLink(ipv4(_id(e, where)), _metric(e, "metric", where))
            for e in _entries(links, "router", where)
        ),
        networks=tuple(
            NetworkLink(ipv4_prefix(_id(e, where)), _metric(e, "metric", where))
            for e in _entries(links, "network", where)
        ),
        stubnets=tuple(
            Stubnet(ipv4_prefix(_id(e, where)), _metric(e, "metric", where))
            for e in _entries(links, "stubnet", where)
        ),
        externals=tuple(_external(e, where) for e in _entries(links, "external", where)),
    )


def _network(prefix: str, area: str, body: Any) -> TransitNetwork:
    where = f"areas.{area}.networks.{prefix}"
    net = _mapping(body, where)
    members = net.get("routers", [])
    if not isinstance(members, list) or not all(isinstance(r, str) for r in members):
        raise ParseError(f"{where}.routers: expected a list of router ids")
    dr = net.get("dr")
    return TransitNetwork(
        prefix=ipv4_prefix(prefix),
        area=area,
        dr=ipv4(dr) if isinstance(dr, str) else None,
        routers=tuple(ipv4(r) for r in members),
    )


def parse(data: Any, source: str = "nycmesh-json") -> LinkStateDb:
    """Parse the decoded JSON document; a ParseError names the path of the first bad value."""
    areas = _mapping(_mapping(data, "document").get("areas"), "areas")
    routers: list[Router] = []
    networks: list[TransitNetwork] = []
    for area, body in areas.items():
        area_body = _mapping(body, f"areas.{area}")
        for rid, rbody in _mapping(area_body.get("routers", {}), f"areas.{area}.routers").items():
            routers.append(_router(rid, area, rbody))
        for prefix, nbody in _mapping(
            area_body.get("networks", {}), f"areas.{area}.networks"
        ).items():
            networks.append(_network(prefix, area, nbody))
    return LinkStateDb(
        source=source, routers=tuple(routers), networks=tuple(networks), has_reachability=False
    )
