"""The UISP collector against a real HTTP server on 127.0.0.1 replaying UISP answers."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors import uisp
from collectors.errors import CollectorError
from collectors.guard import ProbeGuard
from tests.collectors.uisp_server import (
    DEVICES,
    LINKS,
    LOGIN,
    Reply,
    UispServer,
    free_port,
    json_reply,
    make_device,
    make_link,
    uisp_error,
)

GUARD = ProbeGuard.from_cidrs(["127.0.0.0/8", "::1/128"])
TOKEN = "token-for-tests"

DEV_A = make_device("dev-a", "nycmesh-1234-omni", frequency=5500, ip="10.96.0.1/26")
DEV_B = make_device(
    "dev-b",
    "nycmesh-lbe-1417",
    status="disconnected",
    frequency=None,
    ip=None,
    wireless_mode="ap-ptp",
    model="LBE-5AC-Gen2",
)
LINK_AB = make_link("link-ab", DEV_A, DEV_B, frequency=5500)
LINK_A_UNMANAGED = make_link("link-a-x", DEV_A, None, link_type="ethernet", state="disconnected")


async def collect(server: UispServer, **kwargs: Any) -> uisp.UispSnapshot:
    """collect() against the test server, with the test token unless told otherwise."""
    if "username" not in kwargs:
        kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("guard", GUARD)
    return await uisp.collect(server.url, **kwargs)


@pytest.fixture
def server() -> Any:
    """A UISP stand-in answering two devices and two links to the test token."""
    routes = {DEVICES: json_reply([DEV_A, DEV_B]), LINKS: json_reply([LINK_AB, LINK_A_UNMANAGED])}
    with UispServer(routes, token=TOKEN) as running:
        yield running


# --- names to NNs -------------------------------------------------------------------------

# Real names from the 2023 NYC Mesh UISP dump (checked to be there by test_real_names_exist).
REAL_NAMES = [
    ("nycmesh-511-west", 511),
    ("nycmesh-1933-east-s3", 1933),
    ("nycmesh-1933-lbelr-1084", 1933),
    ("nycmesh-2701-gbelr-713", 2701),
    ("nycmesh-1340-gbelr-5014", 1340),
    ("nycmesh-713-af24-3461", 713),
    ("nycmesh-5916-gbepNW", 5916),
    (" nycmesh-5916-gbep1-roof (Rob's Test GBE+)", 5916),
    ("nycmesh-5916-gbe-s-sw", 5916),
    ("nycmesh-5916-waveap-south", 5916),
    ("nycmesh-231-AF60HD-333", 231),
    ("nycmesh-1934-nbe-meshroom", 1934),
    ("nycmesh-238-lbe-240", 238),
    ("nycmesh-7800-east", 7800),
    ("nycmesh-115-northwest", 115),
    ("nycmesh-supernode1-a1s2", 227),
    ("nycmesh-supernode1-a3", 227),
    ("nycmesh-sn1-northeast", 227),
    ("nycmesh-sn1-ev", 227),
    ("nycmesh-sn3-south", 713),
]


@pytest.mark.parametrize(("name", "nn"), REAL_NAMES)
def test_real_names_give_their_nn(name: str, nn: int) -> None:
    assert uisp.nn_from_name(name, uisp.NYCMESH_ALIASES) == nn


@pytest.mark.parametrize(
    ("name", "aliases", "nn"),
    [
        ("nycmesh-1234-omni", None, 1234),
        ("nycmesh-lbe-1234", None, 1234),
        ("nycmesh-1234-gbelr-1417", None, 1234),
        ("NYCMESH-1234-OMNI", None, 1234),
        ("nycmesh-s3-1234", None, 1234),  # s3 is sector 3, not an NN and not an alias
        ("nycmesh-1-x", None, 1),
        ("nycmesh-8000-x", None, 8000),
        ("nycmesh-0-x", None, None),
        ("nycmesh-8001-x", None, None),
        ("nycmesh-9999-lbe-1234", None, 1234),  # out of range parts are skipped
        ("nycmesh-omni", None, None),
        ("nycmesh", None, None),
        ("ER-X-1234", None, None),  # no nycmesh prefix: not our naming, no guess
        ("1234-omni", None, None),
        ("", None, None),
        (None, None, None),
        ("nycmesh-sn1-northeast", None, None),  # an alias only counts when configured
        ("nycmesh-sn1-northeast", {"SN1": 227}, 227),  # aliases match case-insensitively
        ("nycmesh-sn3-af60-1635", {"sn3": 713}, 713),  # first NN-like part wins, alias or not
        ("nycmesh-1635-af60-sn3", {"sn3": 713}, 1635),
    ],
)
def test_nn_from_name(name: str | None, aliases: dict[str, int] | None, nn: int | None) -> None:
    assert uisp.nn_from_name(name, aliases) == nn


# --- the real 2023 answer ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real_devices(shared_data: Path) -> list[dict[str, Any]]:
    """The real NYC Mesh /devices answer (2023-09-27), read where it lies."""
    path = shared_data / "nycmesh-uisp-2023" / "access_points.json"
    return json.loads(path.read_text())


def _by_name(devices: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in devices if d["identification"]["name"] == name)


def _real_links(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # No public data-links dump exists: link real devices the way the names say they face.
    def named(name: str) -> dict[str, Any]:
        return _by_name(devices, name)

    return [
        make_link(
            "l-24",
            named("nycmesh-713-af24-3461"),
            named("nycmesh-3461-north"),
            frequency=24100,
        ),
        make_link(
            "l-60",
            named("nycmesh-1340-af60lr-5916"),
            named("nycmesh-5916-east1"),
            frequency=68040,
        ),
        make_link(
            "l-5",
            named("nycmesh-1340-gbelr-5014"),
            named("nycmesh-5014-west"),
            frequency=64800,
            state="disconnected",
        ),
        make_link(
            "l-eth",
            named("nycmesh-1933-east-s3"),
            named("nycmesh-1933-lbelr-1084"),
            link_type="ethernet",
        ),
        make_link("l-sta", named("nycmesh-5916-lbe-2482"), None, frequency=5825),
    ]


@pytest.mark.realdata
def test_real_names_exist(real_devices: list[dict[str, Any]]) -> None:
    names = {d["identification"]["name"] for d in real_devices}
    assert {name for name, _ in REAL_NAMES} <= names


@pytest.mark.realdata
async def test_real_answer_parses(real_devices: list[dict[str, Any]]) -> None:
    routes = {DEVICES: json_reply(real_devices), LINKS: json_reply(_real_links(real_devices))}
    with UispServer(routes, token=TOKEN) as server:
        snapshot = await collect(server, aliases=uisp.NYCMESH_ALIASES)
        # One request per list per cycle, never one per device or per link.
        assert sorted(server.paths()) == sorted([DEVICES, LINKS])
        assert all(seen.headers["x-auth-token"] == TOKEN for seen in server.requests)

    assert len(snapshot.devices) == 154
    assert len(snapshot.links) == 5
    by_name = {d.name: d for d in snapshot.devices}

    west = by_name["nycmesh-511-west"]
    assert west == uisp.UispDevice(
        id="001161b2-4033-45a3-a05f-06a6efa60b18",
        name="nycmesh-511-west",
        network_number=511,
        model="LAP-120",
        type="airMax",
        category="wireless",
        role="ap",
        site_id="3ab48f9f-2eaa-418f-8550-381703a28720",
        site_name="Thames - 265",
        status="active",
        last_seen=datetime(2023, 9, 27, 20, 51, 37, 668000, tzinfo=UTC),
        created_at=datetime(2023, 6, 10, 16, 7, 55, 107000, tzinfo=UTC),
        uptime_s=1025623,
        signal_dbm=None,
        frequency_mhz=5320,
        wireless_mode="ap-ptmp",
        ip_address="10.96.127.246",
        firmware_version="8.7.11",
        mac="70:a7:41:4a:9c:c9",
    )
    s3 = by_name["nycmesh-1933-east-s3"]
    assert (s3.network_number, s3.ip_address, s3.frequency_mhz, s3.signal_dbm) == (
        1933,
        "10.70.188.159",
        5710,
        -76,
    )
    assert s3.wireless_mode == "ap-ptmp-airmax-mixed"
    prism = by_name["nycmesh-supernode1-a1s2"]
    assert (prism.network_number, prism.status, prism.frequency_mhz) == (227, "disconnected", None)
    af24 = by_name["nycmesh-713-af24-3461"]
    assert (af24.network_number, af24.type, af24.frequency_mhz) == (713, "airFiber", 24100)
    assert by_name[" nycmesh-5916-gbep1-roof (Rob's Test GBE+)"].network_number == 5916

    assert sum(d.status == "disconnected" for d in snapshot.devices) == 12
    assert sum(d.frequency_mhz is None for d in snapshot.devices) == 2
    # With NYC Mesh's aliases every real name carries an NN.
    assert all(d.network_number is not None for d in snapshot.devices)

    links = {link.id: link for link in snapshot.links}
    assert links["l-24"].from_device_id == af24.id
    assert links["l-24"].to_device_id == by_name["nycmesh-3461-north"].id
    assert (links["l-24"].type, links["l-24"].state, links["l-24"].frequency_mhz) == (
        "wireless",
        "active",
        24100,
    )
    assert links["l-5"].state == "disconnected"
    assert links["l-eth"].type == "ethernet"
    assert links["l-sta"].to_device_id is None


@pytest.mark.realdata
def test_real_nn_without_aliases(real_devices: list[dict[str, Any]]) -> None:
    raw = uisp.UispRaw(json.dumps(real_devices).encode(), b"[]", datetime.now(UTC))
    snapshot = uisp.parse(raw)
    unnamed = sorted(d.name or "" for d in snapshot.devices if d.network_number is None)
    assert len(unnamed) == 9
    assert all("-sn1-" in n or "-sn3-" in n or "-supernode1-" in n for n in unnamed)


@pytest.mark.realdata
def test_real_addresses_sit_in_their_nn_slash26(real_devices: list[dict[str, Any]]) -> None:
    # NYC Mesh: NN n owns 10.96.0.0/11's n-th /26. The data README counts 85 of 89 inside.
    raw = uisp.UispRaw(json.dumps(real_devices).encode(), b"[]", datetime.now(UTC))
    snapshot = uisp.parse(raw, aliases=uisp.NYCMESH_ALIASES)
    mesh = ipaddress.ip_network("10.96.0.0/11")
    inside = [d for d in snapshot.devices if ipaddress.ip_address(d.ip_address or "") in mesh]
    base = int(mesh.network_address)
    outside = {
        d.name
        for d in inside
        if (int(ipaddress.ip_address(d.ip_address or "")) - base) // 64 != d.network_number
    }
    assert len(inside) == 89
    assert outside == {
        "nycmesh-3606-south",
        "nycmesh-383-nbe-449",
        "nycmesh-238-lbe-240",
        "nycmesh-2463-gbep-507",
    }


# --- small inline answers ----------------------------------------------------------------


async def test_small_answer(server: UispServer) -> None:
    snapshot = await collect(server)
    a, b = snapshot.devices
    assert (a.id, a.network_number, a.ip_address, a.frequency_mhz) == (
        "dev-a",
        1234,
        "10.96.0.1",
        5500,
    )
    assert (b.network_number, b.status, b.ip_address, b.frequency_mhz) == (
        1417,
        "disconnected",
        None,
        None,
    )
    assert snapshot.links == (
        uisp.UispLink(
            id="link-ab",
            from_device_id="dev-a",
            to_device_id="dev-b",
            state="active",
            type="wireless",
            frequency_mhz=5500,
            signal_dbm=-60,
        ),
        uisp.UispLink(
            id="link-a-x",
            from_device_id="dev-a",
            to_device_id=None,
            state="disconnected",
            type="ethernet",
            frequency_mhz=None,
            signal_dbm=-60,
        ),
    )
    assert snapshot.fetched_at.tzinfo is not None
    assert sorted(server.paths()) == sorted([DEVICES, LINKS])
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.name = "changed"  # type: ignore[misc]


async def test_optional_fields_missing_are_none(server: UispServer) -> None:
    server.routes[DEVICES] = json_reply([{"identification": {"id": "bare"}}])
    server.routes[LINKS] = json_reply([{"id": "bare-link"}])
    snapshot = await collect(server)
    assert snapshot.devices == (uisp.UispDevice(id="bare"),)
    assert snapshot.links == (uisp.UispLink(id="bare-link"),)


async def test_base_url_may_carry_the_api_root(server: UispServer) -> None:
    snapshot = await uisp.collect(f"{server.url}{uisp.API_ROOT}/", guard=GUARD, token=TOKEN)
    assert len(snapshot.devices) == 2


async def test_login_with_username_and_password() -> None:
    routes = {DEVICES: json_reply([DEV_A]), LINKS: json_reply([])}
    with UispServer(routes, token="issued", credentials=("admin", "secret")) as server:
        snapshot = await collect(server, username="admin", password="secret")
        assert [(s.method, s.path) for s in server.requests][0] == ("POST", LOGIN)
        assert sorted(server.paths("GET")) == sorted([DEVICES, LINKS])
        assert json.loads(server.requests[0].body) == {"username": "admin", "password": "secret"}
        assert [s.headers["x-auth-token"] for s in server.requests[1:]] == ["issued", "issued"]
    assert snapshot.devices[0].id == "dev-a"


async def test_login_refused() -> None:
    with UispServer({}, token="issued", credentials=("admin", "secret")) as server:
        with pytest.raises(CollectorError, match=r"POST /nms/api/v2.1/user/login: HTTP 401"):
            await collect(server, username="admin", password="wrong")
        assert server.paths("GET") == []


async def test_login_without_token_header() -> None:
    routes = {("POST", LOGIN): json_reply({"id": "user"})}
    with (
        UispServer(routes) as server,
        pytest.raises(CollectorError, match="no x-auth-token header in the answer"),
    ):
        await collect(server, username="admin", password="secret")


async def test_no_credentials(server: UispServer) -> None:
    with pytest.raises(CollectorError, match="no credentials"):
        await uisp.collect(server.url, guard=GUARD)
    assert server.requests == []


# --- the guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "guard", [ProbeGuard(), ProbeGuard.from_cidrs(["10.0.0.0/8"])], ids=["empty", "other-net"]
)
async def test_guard_refuses_before_any_request(server: UispServer, guard: ProbeGuard) -> None:
    with pytest.raises(CollectorError, match="not allowed") as caught:
        await collect(server, guard=guard)
    assert caught.value.collector == "uisp"
    assert server.requests == []


async def test_guard_checks_what_a_host_name_resolves_to(server: UispServer) -> None:
    by_name = server.url.replace("127.0.0.1", "localhost")
    with pytest.raises(CollectorError, match="not allowed"):
        await uisp.collect(by_name, guard=ProbeGuard.from_cidrs(["10.0.0.0/8"]), token=TOKEN)
    assert server.requests == []
    snapshot = await uisp.collect(by_name, guard=GUARD, token=TOKEN)
    assert len(snapshot.devices) == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1:1", "is not an http"),
        ("127.0.0.1", "is not an http"),
        ("http://:80", "is not an http"),
        ("http://127.0.0.1:99999", "Port out of range"),
        ("http://127.0.0.1:abc", "is not valid"),
        ("http://[::1", "is not valid"),
    ],
)
async def test_bad_base_url(url: str, reason: str) -> None:
    with pytest.raises(CollectorError, match=reason):
        await uisp.collect(url, guard=GUARD, token=TOKEN)


async def test_missing_ca_bundle(server: UispServer, tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="CA bundle"):
        await collect(server, verify_tls=str(tmp_path / "missing.pem"))
    assert server.requests == []


# --- every failure is one CollectorError that says why -----------------------------------

_HALF = json.dumps([DEV_A, DEV_B]).encode()


@pytest.mark.parametrize(
    ("path", "reply", "reason"),
    [
        (DEVICES, uisp_error(500, "Internal Server Error", "boom"), r"devices: HTTP 500 \(boom\)"),
        (LINKS, Reply(status=500, body=b"oops"), r"data-links: HTTP 500$"),
        (DEVICES, Reply(status=302, headers=(("location", "http://10.1.1.1/"),)), "HTTP 302"),
        (
            DEVICES,
            Reply(body=b"<html>UISP is starting</html>"),
            r"devices: invalid JSON: Expecting",
        ),
        (DEVICES, Reply(body=b""), "devices: empty answer"),
        (
            DEVICES,
            Reply(body=_HALF[: len(_HALF) // 2]),
            "devices: invalid JSON: document ends early",
        ),
        (DEVICES, Reply(body=_HALF[:-1]), "ends early"),
        (DEVICES, Reply(body=_HALF[:50]), "ends early"),
        (
            LINKS,
            Reply(body=b'[{"id": "l", "signal": tr'),
            "data-links: invalid JSON: document ends",
        ),
        (DEVICES, json_reply({"devices": []}), "devices: expected a JSON list, got dict"),
        (LINKS, json_reply("nope"), "data-links: expected a JSON list, got str"),
        (DEVICES, Reply(hang_up=True), "devices: RemoteProtocolError: Server disconnected"),
        (LINKS, Reply(body=_HALF, cut_after=100), "data-links: RemoteProtocolError"),
        (DEVICES, Reply(delay_s=2.0), r"devices: no complete answer within 0.3 s"),
    ],
    ids=[
        "500",
        "500-links",
        "redirect",
        "html",
        "empty",
        "half",
        "last-byte",
        "50-bytes",
        "in-literal",
        "object",
        "string",
        "closed",
        "cut-body",
        "slow",
    ],
)
async def test_transport_and_document_faults(
    server: UispServer, path: str, reply: Reply, reason: str
) -> None:
    server.routes[path] = reply
    with pytest.raises(CollectorError, match=reason) as caught:
        # Only the slow case runs on a short clock: a loaded CI box must not fail the others.
        await collect(server, timeout=0.3 if reply.delay_s else 10.0)
    assert caught.value.collector == "uisp"


async def test_one_failure_ends_the_cycle_at_once(server: UispServer) -> None:
    # /devices fails while /data-links is still on its way: no waiting for the slow one.
    server.routes[DEVICES] = Reply(status=500)
    server.routes[LINKS] = Reply(delay_s=3.0)
    started = time.monotonic()
    with pytest.raises(CollectorError, match="devices: HTTP 500"):
        await collect(server, timeout=10.0)
    assert time.monotonic() - started < 2.5


async def test_wrong_token_is_401(server: UispServer) -> None:
    with pytest.raises(CollectorError, match=r"GET /nms/api/v2.1/.*: HTTP 401 \(Invalid token.\)"):
        await collect(server, token="stale")


async def test_nothing_listening() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CollectorError, match="ConnectError"):
        await uisp.collect(url, guard=GUARD, token=TOKEN, timeout=2.0)


def _without(doc: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copy


def _with(doc: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("devices", "links", "reason"),
    [
        (
            [DEV_A, _without(DEV_B, "identification", "id")],
            [],
            r"item 1: identification.id is missing",
        ),
        ([_with(DEV_A, None, "identification")], [], "item 0: identification.id is missing"),
        ([_with(DEV_A, 42, "identification", "id")], [], "identification.id is int, not a string"),
        (
            [_with(DEV_A, "5320", "overview", "frequency")],
            [],
            r"item 0 \(id dev-a\): overview.frequency is str",
        ),
        ([_with(DEV_A, True, "overview", "signal")], [], "overview.signal is bool, not a number"),
        (
            [_with(DEV_A, "yesterday", "overview", "lastSeen")],
            [],
            "overview.lastSeen 'yesterday' is not",
        ),
        (
            [_with(DEV_A, "10.96.0.300/26", "ipAddress")],
            [],
            "ipAddress '10.96.0.300/26' is not an IP",
        ),
        (
            [_with(DEV_A, [], "identification", "site")],
            [],
            "identification.site is list, not an object",
        ),
        ([DEV_A, DEV_A], [], "devices: item 1: duplicate identification.id 'dev-a'"),
        (["dev-a"], [], "devices: item 0: device is str, not an object"),
        ([DEV_A], [_without(LINK_AB, "id")], "data-links: item 0: id is missing"),
        (
            [DEV_A],
            [_without(LINK_AB, "to", "device", "identification")],
            r"to.device.identification.id is missing",
        ),
        (
            [DEV_A],
            [_with(LINK_AB, "fast", "frequency")],
            r"item 0 \(id link-ab\): frequency is str",
        ),
        ([DEV_A], [LINK_AB, LINK_AB], "data-links: item 1: duplicate id 'link-ab'"),
    ],
)
async def test_bad_items_name_the_field(
    server: UispServer, devices: list[Any], links: list[Any], reason: str
) -> None:
    server.routes[DEVICES] = json_reply(devices)
    server.routes[LINKS] = json_reply(links)
    with pytest.raises(CollectorError, match=reason):
        await collect(server)
