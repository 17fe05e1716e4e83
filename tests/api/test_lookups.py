"""Every lookup filter: text matches substrings case-insensitively, ids and numbers exactly."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.lookups import FILTERS
from tests.api import builders as b


@pytest.fixture(scope="module")
def env(engine, tmp_path_factory) -> Any:
    """A small mesh where every filter picks out a known set of records, by label."""
    with b.shared_api(engine, tmp_path_factory.mktemp("lookups")) as api:
        r: dict[str, dict[str, Any]] = {}
        r["alice"] = b.member(
            api,
            "Alice Example",
            primary_email_address="alice@example.org",
            stripe_email_address="alice.pay@example.net",
            additional_email_addresses=["ALICE.alt@Mesh.org"],
            phone_number="+1 718 555 0100",
            additional_phone_numbers=["212-555-0199"],
        )
        r["bob"] = b.member(
            api, "Bob Builder", primary_email_address="bob@example.org", phone_number="646.555.0200"
        )
        for n in range(1, 6):
            r[f"pager{n}"] = b.member(api, f"Pager {n}")
        r["n1"] = b.node(api, 201, name="Alpha Hub")
        r["n2"] = b.node(api, 202, name="Beta", status="Planned")
        r["n3"] = b.node(api, None, name="gamma site", status="Planned")
        r["b1"] = b.building(
            api,
            "100 Alpha Street",
            3000001,
            zip_code="11201",
            primary_node=r["n1"]["id"],
            nodes=[r["n2"]["id"]],
        )
        r["b2"] = b.building(
            api,
            "200 Beta Avenue",
            1000002,
            city="New York",
            zip_code="10002",
            primary_node=r["n2"]["id"],
        )
        r["b3"] = b.building(
            api, "300 Gamma Road", 4000003, city="Hoboken", state="NJ", zip_code="07030"
        )
        r["i1"] = b.install(api, r["alice"], r["b1"], r["n1"])
        r["i2"] = b.install(api, r["alice"], r["b2"], r["n2"], status="Pending")
        r["i3"] = b.install(api, r["bob"], r["b3"], None, status="Request Received")
        r["d1"] = b.device(api, r["n1"], "nycmesh-201-omni", uisp_id="uisp-a")
        r["d2"] = b.device(api, r["n2"], "nycmesh-202-lbe", status="Inactive")
        r["s1"] = b.sector(api, r["n1"], "nycmesh-201-north", uisp_id="uisp-s")
        r["ap1"] = b.accesspoint(api, r["n3"], "Courtyard AP", status="Potential")
        r["l1"] = b.link(api, r["d1"], r["d2"], type="5 GHz", uisp_id="link-a")
        r["l2"] = b.link(api, r["s1"], r["ap1"], type="Ethernet", status="Planned")
        r["los1"] = b.los(api, r["b1"], r["b2"])
        r["los2"] = b.los(api, r["b2"], r["b3"], source="Existing Link", analysis_date="2024-03-01")
        yield {"api": api, "r": r}


def _q(env: dict[str, Any], query: str) -> str:
    """Put ids in place of {label} in a query."""
    return query.format(**{k: v["id"] for k, v in env["r"].items()})


def _labels(env: dict[str, Any], resource: str, query: str) -> set[str]:
    response = env["api"].get(f"/api/v1/{resource}/lookup/?{_q(env, query)}", role="read_only")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == len(page["results"])
    by_id = {v["id"]: k for k, v in env["r"].items()}
    return {by_id[x["id"]] for x in page["results"]}


CASES = [
    # installs
    ("installs", "network_number=201", {"i1"}),
    ("installs", "network_number=20", set()),
    ("installs", "node={n2}", {"i2"}),
    ("installs", "member={alice}", {"i1", "i2"}),
    ("installs", "building={b3}", {"i3"}),
    ("installs", "status=pending", {"i2"}),
    ("installs", "status=REQUEST RECEIVED", {"i3"}),
    ("installs", "member={alice}&status=Active", {"i1"}),
    # buildings
    ("buildings", "network_number=202", {"b1", "b2"}),
    ("buildings", "network_number=201", {"b1"}),
    ("buildings", "primary_network_number=202", {"b2"}),
    ("buildings", "node={n1}", {"b1"}),
    ("buildings", "node={n3}", set()),
    ("buildings", "install_number=3", {"b3"}),
    ("buildings", "street_address=alpha st", {"b1"}),
    ("buildings", "street_address=AVENUE", {"b2"}),
    # MeshDB's BuildingFilter: city and state iexact, zip_code exact (no substrings).
    ("buildings", "city=brook", set()),
    ("buildings", "city=new york", {"b2"}),
    ("buildings", "state=ny", {"b1", "b2"}),
    ("buildings", "state=nj", {"b3"}),
    ("buildings", "bin=3000001", {"b1"}),
    ("buildings", "bin=300000", set()),
    ("buildings", "zip_code=112", set()),
    ("buildings", "zip_code=11201", {"b1"}),
    ("buildings", "primary_node={n2}", {"b2"}),
    # nodes
    ("nodes", "install_number=1", {"n1"}),
    ("nodes", "install_number=3", set()),
    ("nodes", "name=HUB", {"n1"}),
    ("nodes", "name=a", {"n1", "n2", "n3"}),
    ("nodes", "building={b1}", {"n1", "n2"}),
    ("nodes", "building={b3}", set()),
    ("nodes", "status=planned", {"n2", "n3"}),
    ("nodes", "status=Planned&name=gamma", {"n3"}),
    # members
    ("members", "name=alice", {"alice"}),
    ("members", "name=ER", {"bob", "pager1", "pager2", "pager3", "pager4", "pager5"}),
    ("members", "email=ALT@MESH", {"alice"}),
    ("members", "email=pay@example.net", {"alice"}),
    ("members", "email=bob@", {"bob"}),
    ("members", "email=example.org", {"alice", "bob"}),
    ("members", "phone=0199", {"alice"}),
    ("members", "phone=555-0200", {"bob"}),
    ("members", "phone=555", {"alice", "bob"}),
    # MeshDB's names for the same filters
    ("members", "email_address=ALT@MESH", {"alice"}),
    ("members", "phone_number=555-0200", {"bob"}),
    # Stored E.164 (+16465550200); MeshDB stored "+1 646-555-0200", and its clients' spellings
    # of it still match, by digits.
    ("members", "phone_number=%2B1 646-555-0200", {"bob"}),
    ("members", "phone_number=(212) 555", {"alice"}),
    ("members", "phone_number=%2B17185550100", {"alice"}),
    ("members", "phone_number=718 555 0200", set()),
    # links
    ("links", "network_number=202", {"l1"}),
    ("links", "network_number=201", {"l1", "l2"}),
    ("links", "node={n3}", {"l2"}),
    ("links", "device={d2}", {"l1"}),
    ("links", "device={ap1}", {"l2"}),
    ("links", "status=planned", {"l2"}),
    ("links", "type=5 ghz", {"l1"}),
    ("links", "type=Ethernet", {"l2"}),
    ("links", "uisp_id=link-a", {"l1"}),
    ("links", "uisp_id=link", set()),
    # loses
    ("loses", "network_number=201", {"los1"}),
    ("loses", "network_number=202", {"los1", "los2"}),
    ("loses", "node={n1}", {"los1"}),
    ("loses", "install_number=3", {"los2"}),
    ("loses", "building={b3}", {"los2"}),
    ("loses", "building={b2}", {"los1", "los2"}),
    ("loses", "source=existing link", {"los2"}),
    ("loses", "analysis_date=2024-03-01", {"los2"}),
    ("loses", "analysis_date=2024-03-02", set()),
    # devices: sectors and access points are devices too
    ("devices", "node={n1}", {"d1", "s1"}),
    ("devices", "network_number=202", {"d2"}),
    ("devices", "name=NYCMESH-20", {"d1", "d2", "s1"}),
    ("devices", "name=courtyard", {"ap1"}),
    ("devices", "status=potential", {"ap1"}),
    ("devices", "uisp_id=uisp-s", {"s1"}),
    ("devices", "uisp_id=UISP-S", set()),
    ("devices", "uisp_id=uisp", set()),
    # sectors
    ("sectors", "node={n1}", {"s1"}),
    ("sectors", "node={n2}", set()),
    ("sectors", "network_number=201", {"s1"}),
    ("sectors", "name=North", {"s1"}),
    ("sectors", "status=active", {"s1"}),
    ("sectors", "uisp_id=uisp-s", {"s1"}),
    ("sectors", "uisp_id=uisp-a", set()),
    # access points
    ("accesspoints", "node={n3}", {"ap1"}),
    ("accesspoints", "network_number=202", set()),
    ("accesspoints", "name=yard", {"ap1"}),
    ("accesspoints", "status=Potential", {"ap1"}),
    ("accesspoints", "uisp_id=uisp-s", set()),
]


@pytest.mark.parametrize(("resource", "query", "expected"), CASES)
def test_lookup(env, resource, query, expected):
    assert _labels(env, resource, query) == expected


def test_every_filter_is_exercised():
    # The record resources of MeshDB's shape; prefixes have their own tests (test_prefixes_api).
    used = {(r, part.split("=")[0]) for r, q, _ in CASES for part in q.split("&")}
    records = {r for r, _, _ in CASES}
    wanted = {(r, name) for r, filters in FILTERS.items() if r in records for name in filters}
    assert wanted <= used, sorted(wanted - used)


def test_issue_filters_are_all_offered():
    issue = {
        "installs": {"network_number", "node", "member", "building", "status"},
        "buildings": {
            "network_number",
            "primary_network_number",
            "node",
            "install_number",
            "primary_node",
            "street_address",
            "city",
            "state",
            "bin",
            "zip_code",
        },
        "nodes": {"install_number", "name", "building", "status"},
        "members": {"name", "email", "phone", "email_address", "phone_number"},
        "links": {"network_number", "node", "device", "status", "type", "uisp_id"},
        "loses": {
            "network_number",
            "node",
            "install_number",
            "building",
            "source",
            "analysis_date",
        },
        **{
            r: {"node", "network_number", "name", "status", "uisp_id"}
            for r in ("devices", "sectors", "accesspoints")
        },
    }
    assert {r: set(f) for r, f in FILTERS.items() if r in issue} == issue


def test_device_lookup_shows_sector_and_access_point_fields(env):
    response = env["api"].get(_q(env, "/api/v1/devices/lookup/?network_number=201"))
    by_name = {d["name"]: d for d in response.json()["results"]}
    assert by_name["nycmesh-201-north"]["kind"] == "sector"
    assert by_name["nycmesh-201-north"]["azimuth"] == 90
    assert by_name["nycmesh-201-omni"]["kind"] == "device"
    ap = env["api"].get(_q(env, "/api/v1/devices/lookup/?node={n3}")).json()["results"][0]
    assert ap["kind"] == "accesspoint" and ap["latitude"] == pytest.approx(40.6996)


@pytest.mark.parametrize("resource", b.RESOURCES)
def test_no_filter_is_400(env, resource):
    api = env["api"]
    for query in ("", "?page=1", "?page_size=5&page=2", "?format=json"):
        response = api.get(f"/api/v1/{resource}/lookup/{query}")
        assert response.status_code == 400, response.text
        assert "filter" in response.json()["detail"]


@pytest.mark.parametrize("resource", b.RESOURCES)
def test_unknown_filter_is_400_naming_it(env, resource):
    api = env["api"]
    for name in ("nope", "id", "notes", "created"):
        known = next(iter(FILTERS[resource]))
        response = api.get(f"/api/v1/{resource}/lookup/?{name}=1&{known}=1")
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["errors"][0]["field"] == name
        assert known in body["detail"]  # the answer lists the filters that exist


def _page(env: dict[str, Any], path: str) -> dict[str, Any]:
    response = env["api"].get(path)
    assert response.status_code == 200, response.text
    return response.json()


def _page_no(url: str | None) -> int | None:
    if url is None:
        return None
    return int(parse_qs(urlsplit(url).query)["page"][0])


@pytest.mark.parametrize(
    "base",
    ["/api/v1/members/lookup/?name=pager", "/api/v1/members/?"],
    ids=["lookup", "list"],
)
def test_lookups_paginate_like_lists(env, base):
    total = 5 if "lookup" in base else 7
    seen: list[str] = []
    page = 1
    while True:
        body = _page(env, f"{base}&page_size=2&page={page}")
        assert body["count"] == total
        assert _page_no(body["previous"]) == (page - 1 if page > 1 else None)
        seen += [m["id"] for m in body["results"]]
        if body["next"] is None:
            break
        assert _page_no(body["next"]) == page + 1
        assert parse_qs(urlsplit(body["next"]).query)["page_size"] == ["2"]
        page += 1
    assert page == (total + 1) // 2
    assert len(seen) == len(set(seen)) == total
    beyond = _page(env, f"{base}&page_size=2&page=99")
    assert beyond["results"] == [] and beyond["next"] is None and beyond["count"] == total


def test_next_link_keeps_the_filter(env):
    body = _page(env, "/api/v1/members/lookup/?name=pager&page_size=1")
    assert parse_qs(urlsplit(body["next"]).query)["name"] == ["pager"]
    follow = env["api"].get(body["next"]).json()
    assert follow["count"] == 5 and follow["results"][0]["name"].startswith("Pager")


def test_lookup_page_size_defaults_to_100_and_caps_at_1000(env):
    body = _page(env, "/api/v1/members/lookup/?name=pager")
    assert len(body["results"]) == 5 and body["next"] is None and body["previous"] is None
    assert _page(env, "/api/v1/members/lookup/?name=pager&page_size=1000")["count"] == 5
    # MeshDB's scripts ask for page_size=9999: clamped to 1000, as DRF's max_page_size does.
    clamped = env["api"].get("/api/v1/members/lookup/?name=pager&page_size=9999")
    assert clamped.status_code == 200 and clamped.json()["count"] == 5


def test_lookup_needs_a_token(env):
    assert env["api"].get("/api/v1/members/lookup/?name=a", role=None).status_code == 401
