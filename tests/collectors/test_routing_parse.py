"""The routing collector's parsers: BIRD 1.6 / 2.x text, FRR JSON, NYC Mesh's JSON API."""

from __future__ import annotations

import asyncio
import json
from ipaddress import IPv4Address as A
from ipaddress import IPv4Network as N

import pytest

from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from collectors.routing import bird_text, frr_json, nycmesh_json, sources
from collectors.routing.model import External, ParseError, RouterLink, Stubnet
from tests.collectors import routing_samples as samples
from tests.collectors.uisp_server import Reply, UispServer

# Counted by hand (grep) in each dump: router-LSAs, network-LSAs, routers BIRD marks
# unreachable, externals, type-2 externals, externals with a forwarding address, default
# routes, stubnets, router-to-router links.
CUT_OFF = {"10.69.3.97", "10.69.4.46"}
DUMPS = [
    ("bird-show-ospf-state-2023-03-29.txt", 587, 3, CUT_OFF, 678, 4, 6, 4, 1232, 2225),
    ("bird-show-ospf-state-2023-04-16.txt", 592, 3, set(), 689, 7, 6, 4, 1244, 2334),
    ("bird-show-ospf-state-2023-04-29.txt", 591, 3, set(), 689, 7, 6, 3, 1247, 2294),
    ("bird-show-ospf-state-odd.txt", 592, 3, {"10.69.43.94"}, 689, 7, 6, 4, 1243, 2282),
]  # fmt: skip


def _counts(db):
    externals = [e for r in db.routers for e in r.externals]
    return (
        len(db.routers),
        len(db.networks),
        {str(r.router_id) for r in db.routers if r.reachable is False},
        len(externals),
        sum(e.type2 for e in externals),
        sum(e.via is not None for e in externals),
        sum(e.prefix == N("0.0.0.0/0") for e in externals),
        sum(len(r.stubnets) for r in db.routers),
        sum(len(r.routers) for r in db.routers),
    )


@pytest.mark.realdata
@pytest.mark.parametrize(("name", *"abcdefghi"), DUMPS)
def test_every_real_bird_dump_parses_whole(shared_data, name, a, b, c, d, e, f, g, h, i):
    db = bird_text.parse((shared_data / "nycmesh-ospf" / name).read_text(), name)
    assert _counts(db) == (a, b, c, d, e, f, g, h, i)
    assert db.has_reachability
    assert all(r.area == "0.0.0.0" for r in db.routers)


@pytest.mark.realdata
def test_the_odd_dump_details(shared_data):
    db = bird_text.parse(
        (shared_data / "nycmesh-ospf" / "bird-show-ospf-state-odd.txt").read_text()
    )
    by_id = {str(r.router_id): r for r in db.routers}
    cut_off = by_id["10.69.43.94"]
    assert cut_off.reachable is False and cut_off.distance is None
    assert cut_off.routers == (RouterLink(A("10.69.19.34"), 10),)
    assert cut_off.stubnets == (Stubnet(N("10.69.43.94/32"), 0), Stubnet(N("10.68.43.94/32"), 0))
    assert cut_off.externals == (External(N("10.100.74.128/26"), 20),)
    gateway = by_id["10.70.76.24"]
    assert gateway.reachable is True and gateway.distance == 61
    assert [n.network for n in gateway.networks] == [N("10.70.76.0/24")]
    assert gateway.externals[0] == External(N("0.0.0.0/0"), 10000, type2=True, via=A("10.70.76.1"))
    anycast = by_id["10.10.10.10"]
    assert [(str(e.prefix), e.metric, e.type2) for e in anycast.externals] == [
        ("10.10.10.10/32", 1, False),
        ("10.10.10.11/32", 1, False),
    ]
    net = next(n for n in db.networks if n.prefix == N("10.70.76.0/24"))
    assert net.dr == A("10.10.10.10") and net.distance == 61
    assert set(net.routers) == {
        A(x) for x in ("10.10.10.10", "10.70.71.137", "10.70.76.24", "10.69.2.27")
    }


@pytest.mark.realdata
def test_nycmesh_json_api(shared_data):
    data = json.loads((shared_data / "nycmesh-ospf" / "ospf-linkdb-2023-09-29.json").read_text())
    db = nycmesh_json.parse(data)
    # Counted in the file: 605 routers, 4 networks, 689 externals (7 type 2, 7 with via),
    # 2310 router links, 1267 stubnets, 18 links to transit networks.
    assert len(db.routers) == 605 and len(db.networks) == 4
    externals = [e for r in db.routers for e in r.externals]
    assert (len(externals), sum(e.type2 for e in externals)) == (689, 7)
    assert sum(e.via is not None for e in externals) == 7
    assert sum(len(r.routers) for r in db.routers) == 2310
    assert sum(len(r.stubnets) for r in db.routers) == 1267
    assert sum(len(r.networks) for r in db.routers) == 18
    # The API carries no reachability: nothing is unreachable, nothing claims to be reachable.
    assert not db.has_reachability and {r.reachable for r in db.routers} == {None}


def test_bird2_socket_answer_with_reply_codes():
    async def run() -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(samples.BIRD2_SOCKET.encode())
        reader.feed_eof()
        return await sources._bird_reply(reader)

    db = bird_text.parse(asyncio.run(run()))
    first, second = db.routers
    assert first.router_id == A("10.69.1.1") and first.reachable and first.distance == 0
    assert first.routers == (RouterLink(A("10.69.2.2"), 10),)
    assert first.externals == (External(N("10.96.0.64/26"), 10000, type2=True),)
    assert second.reachable is False and second.networks[0].cost == 15
    assert db.networks[0].dr == A("10.69.2.2") and len(db.networks[0].routers) == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("area 0.0.0.0\n\trouter 10.69.1\n", "line 2"),
        ("area 0.0.0.0\n\trouter 10.69.1.1\n\t\trouter 10.69.2.2 metric ten\n", "line 3"),
        ("area 0.0.0.0\n\t\tstubnet 10.0.0.0/8 metric 1\n", "outside"),
        ("area 0.0.0.0\n\trouter 10.69.1.1\n\t\texternal 10.0.0.0/33 metric 1\n", "line 3"),
        ("area 0.0.0.0\n\trouter 10.69.1.1\n\t\tbogus 1\n", "unknown line"),
        ("There are multiple OSPF protocols running\n", "BIRD answered"),
        ("", "no `area`"),
    ],
)
def test_bird_text_errors_name_the_line(text, where):
    with pytest.raises(ParseError, match=where):
        bird_text.parse(text)


def test_frr_json_with_reachability_computed_two_way():
    db = frr_json.parse(
        {
            "router": samples.FRR_ROUTER,
            "network": samples.FRR_NETWORK,
            "external": samples.FRR_EXTERNAL,
        }
    )
    bird, frr = db.routers
    # 10.69.1.1 lists a point-to-point link, 10.69.2.2 a transit network: no two-way link,
    # so SPF from FRR's own router (10.69.2.2) does not reach 10.69.1.1, as BIRD also said.
    assert (bird.reachable, frr.reachable) == (False, True)
    assert bird.stubnets == (Stubnet(N("198.18.250.0/30"), 10),)
    assert frr.networks[0].network == N("198.18.250.0/30") and frr.networks[0].cost == 15
    assert bird.externals == (External(N("10.96.0.64/26"), 10000, type2=True),)
    assert frr.externals == (External(N("10.96.0.128/26"), 20, via=A("198.18.250.9"), tag=7),)
    assert db.networks[0].routers == (A("10.69.1.1"), A("10.69.2.2"))


def test_frr_without_its_own_router_id_has_no_vantage_point():
    router = {k: v for k, v in samples.FRR_ROUTER.items() if k != "routerId"}
    db = frr_json.parse({"router": router, "network": samples.FRR_NETWORK, "external": {}})
    assert not db.has_reachability and {r.reachable for r in db.routers} == {None}


def test_frr_two_way_links_are_reachable():
    both = json.loads(json.dumps(samples.FRR_ROUTER))
    both["routerLinkStates"]["areas"]["0.0.0.0"][0]["routerLinks"]["link0"] = {
        "linkType": "a Transit Network",
        "designatedRouterAddress": "198.18.250.2",
        "tos0Metric": 10,
    }
    db = frr_json.parse({"router": both, "network": samples.FRR_NETWORK, "external": {}})
    assert [r.reachable for r in db.routers] == [True, True]


def _one_router(links):
    return {"areas": {"0.0.0.0": {"routers": {"10.69.1.1": {"links": links}}, "networks": {}}}}


@pytest.mark.parametrize(
    "data",
    [
        _one_router({"router": [{"id": "x", "metric": 1}]}),
        _one_router({"router": [{"id": "10.0.0.1"}]}),
        _one_router({"stubnet": [{"id": "10.0.0.0/8", "metric": -1}]}),
        {"areas": {"0.0.0.0": {"routers": [], "networks": {}}}},
        {"areas": []},
        [],
    ],
)  # fmt: skip
def test_nycmesh_json_rejects_bad_shapes(data):
    with pytest.raises(ParseError):
        nycmesh_json.parse(data)


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("bird:///run/bird/bird.ctl", "bird", "/run/bird/bird.ctl"),
        ("frr:", "frr", ""),
        ("frr:///usr/bin/vtysh", "frr", "/usr/bin/vtysh"),
        ("https://api.andrew.mesh/api/v1/ospf/linkdb", "http", "https://api.andrew.mesh/api/v1/ospf/linkdb"),
        ("file:///var/lib/ospf.txt", "file", "/var/lib/ospf.txt"),
    ],
)  # fmt: skip
def test_source_urls(url, kind, target):
    source = sources.parse_source(url)
    assert (source.kind, source.target) == (kind, target)


@pytest.mark.parametrize(
    "url", ["ftp://x/y", "bird://", "file://", "http:///nohost", "bird:///s?protocol=a;b"]
)
def test_bad_source_urls(url):
    with pytest.raises(ValueError):
        sources.parse_source(url)


@pytest.mark.realdata
async def test_file_and_http_sources(shared_data, tmp_path):
    """A file source sniffs its format; an HTTP source goes through the probe guard."""
    guard = ProbeGuard.from_cidrs(["127.0.0.0/8"])
    path = shared_data / "nycmesh-ospf"
    text = await sources.read(
        sources.parse_source(f"file://{path}/bird-show-ospf-state-odd.txt"), guard=guard
    )
    data = await sources.read(
        sources.parse_source(f"file://{path}/ospf-linkdb-2023-09-29.json"), guard=guard
    )
    assert (len(text.routers), text.has_reachability) == (592, True)
    assert (len(data.routers), data.has_reachability) == (605, False)
    bad = tmp_path / "bad.txt"
    bad.write_text("area 0.0.0.0\n\trouter nope\n")
    with pytest.raises(CollectorError, match="line 2"):
        await sources.read(sources.parse_source(f"file://{bad}"), guard=guard)
    with pytest.raises(CollectorError, match="not allowed"):
        await sources.read(sources.parse_source("http://198.51.100.7/linkdb"), guard=guard)
    body = (path / "ospf-linkdb-2023-09-29.json").read_bytes()
    with UispServer(routes={"/api/v1/ospf/linkdb": Reply(body=body)}) as server:
        url = f"{server.url}/api/v1/ospf/linkdb"
        db = await sources.read(sources.parse_source(url), guard=guard)
        assert db == data.__class__(url, data.routers, data.networks, False)
        with pytest.raises(CollectorError, match="HTTP 404"):
            await sources.read(sources.parse_source(f"{server.url}/other"), guard=guard)
