"""The operator console over HTTP: sign-in, CSRF, forms with the API's rules, history, revert."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.builders import building, device, install, member, node, ref
from tests.api.console_helpers import PASSWORD, make_person, sign_in


@pytest.fixture()
def console(api, db, sessions, settings):
    """A browser-like client (cookies kept) of the same app, and the admin token's client."""
    make_person(sessions, "alice", "admin")
    make_person(sessions, "ivan", "installer")
    make_person(sessions, "rosa", "read_only")
    with TestClient(create_app(settings, db)) as client:
        yield client


def test_pages_need_a_sign_in_and_send_back_where_you_were_going(console):
    answer = console.get("/ui/nodes/101/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/nodes/101/"
    answer = console.post(
        "/ui/login",
        data={"username": "alice", "password": PASSWORD, "next": "/ui/map"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/map"


def test_session_cookie_is_httponly_and_samesite_and_never_the_password(console):
    answer = console.post(
        "/ui/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP here; over TLS it is set (next test)
    assert PASSWORD.lower() not in cookie


def test_cookie_is_secure_over_tls(api, db, sessions, settings):
    make_person(sessions, "tess", "admin")
    with TestClient(create_app(settings, db), base_url="https://mesh.example") as client:
        answer = client.post(
            "/ui/login", data={"username": "tess", "password": PASSWORD}, follow_redirects=False
        )
    assert "secure" in answer.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password!"), ("nobody", PASSWORD)]
)
def test_a_wrong_password_or_name_is_refused_alike(console, username, password):
    answer = console.post("/ui/login", data={"username": username, "password": password})
    assert answer.status_code == 401
    assert "Wrong username or password" in answer.text
    assert "meshkeeper_session" not in answer.headers.get("set-cookie", "")


def test_next_never_leaves_the_console(console):
    answer = console.post(
        "/ui/login",
        data={"username": "alice", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/ui/"


def test_every_form_needs_the_csrf_token(console):
    sign_in(console, "alice")
    answer = console.post("/ui/records/members/new", data={"name": "Eve", "csrf_token": "forged"})
    assert answer.status_code == 403
    assert console.get("/ui/search?q=Eve").text.count("Eve</a>") == 0


def test_the_api_takes_the_cookie_but_writes_need_the_csrf_header(console):
    csrf = sign_in(console, "ivan")
    assert console.get("/api/v1/members/").status_code == 200
    assert console.post("/api/v1/members/", json={"name": "Mo"}).status_code == 403
    made = console.post("/api/v1/members/", json={"name": "Mo"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    history = console.get(f"/api/v1/members/{made.json()['id']}/history/").json()
    assert history[0]["actor"] == "ivan"  # the person, not a shared token


def test_a_form_shows_the_apis_own_messages_and_saves_nothing_bad(console, api):
    csrf = sign_in(console, "ivan")
    answer = console.post(
        "/ui/records/members/new",
        data={"csrf_token": csrf, "name": "Ada", "primary_email_address": "not-an-email"},
    )
    assert answer.status_code == 422
    api_answer = api.post(
        "/api/v1/members/", json={"name": "Ada", "primary_email_address": "not-an-email"}
    )
    message = api_answer.json()["errors"][0]["message"]
    assert message in answer.text.replace("&#39;", "'")
    assert api.get("/api/v1/members/").json()["count"] == 0


def test_create_edit_and_history_name_the_person(console, api):
    csrf = sign_in(console, "ivan")
    answer = console.post(
        "/ui/records/members/new",
        data={"csrf_token": csrf, "name": "Ada", "phone_number": "+17185550142"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page_url = answer.headers["location"]
    member_id = page_url.rstrip("/").rsplit("/", 1)[-1]
    form = {
        "csrf_token": csrf,
        "name": "Ada Lovelace",
        "phone_number": "+17185550142",
        "additional_email_addresses": "ada@example.org\nada2@example.org",
    }
    saved = console.post(page_url, data=form, follow_redirects=False)
    assert saved.status_code == 303
    record = api.get(f"/api/v1/members/{member_id}/").json()
    assert record["name"] == "Ada Lovelace"
    assert record["additional_email_addresses"] == ["ada@example.org", "ada2@example.org"]
    history = api.get(f"/api/v1/members/{member_id}/history/").json()
    assert [h["actor"] for h in history] == ["ivan", "ivan"]
    page = console.get(page_url).text
    assert "ivan" in page and "additional_email_addresses" in page


def test_only_admins_revert_and_a_revert_restores_the_version(console, api):
    ada = member(api, "Ada")
    api.patch(f"/api/v1/members/{ada['id']}/", json={"name": "Ada (typo)"})
    first = api.get(f"/api/v1/members/{ada['id']}/history/").json()[0]["id"]
    url = f"/ui/records/members/{ada['id']}/revert/{first}"
    csrf = sign_in(console, "ivan")
    assert console.post(url, data={"csrf_token": csrf}).status_code == 403
    assert api.get(f"/api/v1/members/{ada['id']}/").json()["name"] == "Ada (typo)"
    console.cookies.clear()
    csrf = sign_in(console, "alice")
    assert console.post(url, data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert api.get(f"/api/v1/members/{ada['id']}/").json()["name"] == "Ada"
    assert api.get(f"/api/v1/members/{ada['id']}/history/").json()[-1]["actor"] == "alice"


def test_read_only_people_see_forms_but_cannot_write(console, api):
    ada = member(api, "Ada")
    csrf = sign_in(console, "rosa")
    page = console.get(f"/ui/records/members/{ada['id']}/").text
    assert "readonly" in page and ">Save<" not in page
    answer = console.post(
        f"/ui/records/members/{ada['id']}/", data={"csrf_token": csrf, "name": "Rosa was here"}
    )
    assert answer.status_code == 403
    assert api.get(f"/api/v1/members/{ada['id']}/").json()["name"] == "Ada"


def test_nn_form_assigns_and_shows_the_addresses(console, api):
    owner, site = member(api, "Ada"), building(api, "5 Roof Road")
    inst = install(api, owner, site, status="Pending")
    csrf = sign_in(console, "ivan")
    number = str(inst["install_number"])
    answer = console.post("/ui/nn-assign", data={"csrf_token": csrf, "install_number": number})
    assert answer.status_code == 200
    nn = api.get(f"/api/v1/installs/{number}/").json()["node"]["network_number"]
    assert f"NN {nn}" in answer.text
    assert api.get(f"/api/v1/addressing/{nn}/").json()["router"] in answer.text
    bad = console.post("/ui/nn-assign", data={"csrf_token": csrf, "install_number": "abc"})
    assert bad.status_code == 422


def test_search_finds_a_member_by_an_additional_members_phone_in_any_format(console, api):
    owner = member(api, "Owner Person", primary_email_address="owner@example.org")
    partner = member(api, "Partner Person", phone_number="+17185550142")
    site = building(api, "7 Search Street", 1234567)
    inst = install(api, owner, site, unit="4F", additional_members=[ref(partner)])
    sign_in(console, "rosa")
    for query in ("718-555-0142", "(718) 555 0142", "+1 718 555 0142", "7185550142"):
        page = console.get("/ui/search", params={"q": query}).text
        assert "Partner Person" in page, query
        assert f"#{inst['install_number']}" in page and "additional member" in page, query
    assert "7 Search Street" in console.get("/ui/search?q=1234567").text  # BIN
    assert "Owner Person" in console.get("/ui/search?q=owner@EXAMPLE").text


def test_search_says_who_owns_an_address(console, api):
    node(api, 4734, name="Roof")
    sign_in(console, "rosa")
    router = api.get("/api/v1/addressing/4734/").json()["router"]
    page = console.get("/ui/search", params={"q": router}).text
    assert 'href="/ui/nodes/4734/"' in page and "router" in page


def test_node_page_shows_addresses_devices_links_and_what_it_cuts_off(console, api):
    hub, leaf = node(api, 227, name="Hub", type="Hub"), node(api, 1934, name="Leaf")
    a, b = device(api, hub, "nycmesh-227-a"), device(api, leaf, "nycmesh-1934-b")
    api.create("links", {"from_device": ref(a), "to_device": ref(b), "status": "Active"})
    roof = building(api, "1 Hub Roof", nodes=[ref(hub)])
    sign_in(console, "rosa")
    page = console.get("/ui/nodes/227/").text
    assert f'href="/ui/records/buildings/{roof["id"]}/"' in page
    assert api.get("/api/v1/addressing/227/").json()["router"] in page
    assert "nycmesh-227-a" in page and "to NN 1934" in page
    assert 'href="/ui/nodes/1934/"' in page
    assert console.get("/ui/nodes/7999/").status_code == 404


def test_status_page_lists_a_down_node_and_the_fragment_is_the_same_panels(console, db, api):
    from sqlalchemy import text

    hub = node(api, 227, name="Hub", type="Hub")
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO node_observation (node_id, status, since) VALUES (:id, 'down', now())"
            ),
            {"id": hub["id"]},
        )
    sign_in(console, "rosa")
    page = console.get("/ui/").text
    fragment = console.get("/ui/status/fragment").text
    assert re.search(r'href="/ui/nodes/227/">227</a>', page)
    assert re.search(r'href="/ui/nodes/227/">227</a>', fragment)
    assert "Active nodes down (1)" in fragment


def test_root_redirects_to_the_console_and_sign_out_ends_the_session(console):
    assert console.get("/", follow_redirects=False).headers["location"] == "/ui/"
    csrf = sign_in(console, "alice")
    assert (
        console.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 303
    )
    assert console.get("/ui/", follow_redirects=False).status_code == 303


def test_map_data_is_geojson_of_the_mesh(console, api):
    node(api, 227, name="Hub", type="Hub", latitude=40.7, longitude=-73.9)
    sign_in(console, "rosa")
    data = console.get("/ui/map.json").json()
    assert data["type"] == "FeatureCollection"
    assert {f["properties"].get("nn") for f in data["features"]} >= {227}
    assert "data-tiles" in console.get("/ui/map").text


JOIN = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email_address": "grace@example.org",
    "phone_number": "(212) 555-0123",
    "street_address": "151 West 4th Street",
    "city": "New York",
    "state": "NY",
    "zip_code": "10012",
    "apartment": "4B",
    "roof_access": "on",
    "ncl": "on",
    "latitude": "40.7312",
    "longitude": "-74.0010",
}


def _field_messages(page: str) -> dict[str, str]:
    """The message shown beside each box of a form, by field name."""
    found = re.findall(r'<p class="field-error" id="f-(\w+)-error">(.*?)</p>', page)
    return {name: html.unescape(text) for name, text in found}


def test_join_form_files_a_request_and_the_history_names_the_person(console, api):
    csrf = sign_in(console, "ivan")
    assert 'href="/ui/join"' in console.get("/ui/").text  # in the navigation
    answer = console.post("/ui/join", data={**JOIN, "csrf_token": csrf})
    assert answer.status_code == 200
    number = int(re.search(r"Filed: install #(\d+)", answer.text).group(1))
    install_ = api.get(f"/api/v1/installs/{number}/").json()
    assert (install_["status"], install_["unit"], install_["roof_access"]) == (
        "Request Received",
        "4B",
        True,
    )
    member_ = api.get(f"/api/v1/members/{install_['member']['id']}/").json()
    assert (member_["name"], member_["phone_number"]) == ("Grace Hopper", "+12125550123")
    history = api.get(f"/api/v1/installs/{number}/history/").json()
    assert [h["actor"] for h in history] == ["ivan"]
    again = console.post("/ui/join", data={**JOIN, "csrf_token": csrf})
    assert f"Already filed: install #{number}" in again.text
    assert "(already known by this email)" in again.text
    assert api.get("/api/v1/installs/").json()["count"] == 1


def test_join_form_shows_the_apis_messages_beside_their_fields(console, api):
    csrf = sign_in(console, "ivan")
    bad = {**JOIN, "email_address": "grace-at-example", "phone_number": "12", "city": ""}
    del bad["ncl"]  # an unticked box is not sent
    answer = console.post("/ui/join", data={**bad, "csrf_token": csrf})
    assert answer.status_code == 400  # as the API answers (MeshDB's form answers 400)
    # The API's answer to the same body (with a city: it refuses an incomplete one outright).
    body = {**bad, "city": "New York", "roof_access": True, "ncl": False}
    body.update(latitude=40.7312, longitude=-74.0010)
    api_answer = api.post("/api/v1/join/", role=None, json=body).json()
    shown = _field_messages(answer.text)
    assert set(shown) == {"email_address", "phone_number", "city", "ncl"}
    assert {item["field"] for item in api_answer["errors"]} == set(shown) - {"city"}
    for item in api_answer["errors"]:
        assert item["message"] in shown[item["field"]], item
    assert shown["city"] == "Field required"  # an empty box is a field not sent
    assert html.escape(api_answer["detail"], quote=False) in answer.text  # MeshDB's own words
    assert 'aria-invalid="true" aria-describedby="f-email_address-error"' in answer.text
    assert 'value="grace-at-example"' in answer.text  # what was typed stays in its box
    assert api.get("/api/v1/members/").json()["count"] == 0


def test_join_form_asks_to_confirm_the_geocoders_correction(console, api):
    from ipam.records.join import Location

    class Corrects:
        """A plugged-in geocoder (app.state.geocoder) that writes the street its own way."""

        def locate(self, street_address, city, state, zip_code):
            return Location(40.7312, -74.001, street_address="151 W 4th St", city="New York")

    console.app.state.geocoder = Corrects()
    csrf = sign_in(console, "ivan")
    typed = {k: v for k, v in JOIN.items() if k not in ("latitude", "longitude")}
    answer = console.post("/ui/join", data={**typed, "csrf_token": csrf})
    assert answer.status_code == 409
    assert "Please confirm a few details." in answer.text
    assert "street address <strong>151 W 4th St</strong>" in answer.text
    assert api.get("/api/v1/buildings/").json()["count"] == 0
    confirmed = console.post("/ui/join", data={**typed, "trust_me_bro": "on", "csrf_token": csrf})
    assert "Filed: install #" in confirmed.text
    assert api.get("/api/v1/buildings/").json()["results"][0]["street_address"] == "151 W 4th St"


def test_join_form_needs_an_installer_and_the_csrf_token(console, api):
    csrf = sign_in(console, "rosa")
    assert console.get("/ui/join").status_code == 403
    assert console.post("/ui/join", data={**JOIN, "csrf_token": csrf}).status_code == 403
    console.cookies.clear()
    sign_in(console, "ivan")
    assert console.post("/ui/join", data={**JOIN, "csrf_token": "forged"}).status_code == 403
    assert api.get("/api/v1/members/").json()["count"] == 0
