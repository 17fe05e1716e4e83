"""Browser clients (issue 12, point 1): CORS from the configured origins, `*` on the public
map feeds, and MeshDB's form bodies read as JSON whatever their Content-Type (meshforms sends
text/plain;charset=UTF-8). Requests go over a real socket to the app served by uvicorn."""

from __future__ import annotations

import json

import httpx
import pytest

from api.join import attach_limiter

FORMS = "https://forms.nycmesh.net"
ELSEWHERE = "https://evil.example"


@pytest.fixture()
def settings(tmp_path):
    """The app allows one origin, as MeshDB allows its forms' site."""
    from ipam.settings import Settings

    return Settings(data_dir=tmp_path, probe_networks=["127.0.0.0/8"], cors_origins=[FORMS])


@pytest.fixture()
def served(api, db, settings):
    """The app on a loopback port, with a join limit no test reaches."""
    from api.app import create_app
    from tests.live import served

    app = create_app(settings, db)
    attach_limiter(app, limit=1000, window_s=60)
    with served(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, api.tokens


def _preflight(client, path, origin, headers="content-type,x-recaptcha-v3-token"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_from_an_allowed_origin_names_the_form_headers(served):
    client, _ = served
    answer = _preflight(client, "/api/v1/join/", FORMS, "content-type,x-recaptcha-v2-token")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FORMS
    allowed = answer.headers["access-control-allow-headers"].lower()
    for header in ("content-type", "authorization", "x-recaptcha-v2-token", "x-recaptcha-v3-token"):
        assert header in allowed
    assert "POST" in answer.headers["access-control-allow-methods"]


def test_preflight_from_another_origin_is_refused(served):
    client, _ = served
    answer = _preflight(client, "/api/v1/nn-assign/", ELSEWHERE)
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


def test_simple_request_gets_its_origin_back_only_when_allowed(served):
    client, tokens = served
    auth = {"Authorization": f"Bearer {tokens['read_only']}"}
    ok = client.get("/api/v1/members/", headers={**auth, "Origin": FORMS})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == FORMS
    other = client.get("/api/v1/members/", headers={**auth, "Origin": ELSEWHERE})
    assert other.status_code == 200 and "access-control-allow-origin" not in other.headers


def test_public_map_feeds_answer_every_origin(served):
    client, _ = served
    for path in ("/api/v1/mapdata/nodes/", "/api/v1/geojson/", "/api/v1/kml/"):
        answer = client.get(path, headers={"Origin": ELSEWHERE})
        assert answer.status_code == 200, path
        assert answer.headers["access-control-allow-origin"] == "*", path
    preflight = _preflight(client, "/api/v1/mapdata/links/", ELSEWHERE, "content-type")
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_no_origins_configured_means_no_cors_headers(db, tmp_path):
    from api.app import create_app
    from ipam.settings import Settings
    from tests.live import served

    with served(create_app(Settings(data_dir=tmp_path), db)) as url:
        answer = httpx.get(f"{url}/api/v1/", headers={"Origin": FORMS})
        preflight = _preflight(httpx.Client(base_url=url), "/api/v1/join/", FORMS)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_origins_setting_reads_a_comma_separated_list(monkeypatch):
    from ipam.settings import Settings

    monkeypatch.setenv("MESHKEEPER_CORS_ORIGINS", f"{FORMS}, http://localhost:3000")
    assert Settings().cors_origins == [FORMS, "http://localhost:3000"]


JOIN = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email_address": "grace@example.org",
    "phone_number": "+1 212 555 0123",
    "street_address": "135 Eastern Parkway",
    "city": "Brooklyn",
    "state": "NY",
    "zip_code": "11238",
    "apartment": "4F",
    "roof_access": False,
    "referral": "",
    "ncl": True,
    "trust_me_bro": False,
    "latitude": 40.672,
    "longitude": -73.963,
}


@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", None, "application/json"])
def test_forms_read_json_whatever_the_content_type(served, content_type):
    client, tokens = served
    headers = {"Origin": FORMS}
    if content_type:
        headers["Content-Type"] = content_type
    joined = client.post("/api/v1/join/", content=json.dumps(JOIN), headers=headers)
    assert joined.status_code == 201, joined.text
    assert joined.headers["access-control-allow-origin"] == FORMS
    number = joined.json()["install_number"]
    headers["Authorization"] = f"Bearer {tokens['installer']}"
    assigned = client.post(
        "/api/v1/nn-assign/", content=json.dumps({"install_number": number}), headers=headers
    )
    assert assigned.status_code == 201, assigned.text
    assert assigned.json()["install_number"] == number
