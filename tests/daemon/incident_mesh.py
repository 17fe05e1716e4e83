"""A small mesh for incident tests: a POP, a hub behind it, leaves behind the hub, installs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.api import builders as b
from tests.conftest import ApiClient

POP, HUB, LEAVES = 1, 227, (1934, 1935, 1936)


@dataclass
class Mesh:
    """Node records by NN, their one device each (by NN), and the links by far-end NN."""

    nodes: dict[int, dict[str, Any]]
    devices: dict[int, dict[str, Any]]
    links: dict[int, dict[str, Any]]

    def device_id(self, nn: int) -> uuid.UUID:
        """The id of node `nn`'s device."""
        return uuid.UUID(self.devices[nn]["id"])


def build_mesh(api: ApiClient, addresses: dict[int, str] | None = None) -> Mesh:
    """POP 1 - hub 227 - leaves 1934, 1935, 1936; two installs (two members) on each leaf."""
    addresses = addresses or {}
    nodes = {POP: b.node(api, POP, type="POP", name="POP")}
    nodes[HUB] = b.node(api, HUB, type="Hub", name="Hub")
    for nn in LEAVES:
        nodes[nn] = b.node(api, nn, name=f"Leaf {nn}")
    devices = {
        nn: b.device(api, node, f"nycmesh-{nn}", management_address=addresses.get(nn))
        for nn, node in nodes.items()
    }
    links = {HUB: b.link(api, devices[POP], devices[HUB])}
    for nn in LEAVES:
        links[nn] = b.link(api, devices[HUB], devices[nn])
    building = b.building(api)
    for i, nn in enumerate(LEAVES):
        for j in range(2):
            person = b.member(api, f"Member {i}-{j}")
            b.install(api, person, building, nodes[nn])
    return Mesh(nodes, devices, links)
