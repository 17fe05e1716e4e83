"""FRR's `show ip ospf database {router,network,external} json` -> a LinkStateDb.

Shapes as FRR 8 prints them (ospfd/ospf_vty.c): router-LSAs under
`routerLinkStates.areas.<area>[]` with `routerLinks.linkN` (`linkType`, `tos0Metric`, and
`neighborRouterId`, `designatedRouterAddress` or `networkAddress`/`networkMask`);
network-LSAs under `networkLinkStates.areas.<area>[]` with `linkStateId` (the DR's interface
address), `networkMask` and `attchedRouters` (sic; `attachedRouters` is accepted too);
AS-external-LSAs under `asExternalLinkStates[]`. FRR's database carries no reachability, so
it is computed here the way SPF does (RFC 2328 16.1): from the router FRR runs on, over links
both ends list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
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
    reachable_from,
)

# FRR's words for RFC 2328's link types 1-4.
P2P, TRANSIT, STUB, VIRTUAL = (
    "another Router (point-to-point)",
    "a Transit Network",
    "Stub Network",
    "a Virtual Link",
)


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParseError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise ParseError(f"{where}: expected a list")
    return [_obj(v, f"{where}[]") for v in value]


def _str(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ParseError(f"{where}: {key} must be a string")
    return value


def _int(entry: Mapping[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParseError(f"{where}: {key} must be an integer")
    return value


def _mask_len(mask: str) -> int:
    return bin(int(ipv4(mask))).count("1")


def _areas(doc: Mapping[str, Any], key: str) -> dict[str, list[Mapping[str, Any]]]:
    states = _obj(doc.get(key, {"areas": {}}), key)
    areas = _obj(states.get("areas", {}), f"{key}.areas")
    return {area: _list(lsas, f"{key}.areas.{area}") for area, lsas in areas.items()}


def _networks(
    doc: Mapping[str, Any],
) -> tuple[list[TransitNetwork], dict[IPv4Address, IPv4Network]]:
    """Network-LSAs, and each DR interface address -> the prefix it names in router links."""
    networks: list[TransitNetwork] = []
    by_dr_address: dict[IPv4Address, IPv4Network] = {}
    for area, lsas in _areas(doc, "networkLinkStates").items():
        for lsa in lsas:
            where = f"networkLinkStates.{area}"
            dr_address = ipv4(_str(lsa, "linkStateId", where))
            prefix = IPv4Network((int(dr_address), _int(lsa, "networkMask", where)), strict=False)
            attached = _obj(lsa.get("attchedRouters", lsa.get("attachedRouters", {})), where)
            networks.append(
                TransitNetwork(
                    prefix=prefix,
                    area=area,
                    dr=ipv4(_str(lsa, "advertisingRouter", where)),
                    routers=tuple(ipv4(rid) for rid in attached),
                )
            )
            by_dr_address[dr_address] = prefix
    return networks, by_dr_address


def _router(
    lsa: Mapping[str, Any], area: str, by_dr: Mapping[IPv4Address, IPv4Network], ext: list[External]
) -> Router:
    where = f"routerLinkStates.{area}.{lsa.get('linkStateId')}"
    routers: list[RouterLink] = []
    networks: list[NetworkLink] = []
    stubnets: list[Stubnet] = []
    for link in _obj(lsa.get("routerLinks", {}), where).values():
        link = _obj(link, where)
        kind, cost = link.get("linkType"), _int(link, "tos0Metric", where)
        if kind == P2P:
            routers.append(RouterLink(ipv4(_str(link, "neighborRouterId", where)), cost))
        elif kind == TRANSIT:
            dr_address = ipv4(_str(link, "designatedRouterAddress", where))
            # Without the network-LSA (not yet flooded) the DR's address stands for a /32.
            prefix = by_dr.get(dr_address, IPv4Network(dr_address))
            networks.append(NetworkLink(prefix, cost))
        elif kind == STUB:
            address = _str(link, "networkAddress", where)
            length = _mask_len(_str(link, "networkMask", where))
            stubnets.append(Stubnet(ipv4_prefix(f"{address}/{length}"), cost))
        elif kind != VIRTUAL:
            raise ParseError(f"{where}: unknown linkType {kind!r}")
    return Router(
        router_id=ipv4(_str(lsa, "advertisingRouter", where)),
        area=area,
        reachable=None,  # decided below, by SPF from FRR's own router
        routers=tuple(routers),
        networks=tuple(networks),
        stubnets=tuple(stubnets),
        externals=tuple(ext),
    )


def _externals(doc: Mapping[str, Any]) -> dict[IPv4Address, list[External]]:
    out: dict[IPv4Address, list[External]] = defaultdict(list)
    for lsa in _list(doc.get("asExternalLinkStates", []), "asExternalLinkStates"):
        where = f"asExternalLinkStates.{lsa.get('linkStateId')}"
        prefix = f"{_str(lsa, 'linkStateId', where)}/{_int(lsa, 'networkMask', where)}"
        forward = lsa.get("forwardAddress")
        tag = lsa.get("externalRouteTag")
        out[ipv4(_str(lsa, "advertisingRouter", where))].append(
            External(
                prefix=ipv4_prefix(prefix),
                metric=_int(lsa, "metric", where),
                # "E2 (Larger than any link state path)" / "E1"
                type2=str(lsa.get("metricType", "")).startswith("E2"),
                via=ipv4(forward) if isinstance(forward, str) and forward != "0.0.0.0" else None,
                tag=tag if isinstance(tag, int) and tag else None,
            )
        )
    return out


def parse(documents: Mapping[str, Any], source: str = "frr") -> LinkStateDb:
    """Parse `{"router": ..., "network": ..., "external": ...}`, FRR's three JSON answers."""
    router_doc = _obj(documents.get("router"), "router")
    networks, by_dr = _networks(_obj(documents.get("network", {}), "network"))
    externals = _externals(_obj(documents.get("external", {}), "external"))
    routers = [
        _router(lsa, area, by_dr, externals.get(ipv4(_str(lsa, "advertisingRouter", area)), []))
        for area, lsas in _areas(router_doc, "routerLinkStates").items()
        for lsa in lsas
    ]
    root = router_doc.get("routerId")
    if isinstance(root, str):
        reach = reachable_from(ipv4(root), routers, networks)
        routers = [replace(r, reachable=r.router_id in reach) for r in routers]
    # Without its own router id there is no vantage point: every router counts as visible.
    return LinkStateDb(
        source=source,
        routers=tuple(routers),
        networks=tuple(networks),
        has_reachability=isinstance(root, str),
    )
