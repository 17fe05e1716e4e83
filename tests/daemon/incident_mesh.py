"""Incident tests' mesh (a POP, a hub, leaves behind it, installs), sweeps and channels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from daemon.observe import DeviceResult, apply_ping_results
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from ipam.incidents.store import Watch
from tests.api import builders as b
from tests.conftest import ApiClient
from tests.daemon.receiver import Receiver

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


def poll(
    sessions: sessionmaker[Session],
    mesh: Mesh,
    at: datetime,
    down: tuple[int, ...] = (),
    watch: Watch = Watch(),
) -> None:
    """One sweep: the devices of the NNs in `down` silent, every other one answering."""
    results = [
        DeviceResult(mesh.device_id(nn), S.DOWN if nn in down else S.UP, rtt_avg_ms=1.0)
        for nn in mesh.devices
    ]
    with transaction(sessions) as session:
        apply_ping_results(session, results, at, watch=watch)


def apprise_url(receiver: Receiver) -> str:
    """Apprise's JSON target for the receiver (json:// POSTs {"title", "message", ...})."""
    return receiver.url.replace("http://", "json://")


def messages(receiver: Receiver) -> list[tuple[str, str]]:
    """The (title, message) pairs the receiver took, in order."""
    return [(r.json["title"], r.json["message"]) for r in receiver.delivered()]


def channel(api: ApiClient, name: str, url: str, **filter_: Any) -> dict[str, Any]:
    """Add a notification channel over the API."""
    body = {"name": name, "url": url, "filter": filter_}
    made = api.post("/api/v1/notifications/channels/", json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())
