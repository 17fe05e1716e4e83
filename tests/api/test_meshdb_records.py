"""Records field for field with MeshDB (issue 12, point 4): its choices and spellings
(`meshapi/models/node.py`, `building.py`, `member.py`), through the records API."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("given", "served"),
    [("rooftop", "rooftop"), ("Rooftop", "rooftop"), ("Unknown", "None"), (None, "None")],
)
def test_node_placement_is_served_as_meshdb_serves_it(api, given, served):
    node = api.create(
        "nodes", {"status": "Active", "placement": given, "latitude": 40.7, "longitude": -73.9}
    )
    assert node["placement"] == served
    assert api.get(f"/api/v1/nodes/{node['id']}/").json()["placement"] == served


def test_node_placement_default_and_refusal(api):
    assert (
        api.create("nodes", {"status": "Planned", "latitude": 40.7, "longitude": -73.9})[
            "placement"
        ]
        == "None"
    )
    refused = api.post(
        "/api/v1/nodes/",
        json={"status": "Planned", "placement": "attic", "latitude": 40.7, "longitude": -73.9},
    )
    assert refused.status_code == 422
    allowed = refused.json()["errors"][0]["allowed"]
    assert allowed == ["rooftop", "balcony", "window", "indoor", "None"]


PLACE = {"latitude": 40.7, "longitude": -73.9}


@pytest.mark.parametrize("field", ["status", "latitude", "longitude"])
def test_node_status_and_place_are_required_as_meshdb_requires_them(api, field):
    # MeshDB's Node model gives status, latitude and longitude no default and no null
    # (meshapi/models/node.py), so its NodeSerializer answers {"<field>": ["This field is
    # required."]}: meshkeeper answers 422 naming the field.
    body = {"status": "Planned", **PLACE}
    del body[field]
    refused = api.post("/api/v1/nodes/", json=body)
    assert refused.status_code == 422
    assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [(field, "missing")]
    null = api.post("/api/v1/nodes/", json={**body, field: None})
    assert null.status_code == 422 and null.json()["errors"][0]["field"] == field
    # A whole record (PUT) needs them too; a PATCH changes only what it names.
    node = api.create("nodes", {"status": "Planned", "name": "kept", **PLACE})
    path = f"/api/v1/nodes/{node['id']}/"
    put = api.put(path, json=body)
    assert put.status_code == 422 and put.json()["errors"][0]["field"] == field
    patched = api.patch(path, json={"name": "renamed"})
    assert patched.status_code == 200
    assert (patched.json()["status"], patched.json()["latitude"]) == ("Planned", 40.7)
    cleared = api.patch(path, json={field: None})
    assert cleared.status_code == 422 and cleared.json()["errors"][0]["field"] == field
    assert api.get(path).json()["name"] == "renamed"


def test_an_active_node_made_without_a_number_gets_one(api):
    # MeshDB's Node.save: "we don't want active nodes that don't have network numbers", so
    # it takes the next free NN (from 101, meshapi/util/network_number.py).
    active = api.create("nodes", {"status": "Active", **PLACE})
    assert active["network_number"] == 101
    assert api.get("/api/v1/nodes/101/").json()["id"] == active["id"]
    planned = api.create("nodes", {"status": "Planned", **PLACE})
    assert planned["network_number"] is None
    replaced = api.put(f"/api/v1/nodes/{planned['id']}/", json={"status": "Active", **PLACE})
    assert replaced.status_code == 200 and replaced.json()["network_number"] == 102
    history = api.get(f"/api/v1/nodes/{active['id']}/history/").json()
    assert [h["after"]["network_number"] for h in history] == [101]


def test_a_node_made_without_a_place_by_meshkeeper_itself_stays_editable(api, sessions):
    # meshkeeper's own paths (map feed, CSV and MeshDB imports, NN assignment) write through
    # ipam/records, not this schema: a node they made without coordinates is served, and a
    # PATCH that leaves the place alone works; a PUT must give it, as MeshDB's would.
    from ipam import models as m
    from ipam.db import transaction

    with transaction(sessions) as session:
        node = m.Node(status="Planned", name="from a feed", buildings=[])
        session.add(node)
        session.flush()
        node_id = str(node.id)
    path = f"/api/v1/nodes/{node_id}/"
    shown = api.get(path).json()
    assert (shown["latitude"], shown["longitude"], shown["placement"]) == (None, None, "None")
    assert api.patch(path, json={"notes": "seen"}).status_code == 200
    assert api.put(path, json={"status": "Planned"}).status_code == 422
    assert api.put(path, json={"status": "Planned", **PLACE}).json()["latitude"] == 40.7


def test_address_truth_sources_take_meshdb_names_plain(api):
    body = {
        "latitude": 40.7,
        "longitude": -73.9,
        "address_truth_sources": ["AddressTruthSource.NYCPlanningLabs", "HumanEntry"],
    }
    building = api.create("buildings", body)
    assert building["address_truth_sources"] == ["NYCPlanningLabs", "HumanEntry"]
    refused = api.post("/api/v1/buildings/", json={**body, "address_truth_sources": ["Guess"]})
    assert refused.status_code == 422
    assert "OSMNominatimZIPOnly" in refused.json()["errors"][0]["allowed"]


def test_payment_preference_is_cash_stripe_or_null(api):
    assert (
        api.create("members", {"name": "A", "payment_preference": "Stripe"})["payment_preference"]
        == "stripe"
    )
    assert (
        api.create("members", {"name": "B", "payment_preference": None})["payment_preference"]
        is None
    )
    refused = api.post("/api/v1/members/", json={"name": "C", "payment_preference": "bitcoin"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["allowed"] == ["cash", "stripe"]


def test_devices_read_their_place_through_their_node_and_list_their_links(api):
    node = api.create(
        "nodes", {"status": "Active", "latitude": 40.71, "longitude": -73.99, "altitude": 52.0}
    )
    ref = {"id": node["id"]}
    omni = api.create("devices", {"node": ref, "name": "omni"})
    sector = api.create(
        "sectors", {"node": ref, "name": "north", "radius": 1, "azimuth": 0, "width": 90}
    )
    ap = api.create(
        "accesspoints", {"node": ref, "name": "ap", "latitude": 40.5, "longitude": -73.5}
    )
    link = api.create(
        "links",
        {"from_device": {"id": omni["id"]}, "to_device": {"id": ap["id"]}, "status": "Active"},
    )
    for device in (omni, sector):
        got = api.get(f"/api/v1/devices/{device['id']}/").json()
        assert (got["latitude"], got["longitude"], got["altitude"]) == (40.71, -73.99, 52.0)
    got_ap = api.get(f"/api/v1/accesspoints/{ap['id']}/").json()
    assert (got_ap["latitude"], got_ap["longitude"], got_ap["altitude"]) == (40.5, -73.5, None)
    assert api.get(f"/api/v1/devices/{omni['id']}/").json()["links_from"] == [{"id": link["id"]}]
    assert api.get(f"/api/v1/devices/{omni['id']}/").json()["links_to"] == []
    assert got_ap["links_to"] == [{"id": link["id"]}] and got_ap["links_from"] == []
    # A node that moves moves its devices (nothing is stored on the device).
    api.patch(f"/api/v1/nodes/{node['id']}/", json={"latitude": 40.8})
    listed = api.get("/api/v1/sectors/").json()["results"]
    assert [s["latitude"] for s in listed if s["id"] == sector["id"]] == [40.8]


def test_references_by_any_key(api):
    node = api.create(
        "nodes", {"network_number": 101, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    other = api.create(
        "nodes", {"network_number": 102, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )
    building = api.create(
        "buildings",
        {"latitude": 40.7, "longitude": -73.9, "primary_node": {"network_number": 101}},
    )
    assert building["primary_node"] == {"id": node["id"], "network_number": 101}
    member = api.create("members", {"name": "M"})
    install = api.create(
        "installs",
        {
            "member": member["id"],
            "building": {"id": building["id"]},
            "node": {"network_number": 101, "id": node["id"]},  # both keys, one record
        },
    )
    assert install["node"]["id"] == node["id"]
    moved = api.patch(
        f"/api/v1/buildings/{building['id']}/", json={"nodes": [{"network_number": 102}]}
    ).json()
    assert other["id"] in {n["id"] for n in moved["nodes"]}
    mismatch = api.patch(
        f"/api/v1/installs/{install['install_number']}/",
        json={"node": {"network_number": 102, "id": node["id"]}},
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["field"] == "node"
    assert "name different records" in mismatch.json()["detail"]
    missing = api.patch(
        f"/api/v1/installs/{install['install_number']}/", json={"node": {"network_number": 999}}
    )
    assert missing.status_code == 422 and "network_number 999" in missing.json()["detail"]
    assert (
        api.get(f"/api/v1/installs/{install['install_number']}/").json()["node"]["id"] == node["id"]
    )


def _an_install(api):
    member = api.create("members", {"name": "Billed"})
    building = api.create("buildings", {"latitude": 40.7, "longitude": -73.9})
    return api.create("installs", {"member": member["id"], "building": building["id"]})


def test_stripe_subscription_id_validated_as_meshdb(api):
    install = _an_install(api)
    path = f"/api/v1/installs/{install['install_number']}/"
    good = "sub_" + "A1b2C3d4E5f6G7h8I9j0K1l2"
    assert (
        api.patch(path, json={"stripe_subscription_id": good}).json()["stripe_subscription_id"]
        == good
    )
    for bad in ("sub_short", "cus_" + "x" * 24, "sub_" + "x" * 23 + "!"):
        refused = api.patch(path, json={"stripe_subscription_id": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "stripe_subscription_id"


def test_install_fee_billing_data_resource(api):
    install = _an_install(api)
    number = install["install_number"]
    datum = api.create(
        "billing/install-fee-data",
        {"install": {"install_number": number}, "invoice_number": "INV-7", "notes": "HDFC"},
    )
    assert datum["status"] == "ToBeBilled"
    assert datum["install"] == {"id": install["id"], "install_number": number}
    shown = api.get(f"/api/v1/installs/{number}/").json()["install_fee_billing_datum"]
    assert shown == {
        "id": datum["id"],
        "status": "ToBeBilled",
        "billing_date": None,
        "invoice_number": "INV-7",
        "notes": "HDFC",
    }
    billed = api.patch(
        f"/api/v1/billing/install-fee-data/{datum['id']}/",
        json={"status": "Billed", "billing_date": "2025-01-31"},
    ).json()
    assert (billed["status"], billed["billing_date"]) == ("Billed", "2025-01-31")
    history = api.get(f"/api/v1/billing/install-fee-data/{datum['id']}/history/").json()
    assert sorted(h["action"] for h in history) == ["created", "updated"]
    # One datum per install (MeshDB's OneToOneField); the install cannot be deleted under it.
    twice = api.post("/api/v1/billing/install-fee-data/", json={"install": install["id"]})
    assert twice.status_code == 409
    assert api.delete(f"/api/v1/installs/{number}/").status_code == 409
    assert (
        api.post(
            "/api/v1/billing/install-fee-data/", json={"install": install["id"]}, role="read_only"
        ).status_code
        == 403
    )
    lookup = api.get(f"/api/v1/billing/install-fee-data/lookup/?install={install['id']}").json()
    assert [d["id"] for d in lookup["results"]] == [datum["id"]]
    assert api.get("/api/v1/billing/install-fee-data/", role="read_only").json()["count"] == 1


def test_number_keys_only_where_they_name_the_target(api):
    # A member or a device has no network number: such a reference is a 422 naming the field.
    building = api.create("buildings", {"latitude": 40.7, "longitude": -73.9})
    refused = api.post(
        "/api/v1/installs/",
        json={"member": {"network_number": 101}, "building": building["id"]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "member"
    prefix = api.create("prefixes", {"cidr": "198.18.40.0/24", "role": "test"})
    allocate = api.post(
        f"/api/v1/prefixes/{prefix['id']}/allocate/", json={"device": {"network_number": 5}}
    )
    assert allocate.status_code == 422


def test_member_phone_numbers_are_normalised_as_the_join_form_does(api):
    # MeshDB's Member.save normalises both fields (meshapi/models/member.py); meshkeeper keeps
    # the join form's spelling, E.164, so a number has one spelling whichever way it came in.
    made = api.create(
        "members",
        {
            "name": "Ada",
            "phone_number": "(212) 555-0123",
            "additional_phone_numbers": ["718.555.0142", "+44 20 7946 0958", "212-555-0123"],
        },
    )
    assert made["phone_number"] == "+12125550123"
    assert made["additional_phone_numbers"] == ["+17185550142", "+442079460958", "+12125550123"]
    assert made["all_phone_numbers"] == ["+12125550123", "+17185550142", "+442079460958"]
    path = f"/api/v1/members/{made['id']}/"
    patched = api.patch(path, json={"phone_number": "+1 646 555 0100 ext. 12"}).json()
    assert patched["phone_number"] == "+16465550100;ext=12"  # RFC 3966's extension, kept
    replaced = api.put(path, json={"name": "Ada", "phone_number": "  "}).json()
    assert (replaced["phone_number"], replaced["additional_phone_numbers"]) == (None, [])


@pytest.mark.parametrize(
    ("field", "value", "named", "reason"),
    [
        # MeshDB: {"phone_number": ["Invalid phone number: 555"]} (meshapi/validation.py).
        ("phone_number", "555", "phone_number", "'555' is not a valid phone number"),
        ("phone_number", "call me", "phone_number", "'call me' is not a phone number"),
        # Possible but not valid: MeshDB stores "+1 5551234"; meshkeeper, as its join form, refuses.
        ("phone_number", "555-1234", "phone_number", "'555-1234' is not a valid phone number"),
        (
            "additional_phone_numbers",
            ["+12125550123", "12345"],
            "additional_phone_numbers.1",
            "'12345' is not a valid phone number",
        ),
        # MeshDB's list validator refuses an empty entry too.
        ("additional_phone_numbers", [""], "additional_phone_numbers.0", "'' is not a phone"),
    ],
)
def test_an_invalid_member_phone_number_is_refused_naming_field_and_rule(
    api, field, value, named, reason
):
    base = {"name": "Ada", "phone_number": "+12125550123"}
    created = api.post("/api/v1/members/", json={**base, field: value})
    member = api.create("members", base)
    path = f"/api/v1/members/{member['id']}/"
    for answer in (
        created,
        api.put(path, json={**base, field: value}),
        api.patch(path, json={field: value}),
    ):
        assert answer.status_code == 422, answer.text
        [error] = answer.json()["errors"]
        assert (error["field"], error["rule"]) == (named, "phone_number_invalid")
        assert error["message"].startswith(reason)
    assert api.get(path).json()["phone_number"] == "+12125550123"
    assert api.get("/api/v1/members/", role="read_only").json()["count"] == 1
