"""Hostile input: a 4xx (or the right answer), never a 5xx, never another record's data.

Oversized and deeply nested bodies, invalid UTF-8 in bodies, query strings and paths,
SQL-looking strings and path tricks in every text lookup filter and every path id, and
header tricks. What needs real HTTP (sizes, raw bytes) goes to a real uvicorn; the rest
goes through one TestClient shared by the module.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests

from api import lookups
from api.resources import RESOURCES
from tests.api import builders as b

MEGABYTE = 1024 * 1024

# SQL that would change the query if it were pasted into it, LIKE's own wildcards and escape
# (a substring filter must take them literally), and path tricks.
HOSTILE = [
    "' OR 1=1 --",
    '"; DROP TABLE member; --',
    "') OR ('a'='a",
    "' UNION SELECT key_hash FROM api_token --",
    "%",
    "_",
    "\\",
    "../",
    "%2e%2e/",
    "%00",
    "..\\..\\windows",
]

# Every text filter: the response field(s) a result must contain the value in.
TEXT_FILTERS: dict[str, dict[str, str]] = {
    "members": {
        "name": "name",
        "email": "all_email_addresses",
        "phone": "all_phone_numbers",
        "email_address": "all_email_addresses",  # MeshDB's names for the same two filters
        "phone_number": "all_phone_numbers",
    },
    "buildings": {
        "street_address": "street_address",
        "city": "city",
        "state": "state",
        "zip_code": "zip_code",
    },
    "nodes": {"name": "name"},
    "devices": {"name": "name", "uisp_id": "uisp_id"},
    "sectors": {"name": "name", "uisp_id": "uisp_id"},
    "accesspoints": {"name": "name", "uisp_id": "uisp_id"},
    "links": {"uisp_id": "uisp_id"},
    "prefixes": {"role": "role", "status": "status", "description": "description"},
}
EXACT = {"uisp_id"}  # matched whole, not as a substring
# Column widths shorter than the hostile strings: what is stored, and searched, is cut to fit.
WIDTH = {"zip_code": 10, "state": 50, "city": 100, "role": 50, "status": 20}
# No valid email address or phone number (ipam/records/phones.py) holds these strings: their
# filters must find nothing, not the records that hold them.
UNHELD = {"email", "email_address", "phone", "phone_number"}


def _uisp_id(resource: str, value: str) -> str:
    # uisp_id is unique across devices (sectors and access points are devices) and links.
    return f"{value}#{resource}"


def _carrier_body(resource: str, w: dict[str, Any], value: str, index: int) -> dict[str, Any]:
    """A record whose every searchable text holds `value` (cut to each column's width)."""
    wrapped = f"a{value}z"
    node = b.ref(w["nodes"])
    device = {"node": node, "name": wrapped, "uisp_id": _uisp_id(resource, value)}
    bodies: dict[str, dict[str, Any]] = {
        "members": {"name": wrapped, "phone_number": "+12125550100"},
        "buildings": {
            "street_address": wrapped,
            "city": value[: WIDTH["city"]],
            "state": value[: WIDTH["state"]],
            "zip_code": value[: WIDTH["zip_code"]],
            "latitude": 40.7,
            "longitude": -73.9,
        },
        "nodes": {"name": wrapped, "status": "Planned", **b.NODE_PLACE},
        "devices": device,
        "sectors": {**device, "radius": 1, "azimuth": 10, "width": 90},
        "accesspoints": {**device, "latitude": 40.7, "longitude": -73.9},
        "links": {
            "from_device": b.ref(w["devices"]),
            "to_device": b.ref(w["accesspoints"]),
            "status": "Planned",
            "uisp_id": _uisp_id(resource, value),
        },
        "ip-allocations": {"address": "198.18.0.1"},
        "prefixes": {
            "cidr": f"198.18.{index}.0/24",
            "role": value[: WIDTH["role"]],
            "status": value[: WIDTH["status"]],
            "description": wrapped,
        },
    }
    return bodies[resource]


def _decoy_body(resource: str, w: dict[str, Any]) -> dict[str, Any]:
    """A record with none of the hostile strings in it: no lookup for them may return it."""
    body = _carrier_body(resource, w, "decoy", 250)
    if resource == "members":
        body["primary_email_address"] = "decoy@example.org"
    return body


@pytest.fixture(scope="module")
def env(engine, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A world, one decoy per resource, and one record per resource and hostile string."""
    with b.shared_api(engine, tmp_path_factory.mktemp("hostile")) as api:
        w = b.world(api)
        carriers: dict[str, dict[str, str]] = {}
        decoys: dict[str, str] = {}
        for resource in TEXT_FILTERS:
            decoys[resource] = api.create(resource, _decoy_body(resource, w))["id"]
            carriers[resource] = {
                value: api.create(resource, _carrier_body(resource, w, value, index))["id"]
                for index, value in enumerate(HOSTILE)
            }
        yield {"api": api, "world": w, "carriers": carriers, "decoys": decoys}


def _all(api: Any, path: str) -> list[dict[str, Any]]:
    """Every result of a (lookup) URL, following the pages."""
    response = api.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text)
    page = response.json()
    results = page["results"]
    assert page["count"] == len(results), "one page expected"
    return results


def _texts(record: dict[str, Any], field: str) -> list[str]:
    value = record[field]
    return [v for v in value if v] if isinstance(value, list) else [value or ""]


def _query(name: str, value: str, resource: str) -> str:
    if name in EXACT:
        return _uisp_id(resource, value)
    return value[: WIDTH.get(name, len(value))]


# --- every text lookup filter -----------------------------------------------------------


def test_every_text_filter_is_covered():
    text_filters = {
        (resource, name)
        for resource, filters in lookups.FILTERS.items()
        for name, f in filters.items()
        if f.parse is lookups._text
    }
    covered = {(resource, name) for resource, names in TEXT_FILTERS.items() for name in names}
    assert text_filters == covered


@pytest.mark.parametrize(
    ("resource", "name"), [(r, n) for r, names in TEXT_FILTERS.items() for n in names]
)
def test_hostile_text_finds_exactly_the_records_holding_it(env, resource, name):
    api, field = env["api"], TEXT_FILTERS[resource][name]
    for value in HOSTILE:
        wanted = _query(name, value, resource)
        results = _all(api, f"/api/v1/{resource}/lookup/?{urlencode({name: wanted})}")
        ids = {r["id"] for r in results}
        for record in results:
            texts = _texts(record, field)
            if name in EXACT:
                assert texts == [wanted], (value, record)
            else:
                assert any(wanted.lower() in t.lower() for t in texts), (value, record)
        assert env["decoys"][resource] not in ids, value
        if name not in UNHELD:
            assert env["carriers"][resource][value] in ids, (value, results)


@pytest.mark.parametrize(
    ("resource", "name"), [(r, n) for r, names in TEXT_FILTERS.items() for n in names]
)
def test_nul_overlong_and_broken_utf8_in_a_text_filter(env, resource, name):
    api = env["api"]
    for raw in ("a%00b", "%00", quote("x" * 301)):
        response = api.get(f"/api/v1/{resource}/lookup/?{name}={raw}")
        assert response.status_code == 422, (raw, response.text)
        assert b.errors_name(response.json(), name)
    # Percent-encoded bytes that are not UTF-8 arrive as U+FFFD: a search like any other.
    for record in _all(api, f"/api/v1/{resource}/lookup/?{name}=%FF%FE"):
        assert "\ufffd" in json.dumps(record, ensure_ascii=False)


@pytest.mark.parametrize("resource", [r.name for r in RESOURCES])
def test_hostile_strings_in_id_and_number_filters_are_422(env, resource):
    api = env["api"]
    others = [n for n, f in lookups.FILTERS[resource].items() if f.parse is not lookups._text]
    for name in others:
        for value in ["' OR 1=1 --", "1 OR 1=1", "../", "%00", "1e400", "9" * 400]:
            response = api.get(f"/api/v1/{resource}/lookup/?{urlencode({name: value})}")
            assert response.status_code == 422, (name, value, response.text)


# --- path ids -----------------------------------------------------------------------------

# Already percent-encoded path segments: the server, not the client, decodes them.
HOSTILE_KEYS = [quote(v, safe="") for v in HOSTILE + ["1 OR 1=1", "100 --", "١٠٠", "0x64"]]
HOSTILE_KEYS += ["%00", "%2e%2e", "..%2f..%2fnodes", "%FF%FE", "%C0%AE%C0%AE", "a" * 5000]


@pytest.mark.parametrize("resource", [r.name for r in RESOURCES])
def test_hostile_path_ids_are_4xx_and_leak_nothing(env, resource):
    api = env["api"]
    body = b.create_body(resource, env["world"]) if resource in b.RESOURCES else {}
    for key in HOSTILE_KEYS:
        base = f"/api/v1/{resource}/{key}/"
        for method, path in [
            ("GET", base),
            ("PATCH", base),
            ("PUT", base),
            ("DELETE", base),
            ("GET", f"{base}history/"),
            ("POST", f"{base}history/1/revert/"),
        ]:
            response = api.request(method, path, json=body if method in ("PUT", "PATCH") else None)
            assert response.status_code in (404, 405, 422), (method, path, response.text)
            assert set(response.json()) >= {"detail", "errors"}, response.text


def test_path_tricks_in_fixed_routes_are_4xx(env):
    api = env["api"]
    for path in [
        "/api/v1/nodes/%2e%2e/addresses/",
        "/api/v1/nodes/' OR 1=1 --/health/",
        "/api/v1/devices/..%2f..%2f/health/",
        "/api/v1/addressing/%00/",
        "/api/v1/webhooks/%2e%2e%2f/",
        "/api/v1/topology/neighbors/1 OR 1=1/",
        "/api/v1/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/members/" + "a" * 60_000 + "/",  # httpx refuses URLs over 64 KiB
    ]:
        response = api.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert set(response.json()) >= {"detail", "errors"}, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/addressing/lookup/?ip=' OR 1=1 --",
        "/api/v1/addressing/lookup/?ip=fe80::1%25eth0",
        "/api/v1/addressing/lookup/?ip=10.69.1.1%00",
        "/api/v1/addressing/lookup/?ip=%FF%FE",
        "/api/v1/prefixes/lookup/?contains=fe80::1%25' OR 1=1 --",
        "/api/v1/ip-allocations/lookup/?contains=::ffff:10.0.0.1%25x",
        "/api/v1/disambiguate-number/?number=1 OR 1=1",
        "/api/v1/events/?type=' OR 1=1 --",
        "/api/v1/events/?after=-1",
        "/api/v1/topology/?format=../",
        "/api/v1/topology/path/?from=1%00&to=2",
        "/api/v1/health/?observed_status=' OR 1=1 --",
        "/api/v1/members/?page=99999999999999999999",
        "/api/v1/members/lookup/?page_size=%00&name=a",
        "/api/v1/members/lookup/?' OR 1=1 --=x",
    ],
)
def test_hostile_query_values_in_other_routes_are_4xx(env, path):
    response = env["api"].get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert set(response.json()) >= {"detail", "errors"}


# --- bodies -------------------------------------------------------------------------------


def _post_raw(api: Any, path: str, content: bytes | str, **headers: str) -> Any:
    return api.post(path, content=content, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"name": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
        "[" * 100_000,  # never closed
    ],
    ids=["array", "array-in-field", "object-in-field", "unclosed"],
)
def test_very_deep_json_is_a_4xx(env, body):
    for path in ["/api/v1/members/", "/api/v1/webhooks/", "/api/v1/join/", "/api/v1/nn-assign/"]:
        response = _post_raw(env["api"], path, body)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert set(response.json()) >= {"detail", "errors"}


def test_json_nested_just_under_the_parsers_limit_is_a_4xx(env):
    """Deep enough for json.loads, and for any recursive check after it (none may recurse)."""
    api, member = env["api"], env["world"]["members"]["id"]
    for depth in range(900, 1000):
        for inner in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            for path, field in [
                ("/api/v1/members/", "name"),
                ("/api/v1/join/", "first_name"),
                ("/api/v1/webhooks/", "event_types"),
            ]:
                response = _post_raw(api, path, f'{{"{field}": {inner}}}')
                assert 400 <= response.status_code < 500, (path, depth, response.text[:200])
            response = api.request(
                "PATCH",
                f"/api/v1/members/{member}/",
                content=f'{{"notes": {inner}}}',
                headers={"Content-Type": "application/json"},
            )
            assert 400 <= response.status_code < 500, (depth, response.text[:200])


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff\xfe"}',
        b'{"name": "caf\xc3"}',
        b'{"name": "\xed\xa0\x80"}',  # a UTF-16 surrogate, encoded: not UTF-8
        b'{"name": "\\ud800"}',  # a lone surrogate, escaped: valid JSON, not text
        b'{"name": "a\\u0000b"}',
        b'{"name": "\x00"}',
    ],
)
def test_broken_text_in_a_json_body_is_a_4xx(env, body):
    member = env["world"]["members"]["id"]
    for method, path in [("POST", "/api/v1/members/"), ("PATCH", f"/api/v1/members/{member}/")]:
        response = env["api"].request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (method, response.status_code, response.text)
        assert set(response.json()) >= {"detail", "errors"}


def test_broken_utf8_in_a_csv_import_is_a_4xx_or_a_report(env):
    response = env["api"].post(
        "/api/v1/members/import.csv?dry_run=true",
        content=b"name,primary_email_address\n\xff\xfe Ada,ada@example.org\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_date", "9999-12-31T23:59:59-14:00"),  # after year 9999 in UTC
        ("request_date", "0001-01-01T00:00:00+14:00"),  # before year 1 in UTC
        ("request_date", "0000-01-01T00:00:00Z"),
        ("install_date", "0000-01-01"),
        ("install_date", "10000-01-01"),
        ("install_number", 2**70),
        ("install_number", -(2**63)),
        ("notes", "a" * 10_001),
    ],
)
def test_values_postgresql_cannot_hold_are_a_4xx(env, field, value):
    api, w = env["api"], env["world"]
    body = {**b.create_body("installs", w), field: value}
    for method, path in [
        ("POST", "/api/v1/installs/"),
        ("PATCH", f"/api/v1/installs/{w['installs']['id']}/"),
    ]:
        response = api.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, response.status_code, response.text)
    # Nothing unreadable was stored: the whole list still reads.
    assert api.get("/api/v1/installs/?page_size=1000").status_code == 200


@pytest.mark.parametrize(
    ("resource", "raw"),
    [
        ("buildings", '{"latitude": NaN, "longitude": 1}'),
        ("buildings", '{"latitude": Infinity, "longitude": 1}'),
        ("buildings", '{"latitude": 1e400, "longitude": -1e400}'),
        ("buildings", '{"latitude": 1, "longitude": 1, "bin": 1' + "0" * 400 + "}"),
        ("nodes", '{"network_number": 1' + "0" * 5000 + "}"),
        ("nodes", '{"network_number": -1e400}'),
        ("sectors", '{"node": "x", "radius": NaN, "azimuth": 1e400, "width": -0}'),
    ],
)
def test_numbers_json_should_not_hold_are_a_4xx(env, resource, raw):
    response = _post_raw(env["api"], f"/api/v1/{resource}/", raw)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


def test_the_body_limit_is_the_setting(env, engine, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ipam.settings import Settings

    settings = Settings(data_dir=tmp_path, max_body_bytes=1000)
    auth = {"Authorization": f"Bearer {env['api'].tokens['admin']}"}
    body = json.dumps({"name": "x" * 2000}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it is read
        yield from (body[i : i + 100] for i in range(0, len(body), 100))

    with TestClient(create_app(settings, engine)) as client:
        for path, content, kind in [
            ("/api/v1/members/", body, "application/json"),
            ("/api/v1/members/", chunks(), "application/json"),
            ("/api/v1/members/import.csv", b"name\n" + b"x" * 2000, "text/csv"),
        ]:
            headers = {**auth, "Content-Type": kind}
            response = client.post(path, content=content, headers=headers)
            assert response.status_code == 413, (path, response.text)
            assert response.json()["detail"] == "request body larger than 1000 bytes"
        small = client.post("/api/v1/members/", json={"name": "x" * 201}, headers=auth)
        assert small.status_code == 422


def test_a_body_read_outside_the_routes_is_still_413():
    from fastapi.testclient import TestClient

    from api.body_limit import BodyLimit

    async def reads_everything(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    def chunks() -> Iterator[bytes]:
        yield from [b"x" * 10] * 5

    client = TestClient(BodyLimit(reads_everything, limit=20))  # no lifespan: not entered
    assert client.post("/", content=b"x" * 20).text == "read"
    for content in (b"x" * 21, chunks()):
        response = client.post("/", content=content)
        assert response.status_code == 413
        assert response.json() == {"detail": "request body larger than 20 bytes", "errors": []}


@pytest.mark.parametrize("value", [True, False, 5, 2**40, 3.0])
def test_numbers_and_booleans_are_not_ip_addresses(env, value):
    api, w = env["api"], env["world"]
    for resource, field in [
        ("prefixes", "cidr"),
        ("ip-allocations", "address"),
        ("devices", "management_address"),
    ]:
        body = {**_carrier_body(resource, w, "ip", 251), field: value}
        if resource == "ip-allocations":
            body["prefix"] = env["carriers"]["prefixes"]["%"]
        response = api.post(f"/api/v1/{resource}/", json=body)
        assert response.status_code == 422, (resource, value, response.text)
        assert b.errors_name(response.json(), field), response.text


# --- headers ------------------------------------------------------------------------------


def test_header_tricks_are_401(env):
    api = env["api"]
    admin = api.tokens["admin"]
    for header in [
        "Bearer " + "a" * 100_000,
        "Bearer " + admin + "a" * 100_000,
        "Bearer",
        "Bearer ",
        "Bearer     ",
        "Token",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer \x00",
        "Bearer mk_\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        f"Bearer {admin}\x00",
        f"Bearer {admin[:12]}",
        f"Bearer {admin[:-1]}",
        f"Bearer {admin} {admin}",
        "Bearer ' OR 1=1 --",
    ]:
        response = api.get("/api/v1/members/", role=None, headers={"Authorization": header})
        assert response.status_code == 401, (header[:40], response.status_code, response.text)
        assert set(response.json()) >= {"detail", "errors"}


# --- over real HTTP: sizes, raw bytes, and the server staying up ----------------------------


def _raw_request(base_url: str, data: bytes) -> bytes:
    """Send bytes as they are (no client to clean them up) and read the whole answer."""
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def live(env, engine, tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """A real uvicorn over the module's database and tokens: (base URL, tokens by role)."""
    from api.app import create_app
    from ipam.settings import Settings
    from tests.live import served

    settings = Settings(data_dir=tmp_path_factory.mktemp("live"), probe_networks=["127.0.0.0/8"])
    with served(create_app(settings, engine)) as url:
        yield url, env["api"].tokens


def _alive(base_url: str) -> None:
    assert requests.get(f"{base_url}/api/v1/", timeout=30).status_code == 200


def test_oversized_bodies_are_413_and_the_server_stays_up(live):
    base_url, tokens = live
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    json_headers = {**auth, "Content-Type": "application/json"}
    huge = b'{"name": "' + b"x" * (20 * MEGABYTE) + b'"}'

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(huge), MEGABYTE):
            yield huge[start : start + MEGABYTE]

    for path, data, headers in [
        ("/api/v1/members/", huge, json_headers),
        ("/api/v1/members/", chunked(), json_headers),
        ("/api/v1/members/import.csv", b"name\n" + b"x" * (20 * MEGABYTE), auth),
        ("/api/v1/join/", huge, {"Content-Type": "application/json"}),
    ]:
        response = requests.post(f"{base_url}{path}", data=data, headers=headers, timeout=60)
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert set(response.json()) >= {"detail", "errors"}
        _alive(base_url)
    # Under the limit: read and refused for what it says, not for its size.
    big = {"name": "x" * MEGABYTE}
    response = requests.post(f"{base_url}/api/v1/members/", json=big, headers=auth, timeout=60)
    assert response.status_code == 422, response.text[:200]


def test_raw_bytes_over_http_are_4xx_and_the_server_stays_up(live):
    base_url, tokens = live
    auth = f"Authorization: Bearer {tokens['admin']}\r\n".encode()

    def get(target: bytes, headers: bytes = auth) -> bytes:
        return (
            b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n"
        )

    def post(target: bytes, body: bytes) -> bytes:
        head = b"POST " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + auth
        length = f"Content-Length: {len(body)}\r\n".encode()
        return head + b"Content-Type: application/json\r\n" + length + b"\r\n" + body

    for request in [
        get(b"/api/v1/members/\xff\xfe/"),
        get(b"/api/v1/members/lookup/?name=\xff\xfe"),
        get(b"/api/v1/members/lookup/?name=%FF%FE%00"),
        get(b"/api/v1/members/../../../etc/passwd"),
        get(b"/api/v1/members/%2e%2e/%2e%2e/"),
        get(b"/api/v1/members/%00/"),
        get(b"/api/v1/members/" + b"a" * 200_000 + b"/"),
        get(b"/api/v1/members/", b"Authorization: Bearer ab\x00cd\r\n"),
        get(b"/api/v1/members/", b"Authorization: Bearer " + b"a" * 100_000 + b"\r\n"),
        get(b"/api/v1/members/", b"Authorization: Bearer\r\n"),
        get(b"/api/v1/members/", b"Authorization: Bearer \xff\xfe\r\n"),
        post(b"/api/v1/members/", b'{"name": "\xff\xfe"}'),
        post(b"/api/v1/members/", b'{"name": "\\ud800"}'),
        post(b"/api/v1/members/", b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ]:
        answer = _raw_request(base_url, request)
        assert 400 <= _status(answer) < 500, (request[:80], answer[:300])
        _alive(base_url)
