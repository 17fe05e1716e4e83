"""The anonymous map feeds: legacy JSON shapes, GeoJSON, KML, no member data, the cache."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from api import mapdata
from ipam.imports.nycmesh_import import import_map

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "nycmesh-map"
NODE_KEYS = (
    "id",
    "name",
    "status",
    "coordinates",
    "requestDate",
    "installDate",
    "roofAccess",
    "notes",
    "panoramas",
)
LINK_KEYS = ("from", "to", "status", "installDate")
SECTOR_KEYS = ("nodeId", "radius", "azimuth", "width", "status", "device", "installDate")
FEEDS = {
    "/api/v1/mapdata/nodes/": "application/json",
    "/api/v1/mapdata/links/": "application/json",
    "/api/v1/mapdata/sectors/": "application/json",
    "/api/v1/geojson/": "application/geo+json",
    "/api/v1/kml/": "application/vnd.google-earth.kml+xml",
}
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture()
def mapapi(api):
    """The API with the map router, included here until api/app.py includes it."""
    app = api.client.app
    if not any(getattr(r, "path", "").startswith("/api/v1/mapdata") for r in app.routes):
        app.include_router(mapdata.router)
    return api


@pytest.fixture()
def imported(mapapi, sessions):
    """The API over the imported fixture feed."""
    import_map(sessions, FIXTURE)
    return mapapi


def _get(api, path, **kwargs):
    response = api.get(path, role=None, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response


def _ordered_subset(keys, allowed) -> bool:
    """Keys appear in the feed's own order, none outside it."""
    positions = [allowed.index(k) for k in keys if k in allowed]
    return len(positions) == len(keys) and positions == sorted(positions)


def test_every_feed_is_anonymous_even_when_empty(mapapi):
    for path, media in FEEDS.items():
        response = _get(mapapi, path)
        assert response.headers["content-type"].startswith(media)
        assert response.headers["access-control-allow-origin"] == "*"
    assert _get(mapapi, "/api/v1/mapdata/nodes/").json() == []


def test_nodes_feed_shape_and_words(imported):
    rows = _get(imported, "/api/v1/mapdata/nodes/").json()
    source = {r["id"]: r for r in json.loads((FIXTURE / "nodes.json").read_text())}
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == sorted(by_id)
    for row in rows:
        assert _ordered_subset(list(row), NODE_KEYS), row
        assert {"id", "coordinates", "requestDate", "roofAccess", "panoramas"} <= set(row)
        assert len(row["coordinates"]) == 3
    # Words back: Active -> Installed etc.; Request Received leaves the key out.
    assert by_id[2]["status"] == "Installed" and by_id[9011]["status"] == "Powered Off"
    assert by_id[20]["status"] == "Interested" and by_id[23]["status"] == "No Los"
    assert "status" not in by_id[9003] and "status" not in by_id[31]
    # Closed installs are not on the map (MeshDB's rule); impossible rows were never imported.
    assert not {22, 25, 26, 27, 28, 9300, 9301, 9302} & set(by_id)
    # NNs with no install of that number: extra rows carrying the node's name, "NN assigned"
    # only for Active nodes (MeshDB's views/map.py); 60 is Planned (no install, no live link).
    assert {i for i, r in by_id.items() if r.get("status") == "NN assigned"} == {10, 61}
    assert "status" not in by_id[60] and by_id[60]["coordinates"] == source[60]["coordinates"]
    # No install stands for node 60: roof access True and the epoch, as MeshDB's stand-in.
    assert by_id[60]["roofAccess"] is True and by_id[60]["requestDate"] == 0
    assert by_id[10]["name"] == "Hub Place" and by_id[10]["notes"] == "Hub Omni"
    assert by_id[10]["coordinates"] == source[10]["coordinates"]
    # Dates come back as the same epoch ms; names only on dots; synthetic notes only.
    for number in (2, 9002, 3, 40, 9200):
        assert by_id[number]["requestDate"] == source[number]["requestDate"]
        assert by_id[number]["installDate"] == source[number]["installDate"]
    assert by_id[3]["name"] == "Supernode 3" and by_id[3]["notes"] == "Supernode"
    assert by_id[40]["notes"] == "POP" and "name" not in by_id[9002]
    assert by_id[9010]["notes"] == "Omni"  # the node has a sector named Omni
    assert by_id[2]["panoramas"] == ["2.jpg", "9002a.jpg"]


def test_links_and_sectors_feeds(imported):
    links = _get(imported, "/api/v1/mapdata/links/").json()
    assert all(_ordered_subset(list(link), LINK_KEYS) for link in links)
    # (2, 21, planned) is gone: 21 is Powered Off, an Inactive node (MeshDB's views/map.py).
    assert sorted((x["from"], x["to"], x["status"]) for x in links) == [
        (3, 10, "active"),
        (3, 40, "fiber"),
        (10, 2, "60GHz"),
        (10, 3, "active"),
        (40, 9200, "vpn"),
        (61, 3, "active"),
    ]
    assert not [x for x in links if 21 in (x["from"], x["to"])]
    sectors = _get(imported, "/api/v1/mapdata/sectors/").json()
    assert all(_ordered_subset(list(s), SECTOR_KEYS) for s in sectors)
    # The abandoned (Inactive) Omni on 10 is left out, as MeshDB's MapDataSectorList does.
    assert sorted((s["nodeId"], s["device"], s["status"], s["radius"]) for s in sectors) == [
        (3, "LAP-120", "active", 1),
        (3, "LAP-120", "active", 1),
        (60, "wAP60Gx3", "potential", 0.5),
    ]


def test_served_feed_imports_back_as_meshdb_serves_it(imported, sessions, tmp_path):
    for name in ("nodes", "links", "sectors"):
        body = _get(imported, f"/api/v1/mapdata/{name}/").content
        (tmp_path / f"{name}.json").write_bytes(body)
    report = import_map(sessions, tmp_path)
    # Everything comes back as it is but Planned node 60: MeshDB serves its NN row with no
    # status, which the legacy feed means as a Request Received install numbered 60.
    created = {kind: n for kind, n in report.created.items() if n}
    assert created == {"installs": 1, "members": 1}, report.format()
    install = imported.get("/api/v1/installs/60/").json()
    assert install["status"] == "Request Received"


def test_no_member_data_in_any_feed(imported):
    member = imported.create(
        "members",
        {
            "name": "Zelda Secretname",
            "primary_email_address": "zelda@example.org",
            "phone_number": "+1 212 555 0100",
        },
    )
    changes = {"member": {"id": member["id"]}, "unit": "4B", "notes": "call Zelda at home"}
    for number in (2, 9010):  # a node's dot and an install that joined a node
        response = imported.patch(f"/api/v1/installs/{number}/", json=changes)
        assert response.status_code == 200, response.text
    for path in FEEDS:
        body = _get(imported, path).text
        for secret in ("Zelda", "zelda@example.org", "555", "Imported member", "4B", "antenna"):
            assert secret not in body, (path, secret)


def test_cache_follows_the_event_log(imported):
    first = _get(imported, "/api/v1/mapdata/nodes/")
    etag = first.headers["etag"]
    again = imported.get("/api/v1/mapdata/nodes/", role=None, headers={"If-None-Match": etag})
    assert again.status_code == 304
    node = imported.get("/api/v1/nodes/3/").json()
    renamed = imported.patch(f"/api/v1/nodes/{node['id']}/", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    after = _get(imported, "/api/v1/mapdata/nodes/", headers={"If-None-Match": etag})
    assert after.headers["etag"] != etag
    assert next(r for r in after.json() if r["id"] == 3)["name"] == "Renamed"
    kml = _get(imported, "/api/v1/kml/").text
    assert "Renamed" in kml


def test_a_status_event_rebuilds_no_feed(imported, sessions):
    from sqlalchemy import func, select

    from daemon.observe import DeviceResult, apply_ping_results
    from ipam import models as m
    from ipam.db import transaction
    from ipam.enums import ObservedStatus as S

    node = imported.get("/api/v1/nodes/3/").json()
    device = imported.create("devices", {"node": node["id"], "name": "omni"})
    etag = _get(imported, "/api/v1/mapdata/nodes/").headers["etag"]
    with transaction(sessions) as session:  # the device answers: device.status_changed
        apply_ping_results(
            session,
            [DeviceResult(uuid.UUID(device["id"]), S.UP, "127.0.0.9", 1, 1, 1, 0.0)],
            datetime.now(UTC),
        )
        changed = select(func.count()).where(m.Event.type == "device.status_changed")
        assert session.scalar(changed) == 1
    again = imported.get("/api/v1/mapdata/nodes/", role=None, headers={"If-None-Match": etag})
    assert again.status_code == 304  # the same feed: a status is no record


def test_geojson_is_well_formed(imported):
    data = _get(imported, "/api/v1/geojson/").json()
    assert data["type"] == "FeatureCollection"
    kinds = {"Point": 0, "LineString": 0}
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        geometry = feature["geometry"]
        kinds[geometry["type"]] += 1
        positions = (
            [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"]
        )
        for lon, lat, *alt in positions:
            assert -180 <= lon <= 180 and -90 <= lat <= 90 and len(alt) <= 1
        if geometry["type"] == "LineString":
            assert len(positions) == 2
    assert kinds == {"Point": 9, "LineString": 6}
    names = {f["properties"]["name"] for f in data["features"] if f["properties"]["kind"] == "node"}
    assert "Hub Place" in names


def test_kml_is_well_formed(imported):
    response = _get(imported, "/api/v1/kml/")
    root = ET.fromstring(response.content)
    assert root.tag == f"{KML}kml"
    marks = root.findall(f".//{KML}Placemark")
    points = [p for p in marks if p.find(f"{KML}Point") is not None]
    lines = [p for p in marks if p.find(f"{KML}LineString") is not None]
    assert (len(points), len(lines)) == (9, 6)
    for point in points:
        lon, lat, *_ = map(float, point.find(f"{KML}Point/{KML}coordinates").text.split(","))
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    styles = {s.get("id") for s in root.iter(f"{KML}Style")}
    assert all(p.find(f"{KML}styleUrl").text[1:] in styles for p in marks)


def test_kml_stays_valid_xml_whatever_a_node_is_named(imported):
    # Issue 11: a name with control characters made the public KML unparseable for everyone.
    node = imported.get("/api/v1/nodes/3/").json()
    name = "Evil\x01\x0b\x1f\x7f name\ufffe\U0001f600"
    renamed = imported.patch(f"/api/v1/nodes/{node['id']}/", json={"name": name})
    assert renamed.status_code == 200, renamed.text
    root = ET.fromstring(_get(imported, "/api/v1/kml/").content)
    names = [n.text for n in root.iter(f"{KML}name")]
    assert "NN 3 Evil\ufffd\ufffd\ufffd\x7f name\ufffd\U0001f600" in names


@pytest.mark.parametrize(
    ("status", "link_type", "word"),
    [
        ("Active", "6 GHz", "60GHz"),  # MeshDB's map serializer counts 6 GHz as millimetre
        ("Active", "24 GHz", "60GHz"),
        ("Active", "5 GHz", "active"),
        ("Active", "Fiber", "fiber"),
        ("Planned", "6 GHz", "planned"),
        ("Inactive", "Fiber", "dead"),  # MeshDB's word for an Inactive link
    ],
)
def test_link_words(status, link_type, word):
    from ipam.imports.nycmesh_words import LINK_WORDS
    from ipam.maps.links import link_word

    assert link_word(status, link_type) == word
    # The NYC import reads every word served back as the same status.
    assert LINK_WORDS[word.lower()][0] == status
