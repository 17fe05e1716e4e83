"""Building records through the API, and one API shared by every test of a module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ApiClient
from tests.dbutil import empty_tables

RESOURCES = (
    "members",
    "buildings",
    "installs",
    "nodes",
    "devices",
    "sectors",
    "accesspoints",
    "links",
    "loses",
)
ROLES = ("read_only", "installer", "admin")
# One filter per resource that matches the record world() makes.
LOOKUP = {
    "members": "name=world",
    "buildings": "street_address=world",
    "installs": "status=Active",
    "nodes": "name=world",
    "devices": "name=omni",
    "sectors": "name=north",
    "accesspoints": "name=ap",
    "links": "status=Active",
    "loses": "source=Human Annotated",
}


@contextmanager
def shared_api(engine: Any, data_dir: Path) -> Iterator[ApiClient]:
    """An API client (one token per role) whose records live until the context ends."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ipam.db import make_sessionmaker, transaction
    from ipam.enums import TokenRole
    from ipam.records import tokens
    from ipam.settings import Settings

    empty_tables(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        secrets = {role.value: tokens.create_token(session, role.value, role) for role in TokenRole}
    settings = Settings(data_dir=data_dir, probe_networks=["127.0.0.0/8"])
    try:
        with TestClient(create_app(settings, engine)) as client:
            yield ApiClient(client, secrets)
    finally:
        empty_tables(engine)


def ref(record: dict[str, Any]) -> str:
    """A record's id, as a request's foreign key."""
    return record["id"]


def member(api: ApiClient, name: str = "Ada Lovelace", **fields: Any) -> dict[str, Any]:
    """Create a member."""
    return api.create("members", {"name": name, **fields})


def building(
    api: ApiClient,
    street_address: str = "1 Test Street",
    bin: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a building (Brooklyn coordinates unless given)."""
    body = {
        "street_address": street_address,
        "bin": bin,
        "city": "Brooklyn",
        "state": "NY",
        "zip_code": "11216",
        "latitude": 40.68,
        "longitude": -73.94,
        **fields,
    }
    return api.create("buildings", body)


# Where a node is unless a test says otherwise (Brooklyn, near building()'s default).
NODE_PLACE = {"latitude": 40.6996, "longitude": -73.9418}


def node(api: ApiClient, network_number: int | None = None, **fields: Any) -> dict[str, Any]:
    """Create an Active node (MeshDB requires status and coordinates), numbered when given."""
    body = {"network_number": network_number, "status": "Active", **NODE_PLACE}
    return api.create("nodes", {**body, **fields})


def install(
    api: ApiClient,
    member_: dict[str, Any],
    building_: dict[str, Any],
    node_: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create an install of a member in a building, on a node when given."""
    body = {
        "member": ref(member_),
        "building": ref(building_),
        "node": None if node_ is None else ref(node_),
        "status": "Active",
        **fields,
    }
    return api.create("installs", body)


def device(api: ApiClient, node_: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    """Create a plain device on a node."""
    return api.create("devices", {"node": ref(node_), "name": name, **fields})


def sector(api: ApiClient, node_: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    """Create a sector on a node."""
    body = {"node": ref(node_), "name": name, "radius": 1.0, "azimuth": 90, "width": 120}
    return api.create("sectors", {**body, **fields})


def accesspoint(
    api: ApiClient,
    node_: dict[str, Any],
    name: str,
    latitude: float = 40.6996,
    longitude: float = -73.9418,
    **fields: Any,
) -> dict[str, Any]:
    """Create an access point on a node, at its own location."""
    body = {"node": ref(node_), "name": name, "latitude": latitude, "longitude": longitude}
    return api.create("accesspoints", {**body, **fields})


def link(
    api: ApiClient, from_: dict[str, Any], to: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """Create an active link between two devices."""
    body = {"from_device": ref(from_), "to_device": ref(to), "status": "Active", **fields}
    return api.create("links", body)


def los(api: ApiClient, from_: dict[str, Any], to: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Create a human-annotated line of sight between two buildings."""
    body = {
        "from_building": ref(from_),
        "to_building": ref(to),
        "source": "Human Annotated",
        **fields,
    }
    return api.create("loses", body)


def world(api: ApiClient, nn: int = 100) -> dict[str, dict[str, Any]]:
    """One record of every resource, tied together (ten requests)."""
    w: dict[str, dict[str, Any]] = {}
    w["members"] = member(api, "World Member", primary_email_address="world@example.org")
    w["nodes"] = node(api, nn, name="World Node")
    w["buildings"] = building(api, "10 World Street", 1000001, primary_node=ref(w["nodes"]))
    w["other_building"] = building(api, "12 World Street", 1000002)
    w["installs"] = install(api, w["members"], w["buildings"], w["nodes"])
    w["devices"] = device(api, w["nodes"], f"nycmesh-{nn}-omni", uisp_id=f"uisp-{nn}")
    w["sectors"] = sector(api, w["nodes"], f"nycmesh-{nn}-north")
    w["accesspoints"] = accesspoint(api, w["nodes"], f"nycmesh-{nn}-ap")
    w["links"] = link(api, w["devices"], w["sectors"], type="Ethernet")
    w["loses"] = los(api, w["buildings"], w["other_building"])
    return w


def fresh(api: ApiClient, resource: str, w: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A new record of a resource that nothing points at (so it may be deleted)."""
    return api.create(resource, create_body(resource, w))


def create_body(resource: str, w: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A valid create (and PUT) body for a resource, pointing into a world."""
    node_id = ref(w["nodes"])
    bodies: dict[str, dict[str, Any]] = {
        "members": {"name": "Fresh Member"},
        "buildings": {"street_address": "99 Fresh Street", "latitude": 40.7, "longitude": -73.9},
        "installs": {"member": ref(w["members"]), "building": ref(w["buildings"])},
        "nodes": {"name": "Fresh Node", "status": "Planned", **NODE_PLACE},
        "devices": {"node": node_id, "name": "fresh-device"},
        "sectors": {
            "node": node_id,
            "name": "fresh-sector",
            "radius": 2,
            "azimuth": 0,
            "width": 60,
        },
        "accesspoints": {"node": node_id, "name": "fresh-ap", "latitude": 40.7, "longitude": -73.9},
        "links": {
            "from_device": ref(w["devices"]),
            "to_device": ref(w["accesspoints"]),
            "status": "Planned",
        },
        "loses": {
            "from_building": ref(w["other_building"]),
            "to_building": ref(w["buildings"]),
            "source": "Existing Link",
        },
    }
    return bodies[resource]


def errors_name(body: dict[str, Any], field: str) -> bool:
    """True when an error body names a field (in its errors list or its sentence)."""
    fields = [e.get("field", "") for e in body.get("errors", [])]
    return any(f == field or f.startswith(f"{field}.") for f in fields)
