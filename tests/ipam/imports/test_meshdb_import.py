"""`meshkeeper import meshdb`: a running MeshDB (a loopback stand-in) copied through its API."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select, text

from cli import main as cli
from cli import meshdb_client
from ipam import models as m
from ipam.enums import NodePlacement
from ipam.imports import meshdb_apply
from ipam.imports.meshdb_plan import placement, plan_meshdb
from ipam.records.changes import KINDS
from tests import meshdb_server as mdb

# Billing data and Stripe ids arrive with branch meshdb's records; before it, they are reported.
BILLING_HERE = "billing/install-fee-data" in KINDS
STRIPE_HERE = hasattr(m.Install, "stripe_subscription_id")
STRIPE_ID = "sub_1PqRsTuVwXyZ0123456789ab"


def small_meshdb() -> dict[str, list[dict]]:
    """Every kind of record, a few odd ones among them, in MeshDB's serializer shapes."""
    alice = mdb.member(
        "Alice Ng",
        "alice@example.org",
        additional_email_addresses=["a.ng@example.net"],
        phone_number="+1 212-555-0100",
        payment_preference="cash",
    )
    bob = mdb.member("Bob Ruiz", None, slack_handle="bobr", notes="prefers texts")
    carol = mdb.member("Carol Oh", "carol@example.org")
    hub = mdb.node(101, 40.7101, -73.9601, type="Hub", name="Hub 101", altitude=30.5)
    planned = mdb.node(102, 40.7202, -73.9702, status="Planned", placement="None")
    unnumbered = mdb.node(None, 40.7303, -73.9803, status="Planned", placement="balcony")
    # MeshDB's own data: an NN above 8000 cannot be held here (models.py nn_range).
    impossible = mdb.node(9001, 40.7, -73.9)
    b1 = mdb.building(40.7101, -73.9601, [hub], bin=1001234, street_address="1 Main St")
    b2 = mdb.building(40.7202, -73.9702, [planned, hub], zip_code="11201", panoramas=["p.jpg"])
    b3 = mdb.building(40.7303, -73.9803, [unnumbered])
    i5 = mdb.install(
        5, alice, b1, hub, ticket_number="T-5", diy=False, stripe_subscription_id=STRIPE_ID
    )
    i7 = mdb.install(7, bob, b2, planned, status="Pending", additional_members=[mdb.ref(carol)])
    i900 = mdb.install(900, carol, b3, None, request_date="2024-06-01T18:30:00.123456Z")
    stranger = mdb.member("Not served", None)
    orphan = mdb.install(901, stranger, b3, None)
    on_impossible = mdb.install(902, carol, b3, impossible)
    dish = mdb.device(hub, "nycmesh-101-dish", uisp_id="uisp-1")
    omni = mdb.device(planned, "nycmesh-102-omni", status="Potential")
    sector = {**mdb.device(hub, "nycmesh-101-north"), "radius": 0.3, "azimuth": 15, "width": 120}
    ap = {
        **mdb.device(planned, "nycmesh-102-pole"),
        "latitude": 40.7205,
        "longitude": -73.9705,
        "altitude": 12.0,
    }
    links = [
        mdb.link(dish, omni, type="5 GHz Airmax", description="101-102"),
        mdb.link(sector, ap, status="Planned", type=None),
    ]
    data = {
        "members": [alice, bob, carol],
        "nodes": [hub, planned, unnumbered, impossible],
        "buildings": [b1, b2, b3],
        "installs": [i5, i7, i900, orphan, on_impossible],
        # MeshDB's device list holds sectors and access points too (model inheritance).
        "devices": [dish, omni, sector, ap],
        "sectors": [sector],
        "accesspoints": [ap],
        "links": links,
        "loses": [mdb.los(b1, b3, notes="clear view")],
        "billing/install-fee-data": [
            {
                "id": "5e1f7c3a-3b0e-4e0a-9a43-b6a1c3e2d001",
                "install": mdb.ref(i5, "install_number"),
                "status": "ToBeBilled",
                "billing_date": None,
                "invoice_number": None,
                "notes": None,
            }
        ],
    }
    return data


def run_cli(url: str, token: str = mdb.TOKEN) -> int:
    return cli.main(["import", "meshdb", "--url", url, "--token", token])


@pytest.fixture()
def env(db, database_url, tmp_path, monkeypatch):
    """Settings from the environment, as an operator runs the command."""
    from ipam.settings import get_settings

    monkeypatch.setenv("MESHKEEPER_DATABASE_URL", database_url)
    monkeypatch.setenv("MESHKEEPER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- pure ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("rooftop", NodePlacement.ROOFTOP),
        ("Window", NodePlacement.WINDOW),
        ("None", NodePlacement.UNKNOWN),  # MeshDB's word for unknown (its migration 0013)
        (None, NodePlacement.UNKNOWN),
        ("balcony", NodePlacement.BALCONY),
    ],
)
def test_placement_words_are_meshdbs(given, kept):
    assert placement(given) == kept.value


def test_an_unknown_placement_is_refused():
    with pytest.raises(ValueError, match="attic"):
        placement("attic")


def test_plan_reads_every_kind_and_reports_impossible_rows():
    data = small_meshdb()
    plan = plan_meshdb(data)
    counts = {k: len(v) for k, v in plan.rows.items()}
    assert counts == {
        "members": 3,
        "nodes": 3,
        "buildings": 3,
        "installs": 5,
        "devices": 2,  # the sector and the access point come from their own lists
        "sectors": 1,
        "accesspoints": 1,
        "links": 2,
        "loses": 1,
        "billing/install-fee-data": 1,
    }
    assert [(p.kind, p.detail) for p in plan.problems] == [
        ("impossible value", "network number 9001 is outside 1..8000")
    ]
    b3 = plan.rows["buildings"][next(iter(plan.building_nodes))]
    assert b3["address_truth_sources"] == ["NYCPlanningLabs"]  # stored by plain name


# --- through the command and the API -------------------------------------------------------


def test_copies_every_record_keeping_ids_numbers_and_fields(env, api, capsys):
    data = small_meshdb()
    with mdb.serve(data) as server:
        assert run_cli(server.url) == 0
    out = capsys.readouterr().out
    assert "missing reference: 2" in out and "impossible value: 1" in out
    alice, bob, carol = data["members"]
    got = api.get(f"/api/v1/members/{alice['id']}/").json()
    for key in ("name", "primary_email_address", "additional_email_addresses", "phone_number"):
        assert got[key] == alice[key]
    i5 = api.get("/api/v1/installs/5/").json()
    assert i5["id"] == data["installs"][0]["id"]
    assert i5["member"]["id"] == alice["id"] and i5["node"]["network_number"] == 101
    assert (i5["ticket_number"], i5["diy"], i5["unit"], i5["roof_access"]) == (
        "T-5",
        False,
        "4F",
        True,
    )
    assert i5["request_date"].startswith("2022-02-27T13:05:00")
    i7 = api.get("/api/v1/installs/7/").json()
    assert i7["status"] == "Pending"
    assert [m_["id"] for m_ in i7["additional_members"]] == [carol["id"]]
    assert api.get("/api/v1/installs/901/").status_code == 404  # its member was not served
    assert api.get("/api/v1/installs/902/").status_code == 404  # its node could not be held
    hub = api.get("/api/v1/nodes/101/").json()
    assert hub["id"] == data["nodes"][0]["id"]
    assert (hub["type"], hub["name"], hub["altitude"]) == ("Hub", "Hub 101", 30.5)
    assert hub["placement"].lower() == "rooftop"
    b2 = api.get(f"/api/v1/buildings/{data['buildings'][1]['id']}/").json()
    assert {n["network_number"] for n in b2["nodes"]} == {101, 102}
    assert b2["primary_node"]["network_number"] == 102 and b2["panoramas"] == ["p.jpg"]
    sector = api.get(f"/api/v1/sectors/{data['sectors'][0]['id']}/").json()
    assert (sector["radius"], sector["azimuth"], sector["width"]) == (0.3, 15, 120)
    ap = api.get(f"/api/v1/accesspoints/{data['accesspoints'][0]['id']}/").json()
    assert (ap["latitude"], ap["longitude"], ap["altitude"]) == (40.7205, -73.9705, 12.0)
    link = api.get(f"/api/v1/links/{data['links'][0]['id']}/").json()
    assert (link["type"], link["description"]) == ("5 GHz Airmax", "101-102")
    assert api.get(f"/api/v1/loses/{data['loses'][0]['id']}/").json()["notes"] == "clear view"
    # Install numbers continue after the largest copied.
    created = api.create(
        "installs", {"member": {"id": bob["id"]}, "building": {"id": data["buildings"][2]["id"]}}
    )
    assert created["install_number"] == 901
    billing_id = data["billing/install-fee-data"][0]["id"]
    if BILLING_HERE:
        datum = api.get(f"/api/v1/billing/install-fee-data/{billing_id}/").json()
        assert (datum["status"], datum["install"]["id"]) == ("ToBeBilled", i5["id"])
    else:
        assert "billing/install-fee-data: 1 records: this release keeps none" in out
    if STRIPE_HERE:
        assert i5["stripe_subscription_id"] == STRIPE_ID
    else:
        assert "installs.stripe_subscription_id: this release has no column for it" in out


def test_history_and_events_then_a_second_run_changes_nothing(env, sessions, capsys):
    data = small_meshdb()
    with mdb.serve(data) as server:
        assert run_cli(server.url) == 0
        with sessions() as s:
            events = _count(s, m.Event)
            types = dict(s.execute(text("SELECT type, count(*) FROM event GROUP BY type")).all())
            actors = set(s.scalars(text("SELECT DISTINCT actor FROM history")))
        assert types["install.created"] == 3 and types["member.created"] == 3
        assert types["device.created"] == 2 and types["sector.created"] == 1
        assert types["accesspoint.created"] == 1 and types["los.created"] == 1
        assert actors == {meshdb_apply.ACTOR}
        capsys.readouterr()
        assert run_cli(server.url) == 0
    out = capsys.readouterr().out
    with sessions() as s:
        assert _count(s, m.Event) == events
    assert "installs" in out and "       0        0          3" in out


def test_edits_on_meshdb_are_applied_with_history(env, api, sessions, capsys):
    data = small_meshdb()
    with mdb.serve(data) as server:
        assert run_cli(server.url) == 0
        with sessions() as s:
            before = s.scalar(select(func.max(m.Event.id)))
        alice, _bob, carol = data["members"]
        alice["name"] = "Alice Ng-Lee"
        data["installs"][0]["status"] = "Inactive"
        data["installs"][0]["abandon_date"] = "2025-01-31"
        data["buildings"][2]["nodes"].append(mdb.ref(data["nodes"][0], "network_number"))
        data["installs"][1]["additional_members"] = []
        # A member new on MeshDB's side, now on install 900.
        dana = mdb.member("Dana Yu", "dana@example.org")
        data["members"].append(dana)
        data["installs"][2]["member"] = mdb.ref(dana)
        # A sector's own table and its device table both change (joined inheritance).
        data["sectors"][0].update(azimuth=200, status="Inactive")
        assert run_cli(server.url) == 0
    with sessions() as s:
        new = s.execute(
            text("SELECT type, data FROM event WHERE id > :id ORDER BY id"), {"id": before}
        ).all()
    # Creations first: a receiver never sees an update naming a record not yet created.
    assert new[0][0] == "member.created" and new[0][1]["after"]["id"] == dana["id"]
    assert sorted(t for t, _ in new[1:]) == [
        "building.updated",
        "install.updated",
        "install.updated",
        "install.updated",
        "member.updated",
        "sector.updated",
    ]
    assert api.get("/api/v1/installs/900/").json()["member"]["id"] == dana["id"]
    sector = api.get(f"/api/v1/sectors/{data['sectors'][0]['id']}/").json()
    assert (sector["azimuth"], sector["status"], sector["width"]) == (200, "Inactive", 120)
    member_event = next(d for t, d in new if t == "member.updated")
    assert (
        member_event["before"]["name"] == "Alice Ng"
        and member_event["after"]["name"] == "Alice Ng-Lee"
    )
    i5 = api.get("/api/v1/installs/5/").json()
    assert (i5["status"], i5["abandon_date"]) == ("Inactive", "2025-01-31")
    assert api.get("/api/v1/installs/7/").json()["additional_members"] == []
    b3 = api.get(f"/api/v1/buildings/{data['buildings'][2]['id']}/").json()
    assert {n["network_number"] for n in b3["nodes"] if n.get("network_number")} == {101}
    assert api.get(f"/api/v1/members/{alice['id']}/").json()["name"] == "Alice Ng-Lee"
    history = api.get(f"/api/v1/members/{alice['id']}/history/").json()
    assert sorted(h["action"] for h in history) == ["created", "updated"]


def test_pages_followed_and_token_sent(env, sessions, monkeypatch):
    monkeypatch.setattr(meshdb_client, "PAGE_SIZE", 2)
    data = small_meshdb()
    with mdb.serve(data) as server:
        assert run_cli(server.url) == 0
    installs = [p for p in server.requests if p.startswith("/api/v1/installs/")]
    assert len(installs) == 3  # 5 installs, 2 a page
    with sessions() as s:
        assert _count(s, m.Install) == 3


def test_refused_token_writes_nothing(env, sessions, capsys):
    with mdb.serve(small_meshdb()) as server:
        assert run_cli(server.url, token="f" * 40) == 2
    assert "refused the token (401)" in capsys.readouterr().err
    with sessions() as s:
        assert _count(s, m.Member) == 0


def test_all_or_nothing(env, sessions, monkeypatch):
    real = meshdb_apply._write

    def fail_at_links(run, resource, now):
        if resource == "links":
            raise RuntimeError("disk full")
        real(run, resource, now)

    monkeypatch.setattr(meshdb_apply, "_write", fail_at_links)
    with mdb.serve(small_meshdb()) as server, pytest.raises(RuntimeError):
        run_cli(server.url)
    with sessions() as s:
        assert _count(s, m.Member) == _count(s, m.Node) == _count(s, m.Event) == 0


def test_a_taken_number_is_reported_not_overwritten(env, api, capsys):
    api.create("nodes", {"network_number": 101, "status": "Active", "latitude": 1, "longitude": 2})
    data = small_meshdb()
    with mdb.serve(copy.deepcopy(data)) as server:
        assert run_cli(server.url) == 0
    out = capsys.readouterr().out
    assert "taken number: 1" in out and "network_number 101 is held here" in out
    # What hung from the refused node is reported too, never half-written.
    assert api.get("/api/v1/installs/5/").status_code == 404
    assert api.get("/api/v1/installs/7/").status_code == 200
