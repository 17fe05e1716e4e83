"""MeshDB's NN form and query form (issue 12, point 3), with MeshDB's status codes and bodies
(`meshapi/views/forms.py`, `meshapi/views/query_api.py`, `meshapi/serializers/query_api.py`,
`meshapi/permissions.py`), over a real socket to the app served by uvicorn."""

from __future__ import annotations

import json

import httpx
import pytest

PSK = "nn-form-password"
QUERY_PSK = "query-form-password"


@pytest.fixture()
def settings(tmp_path):
    """Both of MeshDB's form passwords set."""
    from ipam.settings import Settings

    return Settings(data_dir=tmp_path, nn_assign_psk=PSK, query_psk=QUERY_PSK)


@pytest.fixture()
def http(live_api):
    """An anonymous client of the served app, and the role tokens."""
    url, tokens = live_api
    with httpx.Client(base_url=url, timeout=20) as client:
        yield client, tokens


def _admin(tokens):
    return {"Authorization": f"Bearer {tokens['admin']}"}


def _install(client, tokens, **install):
    """A member, a building and an install, made through the records API as an admin."""
    headers = _admin(tokens)
    member = client.post(
        "/api/v1/members/",
        headers=headers,
        json=install.pop("member", {"name": "Jon Smith", "primary_email_address": "js@x.org"}),
    ).json()
    building = (
        install.pop("building", None)
        or client.post(
            "/api/v1/buildings/",
            headers=headers,
            json={
                "street_address": "151 Broome Street",
                "city": "New York",
                "state": "NY",
                "zip_code": "10002",
                "bin": 1077609,
                "latitude": 40.71727,
                "longitude": -73.98492,
            },
        ).json()
    )
    body = {"member": member["id"], "building": building["id"], "status": "Request Received"}
    made = client.post("/api/v1/installs/", headers=headers, json={**body, **install})
    assert made.status_code == 201, made.text
    return made.json(), member, building


def _form(client, body):
    # meshforms posts JSON as text/plain, with the password in the body and no token.
    return client.post(
        "/api/v1/nn-assign/",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )


def test_nn_form_with_the_password_assigns_then_answers_200(http):
    client, tokens = http
    install, _, building = _install(client, tokens)
    number = install["install_number"]
    first = _form(client, {"install_number": number, "password": PSK})
    assert first.status_code == 201, first.text
    assert first.json() == {
        "detail": "Network Number has been assigned!",
        "building_id": building["id"],
        "install_id": install["id"],
        "install_number": number,
        "network_number": 101,
        "created": True,
    }
    again = _form(client, {"install_number": number, "password": PSK})
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["detail"] == (
        f"This Install Number ({number}) already has a Network Number (101) associated with it!"
    )
    history = client.get(f"/api/v1/installs/{number}/history/", headers=_admin(tokens)).json()
    assert "nn-assign-form" in json.dumps(history)


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"install_number": 1, "password": "wrong"}, 403, "Authentication Failed."),
        ({"install_number": 1}, 401, None),
        ({"install_number": 99999, "password": PSK}, 404, "Install Number not found"),
        ({"password": PSK}, 400, "Got incomplete request"),
        ({"install_number": "x", "password": PSK}, 400, "Got incomplete request"),
    ],
)
def test_nn_form_refusals(http, body, status, detail):
    client, tokens = http
    _install(client, tokens)
    answer = _form(client, body)
    assert answer.status_code == status, answer.text
    if detail:
        assert answer.json()["detail"] == detail


def test_nn_form_refuses_closed_installs_with_meshdb_words(http):
    client, tokens = http
    install, _, _ = _install(client, tokens, status="Closed")
    answer = _form(client, {"install_number": install["install_number"], "password": PSK})
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith(
        "Invalid install status for NN Assignment. Re-submit the join form to create a new "
        "install number"
    )


def test_password_ignored_when_no_psk_is_set(db, tmp_path, api):
    from api.app import create_app
    from ipam.settings import Settings
    from tests.live import served

    app = create_app(Settings(data_dir=tmp_path), db)
    with served(app) as url, httpx.Client(base_url=url) as client:
        _install(client, api.tokens)
        refused = _form(client, {"install_number": 1, "password": ""})
        assert refused.status_code == 403
        token = client.post(
            "/api/v1/nn-assign/",
            json={"install_number": 1},
            headers={"Authorization": f"Bearer {api.tokens['installer']}"},
        )
        assert token.status_code == 201


def _query(client, form, params, secret=QUERY_PSK):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.get(f"/api/v1/query/{form}/", params=params, headers=headers)


def test_query_form_rows_are_meshdb_flattened_installs(http):
    client, tokens = http
    install, member, building = _install(
        client,
        tokens,
        member={
            "name": "Jon Smith",
            "primary_email_address": "jon+mesh@example.com",
            "stripe_email_address": "billing@example.com",
            "phone_number": "+1 585-758-3425",
            "notes": "member note",
        },
        unit="3",
        notes="install note",
    )
    _form(client, {"install_number": install["install_number"], "password": PSK})
    answer = _query(client, "buildings", {"bin": "1077609"})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert (page["count"], page["next"], page["previous"]) == (1, None, None)
    member_row = client.get(f"/api/v1/members/{member['id']}/", headers=_admin(tokens)).json()
    assert page["results"] == [
        {
            "install_number": install["install_number"],
            "street_address": "151 Broome Street",
            "unit": "3",
            "city": "New York",
            "state": "NY",
            "zip_code": "10002",
            "name": "Jon Smith",
            "phone_number": member_row["phone_number"],
            "additional_phone_numbers": [],
            "primary_email_address": "jon+mesh@example.com",
            "stripe_email_address": "billing@example.com",
            "additional_email_addresses": [],
            "notes": "install note\nmember note",
            "network_number": 101,
            "network_number_status": "Planned",
            "status": "Pending",
        }
    ]
    # An unescaped "+" (a space once decoded) still finds the address.
    raw = client.get(
        "/api/v1/query/members/?email_address=jon+mesh@example.com",
        headers={"Authorization": f"Bearer {QUERY_PSK}"},
    )
    assert [r["install_number"] for r in raw.json()["results"]] == [install["install_number"]]


def test_query_filters_of_each_form(http):
    client, tokens = http
    first, member, building = _install(client, tokens)
    second, other, _ = _install(
        client,
        tokens,
        building=building,
        member={
            "name": "Ada Byron",
            "primary_email_address": "ada@x.org",
            "phone_number": "+1 212 555 0123",
        },
    )
    _form(client, {"install_number": second["install_number"], "password": PSK})
    numbers = lambda answer: [r["install_number"] for r in answer.json()["results"]]  # noqa: E731
    both = [first["install_number"], second["install_number"]]
    assert numbers(_query(client, "members", {"name": "smith"})) == [first["install_number"]]
    assert numbers(_query(client, "members", {"phone_number": "555"})) == [second["install_number"]]
    assert numbers(_query(client, "installs", {"network_number": "101"})) == [
        second["install_number"]
    ]
    assert numbers(_query(client, "installs", {"member": member["id"]})) == [
        first["install_number"]
    ]
    assert numbers(_query(client, "installs", {"status": "Pending"})) == [second["install_number"]]
    assert numbers(_query(client, "buildings", {"street_address": "broome"})) == both
    assert numbers(_query(client, "buildings", {"city": "new york"})) == both  # iexact
    assert numbers(_query(client, "buildings", {"city": "new"})) == []  # not a substring
    assert numbers(_query(client, "buildings", {"zip_code": "10002", "state": "ny"})) == both
    # Ada is an additional member of the first install: member filters find it too.
    client.patch(
        f"/api/v1/installs/{first['install_number']}/",
        headers=_admin(tokens),
        json={"additional_members": [other["id"]]},
    )
    assert numbers(_query(client, "members", {"email_address": "ada@x.org"})) == both
    assert other["id"] != member["id"]


def test_query_pages_clamp_page_size_and_order_by_install_number(http):
    client, tokens = http
    made = [_install(client, tokens)[0]["install_number"] for _ in range(3)]
    answer = _query(client, "buildings", {"bin": "1077609", "page_size": "2"}).json()
    assert answer["count"] == 3 and answer["previous"] is None
    assert [r["install_number"] for r in answer["results"]] == made[:2]
    nxt = client.get(answer["next"], headers={"Authorization": f"Bearer {QUERY_PSK}"}).json()
    assert [r["install_number"] for r in nxt["results"]] == made[2:]
    big = _query(client, "buildings", {"bin": "1077609", "page_size": "9999"})
    assert big.status_code == 200 and big.json()["count"] == 3


@pytest.mark.parametrize(
    ("params", "secret", "status", "detail"),
    [
        ({"bin": "1"}, None, 401, None),
        ({"bin": "1"}, "wrong", 403, "Authentication Failed."),
        ({}, QUERY_PSK, 400, "Please provide at least one filter to use this endpoint"),
        ({"colour": "red"}, QUERY_PSK, 400, "Invalid filters provided: ['colour']"),
        ({"bin": "not-a-number"}, QUERY_PSK, 422, None),
    ],
)
def test_query_refusals(http, params, secret, status, detail):
    client, _ = http
    answer = _query(client, "buildings", params, secret)
    assert answer.status_code == status, answer.text
    if detail:
        assert answer.json()["detail"] == detail


def test_query_accepts_any_read_token(http):
    client, tokens = http
    _install(client, tokens)
    answer = _query(client, "buildings", {"bin": "1077609"}, tokens["read_only"])
    assert answer.status_code == 200 and answer.json()["count"] == 1
