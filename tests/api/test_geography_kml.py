"""MeshDB's KML files: geography/whole-mesh.kml and geography/active-mesh.kml over HTTP.

Folders, styles, placemark names and ExtendedData are read off MeshDB's
`views/geography.py` (WholeMeshKML) and `views/active_mesh_kml.py` (ActiveMeshKML); the
documents are parsed as KML 2.2 with ElementTree's namespaces.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from tests.api import builders as b

NS = {"k": "http://www.opengis.net/kml/2.2"}
WHOLE = "/api/v1/geography/whole-mesh.kml"
ACTIVE = "/api/v1/geography/active-mesh.kml"
KML_TYPE = "application/vnd.google-earth.kml+xml; charset=utf-8"


def _node(api, nn, status="Active", lat=40.70, lon=-73.95, **fields):
    """A node with status and coordinates always sent (they become required on the API)."""
    body = {"network_number": nn, "status": status, "latitude": lat, "longitude": lon}
    return api.create("nodes", {**body, **fields})


def _kml(api, path) -> ET.Element:
    response = api.get(path, role=None)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == KML_TYPE
    assert response.headers["access-control-allow-origin"] == "*"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.opengis.net/kml/2.2}kml"
    return root


def _names(parent: ET.Element, tag: str) -> list[str]:
    return [e.findtext("k:name", namespaces=NS) for e in parent.findall(f"k:{tag}", NS)]


def _folder(parent: ET.Element, *path: str) -> ET.Element:
    for name in path:
        parent = next(
            f for f in parent.findall("k:Folder", NS) if f.findtext("k:name", namespaces=NS) == name
        )
    return parent


def _data(mark: ET.Element) -> dict[str, str]:
    return {
        d.get("name"): d.findtext("k:value", namespaces=NS)
        for d in mark.findall("k:ExtendedData/k:Data", NS)
    }


def _coords(mark: ET.Element, geometry: str) -> list[tuple[float, ...]]:
    text = mark.findtext(f"k:{geometry}/k:coordinates", namespaces=NS)
    return [tuple(float(c) for c in p.split(",")) for p in text.split()]


def _mark(folder: ET.Element, name: str) -> ET.Element:
    return next(
        m for m in folder.findall("k:Placemark", NS) if m.findtext("k:name", namespaces=NS) == name
    )


def _styles_resolve(root: ET.Element) -> None:
    defined = {s.get("id") for s in root.iter("{http://www.opengis.net/kml/2.2}Style")}
    for mark in root.iter("{http://www.opengis.net/kml/2.2}Placemark"):
        assert mark.findtext("k:styleUrl", namespaces=NS)[1:] in defined


@pytest.fixture()
def mesh(api):
    """A hub with installs, a planned and an inactive node, links, a line of sight."""
    who = b.member(api, "Kml Member")
    hub = _node(api, 600, name="Hub Six", type="Hub", altitude=30)
    planned = _node(api, 601, status="Planned", lat=40.71, lon=-73.96)
    dead = _node(api, 602, status="Inactive", lat=40.72, lon=-73.97, altitude=12)
    brooklyn = b.building(api, "1 Hub Street", latitude=40.7001, longitude=-73.9501)
    api.patch(f"/api/v1/nodes/{hub['id']}/", json={"buildings": [brooklyn["id"]]})
    manhattan = b.building(api, "2 Dead Street", city="New York", latitude=40.72, longitude=-73.97)
    hoboken = b.building(api, "3 River Street", city="Hoboken", latitude=40.74, longitude=-74.03)
    lonely = b.building(api, "4 Lone Street", latitude=40.65, longitude=-73.9, altitude=8)
    w = {
        "i1": b.install(api, who, brooklyn, hub, roof_access=True, install_date="2024-03-01"),
        "i2": b.install(api, who, brooklyn, hub, status="Pending"),
        "i3": b.install(api, who, brooklyn, hub, status="Closed"),
        "i4": b.install(api, who, manhattan, dead, status="Inactive"),
        "i5": b.install(api, who, hoboken, None, status="Request Received"),
        "i6": b.install(api, who, lonely, None, status="Pending"),
    }
    radio = b.device(api, hub, "hub-radio")
    far = b.device(api, planned, "planned-radio")
    w["wds"] = b.link(api, radio, far, type="5 GHz WDS")
    w["fiber"] = b.link(api, radio, far, type="Fiber", install_date="2023-07-04")
    b.link(api, radio, far, type="VPN")  # never drawn
    b.link(api, radio, b.device(api, dead, "dead-radio"), status="Planned", type="60 GHz")
    w["los"] = b.los(api, hoboken, brooklyn)
    return w


def test_whole_mesh_folders_styles_and_extended_data(api, mesh):
    root = _kml(api, WHOLE)
    doc = root.find("k:Document", NS)
    assert [s.get("id") for s in doc.findall("k:Style", NS)] == [
        "grey_dot",
        "red_dot",
        "red_line",
        "grey_line",
        "dark_grey_line",
    ]
    assert _names(doc, "Folder") == ["Nodes", "Links"]
    boroughs = ["Manhattan", "Brooklyn", "Queens", "The Bronx", "Staten Island", "Other"]
    assert _names(_folder(doc, "Nodes"), "Folder") == ["Active", "Inactive"]
    for state in ("Active", "Inactive"):
        assert _names(_folder(doc, "Nodes", state), "Folder") == boroughs
    assert _names(_folder(doc, "Links"), "Folder") == ["Active", "Inactive"]

    # An Active install, then its node once (the first install that reaches NN 600).
    brooklyn = _folder(doc, "Nodes", "Active", "Brooklyn")
    assert _names(brooklyn, "Placemark") == ["1", "600"]
    one, hub = _mark(brooklyn, "1"), _mark(brooklyn, "600")
    assert one.findtext("k:styleUrl", namespaces=NS) == "#red_dot"
    assert _data(one) == {
        "name": "1",
        "roofAccess": "True",
        "marker-color": "#F00",
        "id": "1",
        "status": "Active",
    }
    assert one.findtext("k:Point/k:altitudeMode", namespaces=NS) == "absolute"
    assert _coords(one, "Point") == [(-73.9501, 40.7001, 5.0)]  # no altitude: 5 m
    assert hub.findtext("k:styleUrl", namespaces=NS) == "#grey_dot"
    assert _data(hub)["roofAccess"] == "False" and _data(hub)["marker-color"] == "#777"
    assert _coords(hub, "Point") == [(-73.95, 40.70, 30.0)]
    # Everything not Active is "Inactive", by the building's city; Closed is left out.
    assert _names(_folder(doc, "Nodes", "Inactive", "Brooklyn"), "Placemark") == ["2", "6"]
    assert _names(_folder(doc, "Nodes", "Inactive", "Manhattan"), "Placemark") == ["4", "602"]
    other = _folder(doc, "Nodes", "Inactive", "Other")
    assert _names(other, "Placemark") == ["5"]
    assert _data(_mark(other, "5"))["status"] == "Request Received"

    # Links: not Inactive, not VPN; planned ones are "Inactive"; lines of sight too.
    active = _folder(doc, "Links", "Active")
    label = "Links-NN600 (Hub Six)-NN601"
    assert _names(active, "Placemark") == [label, label]
    fiber = next(m for m in active.findall("k:Placemark", NS) if _data(m)["type"] == "Fiber")
    assert fiber.findtext("k:styleUrl", namespaces=NS) == "#red_line"
    assert _data(fiber) == {
        "name": f"Links-{mesh['fiber']['id']}-NN600 (Hub Six)-NN601",
        "stroke": "#F00",
        "fill": "#000000",
        "fill-opacity": "0",
        "from": "600",
        "to": "601",
        "status": "Active",
        "type": "Fiber",
    }
    assert fiber.findtext("k:LineString/k:extrude", namespaces=NS) == "1"
    assert _coords(fiber, "LineString") == [(-73.95, 40.70, 30.0), (-73.96, 40.71, 5.0)]
    inactive = _folder(doc, "Links", "Inactive")
    assert _names(inactive, "Placemark") == ["Links-NN600 (Hub Six)-NN602", "Links-5-1"]
    planned = _mark(inactive, "Links-NN600 (Hub Six)-NN602")
    assert planned.findtext("k:styleUrl", namespaces=NS) == "#dark_grey_line"
    assert _data(planned)["stroke"] == "#777" and _data(planned)["status"] == "Planned"
    los = _mark(inactive, "Links-5-1")
    assert los.findtext("k:styleUrl", namespaces=NS) == "#grey_line"
    assert _data(los) == {
        "name": f"LOS-{mesh['los']['id']} 5-1",
        "stroke": "#CCC",
        "fill": "#000000",
        "fill-opacity": "0",
        "from": "#5 (3 River Street)",
        "to": "#1 (1 Hub Street)",
        "source": "Human Annotated",
    }
    _styles_resolve(root)


def test_active_mesh_folders_styles_and_extended_data(api, mesh):
    root = _kml(api, ACTIVE)
    doc = root.find("k:Document", NS)
    look = doc[0]
    assert look.tag == "{http://www.opengis.net/kml/2.2}LookAt"
    assert look.findtext("k:range", namespaces=NS) == "80000"
    assert float(look.findtext("k:longitude", namespaces=NS)) == -73.9857
    links = ["Other", "VPN", "WDS (5 GHz)", "5 GHz", "6 GHz", "24 GHz", "60 GHz", "70-80 GHz"]
    links += ["Fiber", "Ethernet"]
    dots = ["red_dot", "blue_dot", "hub_dot", "green_dot", "yellow_dot", "purple_dot"]
    lines = [f"{t.replace(' ', '_').replace('-', '_')}_line" for t in links]
    styles = doc.findall("k:Style", NS)
    assert [s.get("id") for s in styles] == [*dots, "white_dot", "white_line", *lines]
    hub_style = next(s for s in styles if s.get("id") == "hub_dot")
    assert hub_style.findtext("k:IconStyle/k:color", namespaces=NS).lower() == "fffac85a"
    assert float(hub_style.findtext("k:IconStyle/k:scale", namespaces=NS)) == 0.75
    fiber_style = next(s for s in styles if s.get("id") == "Fiber_line")
    assert fiber_style.findtext("k:LineStyle/k:color", namespaces=NS).lower() == "ff00bef6"
    types = ["Standard", "Hub", "Supernode", "POP", "AP", "Remote"]
    assert _names(doc, "Folder") == ["Nodes", "Links"]
    nodes = _folder(doc, "Nodes")
    assert _names(nodes, "Folder") == [f"{t} Nodes" for t in types] + ["Planned Nodes"]
    assert _names(_folder(doc, "Links"), "Folder") == [*links, "Planned Links"]

    # The hub's place folds its Active and Pending installs (node position wins).
    hub = _mark(_folder(nodes, "Hub Nodes"), "600")
    assert hub.findtext("k:styleUrl", namespaces=NS) == "#hub_dot"
    assert _data(hub) == {
        "name": "Hub Six",
        "nodeType": "Hub",
        "status": "Active",
        "id": "600",
        "install_numbers": "1,2",
        "install_count": "2",
        "install_date": "2024-03-01",
    }
    assert _coords(hub, "Point") == [(-73.95, 40.70, 30.0)]
    # Planned: the node with nothing live, and a Pending install with no node.
    planned = _folder(nodes, "Planned Nodes")
    assert _names(planned, "Placemark") == ["#6", "601"]
    assert _data(_mark(planned, "601")) == {
        "name": "NN 601",
        "nodeType": "Standard",
        "status": "Planned",
        "id": "601",
        "install_count": "0",
    }
    install = _mark(planned, "#6")
    assert install.findtext("k:styleUrl", namespaces=NS) == "#white_dot"
    assert _data(install)["name"] == "Install #6" and _data(install)["install_numbers"] == "6"
    assert _coords(install, "Point") == [(-73.9, 40.65, 8.0)]
    # Inactive nodes and installs, Request Received and Closed installs: not here.
    every = [m.findtext("k:name", namespaces=NS) for m in nodes.iter(f"{{{NS['k']}}}Placemark")]
    assert sorted(every) == ["#6", "600", "601"]

    # One line per pair of places: Fiber beats 5 GHz WDS; VPN never; Planned apart.
    link_folder = _folder(doc, "Links")
    assert [
        m.findtext("k:name", namespaces=NS) for m in link_folder.iter(f"{{{NS['k']}}}Placemark")
    ] == [
        "NN600 (Hub Six)<->NN601",
        "NN600 (Hub Six)<->NN602",
    ]
    fiber = _mark(_folder(link_folder, "Fiber"), "NN600 (Hub Six)<->NN601")
    assert fiber.findtext("k:styleUrl", namespaces=NS) == "#Fiber_line"
    assert _data(fiber) == {
        "type": "Fiber",
        "raw_type": "Fiber",
        "status": "Active",
        "from": "600",
        "to": "601",
        "install_date": "2023-07-04",
    }
    planned_link = _mark(_folder(link_folder, "Planned Links"), "NN600 (Hub Six)<->NN602")
    assert planned_link.findtext("k:styleUrl", namespaces=NS) == "#white_line"
    assert _data(planned_link)["type"] == "60 GHz"
    _styles_resolve(root)


def test_wds_counts_apart_and_other_five_ghz_together(api):
    from ipam.maps.active_mesh import link_kind

    assert link_kind("5 GHz WDS") == "WDS (5 GHz)"
    assert link_kind("5 GHz Airmax") == link_kind("5 GHz Wlan4") == "5 GHz"
    assert link_kind(None) == "Other" and link_kind("Ethernet") == "Ethernet"


def test_kml_files_follow_the_event_log_and_stay_valid_xml(api, mesh):
    first = api.get(WHOLE, role=None)
    etag = first.headers["etag"]
    assert api.get(WHOLE, role=None, headers={"If-None-Match": etag}).status_code == 304
    hub = api.get("/api/v1/nodes/600/").json()
    evil = "Evil\x01 hub\ufffe"
    api.patch(f"/api/v1/nodes/{hub['id']}/", json={"name": evil}).raise_for_status()
    for path in (WHOLE, ACTIVE):
        root = _kml(api, path)
        names = [n.text for n in root.iter("{http://www.opengis.net/kml/2.2}name")]
        assert any("Evil\ufffd hub\ufffd" in (n or "") for n in names), path
    assert api.get(WHOLE, role=None).headers["etag"] != etag


def test_no_member_data_in_the_kml_files(api, mesh):
    secret = api.create(
        "members",
        {"name": "Zelda Secretname", "primary_email_address": "zelda@example.org"},
    )
    number = mesh["i1"]["install_number"]
    changes = {"member": {"id": secret["id"]}, "unit": "4B", "notes": "call Zelda"}
    api.patch(f"/api/v1/installs/{number}/", json=changes).raise_for_status()
    for path in (WHOLE, ACTIVE):
        body = api.get(path, role=None).text
        for word in ("Zelda", "zelda@example.org", "Kml Member", "4B"):
            assert word not in body, (path, word)


def test_a_kml_rebuild_never_holds_up_the_map_feeds(api, mesh):
    import threading

    api.get(WHOLE, role=None)  # the app's feed cache exists from here on
    slot = api.client.app.state.mapfeed_cache._documents["whole-mesh.kml"]
    answers = []

    def ask_for_the_map() -> None:
        answers.append(api.get("/api/v1/mapdata/nodes/", role=None).status_code)

    asker = threading.Thread(target=ask_for_the_map)
    with slot.lock:  # as if a whole-mesh rebuild were under way
        asker.start()
        asker.join(timeout=10)
        served_meanwhile = list(answers)
    asker.join()
    assert served_meanwhile == [200]
