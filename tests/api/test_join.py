"""The join form: matching, normalisation, validation, rate limit, history."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import join as join_api
from ipam.errors import Invalid
from ipam.records import join

URL = "/api/v1/join/"


def _mounted(app: Any) -> None:
    """Include the join router unless create_app already does."""
    if not any(getattr(r, "path", None) == URL for r in app.router.routes):
        app.include_router(join_api.router)


@pytest.fixture()
def form(api):
    """The API with the join router and a limit no ordinary test reaches."""
    _mounted(api.client.app)
    join_api.attach_limiter(api.client.app, limit=1000, window_s=60)
    return api


def body(**changes: Any) -> dict[str, Any]:
    """A valid join request (a Manhattan address with coordinates)."""
    base = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_address": "ada@example.org",
        "phone_number": "(212) 555-0123",
        "street_address": "151 West 4th Street",
        "city": "New York",
        "state": "NY",
        "zip_code": "10012",
        "apartment": "4B",
        "roof_access": True,
        "referral": "a friend",
        "ncl": True,
        "trust_me_bro": False,
        "latitude": 40.7312,
        "longitude": -74.0010,
    }
    base.update(changes)
    return base


def submit(api, status: int = 201, **changes: Any) -> dict[str, Any]:
    response = api.post(URL, role=None, json=body(**changes))
    assert response.status_code == status, response.text
    return response.json()


def test_new_member_building_and_install(form):
    answer = submit(form)
    assert set(answer) >= {"building_id", "member_id", "install_id", "install_number"}
    assert answer["member_exists"] is False
    member = form.get(f"/api/v1/members/{answer['member_id']}/").json()
    assert member["name"] == "Ada Lovelace"
    assert member["primary_email_address"] == "ada@example.org"
    assert member["phone_number"] == "+12125550123"
    building = form.get(f"/api/v1/buildings/{answer['building_id']}/").json()
    assert building["state"] == "NY"
    assert building["zip_code"] == "10012"
    assert building["address_truth_sources"] == ["HumanEntry"]
    install = form.get(f"/api/v1/installs/{answer['install_number']}/").json()
    assert install["id"] == answer["install_id"]
    assert install["status"] == "Request Received"
    assert (install["unit"], install["roof_access"], install["referral"]) == (
        "4B",
        True,
        "a friend",
    )


def test_member_reused_by_email_ignoring_case(form):
    first = submit(form)
    second = submit(
        form,
        first_name="Augusta",
        email_address="ADA@Example.ORG",
        phone_number="+1 718 555 1234",
        apartment="5C",
    )
    assert second["member_exists"] is True
    assert second["member_id"] == first["member_id"]
    assert second["install_number"] != first["install_number"]
    member = form.get(f"/api/v1/members/{first['member_id']}/").json()
    assert member["name"] == "Ada Lovelace"  # nothing else on the member changes
    assert member["phone_number"] == "+12125550123"
    assert member["additional_phone_numbers"] == ["+17185551234"]
    # The same number written another way is not appended again.
    submit(form, email_address="ada@example.org", phone_number="718.555.1234", apartment="6D")
    member = form.get(f"/api/v1/members/{first['member_id']}/").json()
    assert member["additional_phone_numbers"] == ["+17185551234"]


def test_building_reused_by_bin_and_address(form):
    first = submit(form, bin=1_008_123, street_address="151 West 4th Street")
    second = submit(
        form,
        email_address="grace@example.org",
        bin=1_008_123,
        street_address="151 W. 4th St",
        zip_code="10014",  # a BIN and the street decide; the ZIP is not compared
        latitude=None,
        longitude=None,  # an existing building needs no coordinates
    )
    assert second["building_id"] == first["building_id"]


def test_building_reused_by_normalised_address_and_zip(form):
    first = submit(form)
    second = submit(
        form,
        email_address="grace@example.org",
        street_address="  151   W 4 ST. ",
        zip_code="10012-1234",
        latitude=None,
        longitude=None,
    )
    assert second["building_id"] == first["building_id"]
    other_zip = submit(form, email_address="hedy@example.org", zip_code="11201")
    assert other_zip["building_id"] != first["building_id"]
    buildings = form.get("/api/v1/buildings/").json()
    assert buildings["count"] == 2


def test_duplicate_submission_answers_200_with_the_same_install(form):
    first = submit(form)
    again = submit(form, status=200, email_address="Ada@example.org", apartment="apt 4b")
    assert again["install_number"] == first["install_number"]
    assert again["install_id"] == first["install_id"]
    assert form.get("/api/v1/installs/").json()["count"] == 1
    # Once the request has moved on, the same form files a new one.
    form.patch(f"/api/v1/installs/{first['install_number']}/", json={"status": "Pending"})
    third = submit(form)
    assert third["install_number"] != first["install_number"]


PHONES = [
    ("(212) 555-0123", "+12125550123"),
    ("212.555.0123", "+12125550123"),
    ("+1 718 555 1234", "+17185551234"),
    ("+44 20 7946 0958", "+442079460958"),
]


def test_phone_normalised_to_e164(form):
    for number, (raw, e164) in enumerate(PHONES):
        answer = submit(form, phone_number=raw, email_address=f"p{number}@example.org")
        member = form.get(f"/api/v1/members/{answer['member_id']}/").json()
        assert member["phone_number"] == e164, raw


BAD_FIELDS: list[tuple[str, Any]] = [
    ("email_address", "not-an-email"),
    ("email_address", "ada@"),
    ("phone_number", "12345"),
    ("phone_number", "+1 555 555 5555"),
    ("phone_number", "call me"),
    ("state", "Narnia"),
    ("state", "XX"),
    ("ncl", False),
]


def test_bad_fields_are_400_naming_the_field(form):
    # MeshDB's join form answers 400 for every field it refuses (meshapi/views/forms.py).
    for field, value in BAD_FIELDS:
        response = form.post(URL, role=None, json=body(**{field: value}))
        assert response.status_code == 400, (field, value, response.text)
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == [field], (field, value, errors)
    assert form.get("/api/v1/members/").json()["count"] == 0


def test_state_name_or_code_is_stored_as_code(form):
    for number, (given, code) in enumerate([("new york", "NY"), ("N.Y.", "NY"), ("pr", "PR")]):
        answer = submit(form, state=given, zip_code=f"1000{number}")
        building = form.get(f"/api/v1/buildings/{answer['building_id']}/").json()
        assert building["state"] == code, given


def test_new_building_without_coordinates_is_422_naming_them(form):
    response = form.post(URL, role=None, json=body(latitude=None, longitude=None))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"latitude", "longitude"} <= fields
    assert form.get("/api/v1/members/").json()["count"] == 0  # rolled back


def test_plugged_in_geocoder_supplies_coordinates_and_bin(form):
    class Fixed:
        def locate(self, street_address, city, state, zip_code):
            return join.Location(40.7, -73.9, bin=1_234_567, source="TestGeocoder")

    form.client.app.state.geocoder = Fixed()
    answer = submit(form, latitude=None, longitude=None)
    building = form.get(f"/api/v1/buildings/{answer['building_id']}/").json()
    assert (building["latitude"], building["longitude"], building["bin"]) == (40.7, -73.9, 1234567)
    assert building["address_truth_sources"] == ["HumanEntry", "TestGeocoder"]


def test_trust_me_bro_lets_an_odd_address_through(form):
    odd = {"street_address": "Pier 57 rooftop", "zip_code": "1001"}
    refused = form.post(URL, role=None, json=body(**odd))
    assert refused.status_code == 400
    assert {e["field"] for e in refused.json()["errors"]} == {"street_address", "zip_code"}
    submit(form, trust_me_bro=True, **odd)


def test_no_token_needed_and_history_actor_is_join_form(form):
    answer = submit(form)  # role=None: no Authorization header at all
    for resource, key in (
        ("members", answer["member_id"]),
        ("buildings", answer["building_id"]),
        ("installs", answer["install_id"]),
    ):
        history = form.get(f"/api/v1/{resource}/{key}/history/").json()
        assert [h["actor"] for h in history] == ["join-form"], resource
    events = form.get(f"/api/v1/members/{answer['member_id']}/history/").json()
    assert events[0]["action"] == "created"


def test_rate_limit_answers_429_per_client_address(form):
    app = form.client.app
    join_api.attach_limiter(app, limit=3, window_s=60)
    for _ in range(3):  # junk counts too: the limit is on requests, not on filed installs
        assert form.post(URL, role=None, json={}).status_code == 400
    limited = form.post(URL, role=None, json=body())
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "too many" in limited.json()["detail"]
    with TestClient(app, client=("192.0.2.7", 40000)) as other:
        assert other.post(URL, json=body()).status_code == 201


JUNK: list[Any] = [
    {},
    [],
    "hello",
    None,
    {"first_name": 5, "ncl": "maybe"},
    body(first_name="x" * 10_000),
    body(street_address="1 Main St\x00"),
    body(latitude=95),
    body(latitude=40.7, longitude=None),
    body(bin=-3),
    body(zip_code=10012, apartment=["4B"]),
    body(email_address=None),
    body(roof_access="perhaps"),
]


def test_junk_is_never_a_500(form):
    for junk in JUNK:
        response = form.post(URL, role=None, json=junk)
        assert 400 <= response.status_code < 500, (junk, response.text)
        assert response.headers["content-type"].startswith("application/json")


def test_malformed_json_is_400(form):
    response = form.post(
        URL, role=None, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


# --- the pure parts ---


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("151 West 4th Street", "151 W 4 St."),
        ("123 Main Avenue", "123 main ave"),
        ("123 Main Av", "123  MAIN  AVENUE"),
        ("37-06 80th Street", "37-06 80 st"),
        ("1 St. Mark's Place", "1 St Marks Pl"),
        ("500 Grand Boulevard", "500 grand blvd"),
        ("2 East Broadway", "2 E. Broadway"),
    ],
)
def test_street_key_matches_spellings_of_one_address(a, b):
    assert join.street_key(a) == join.street_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("151 West 4th Street", "151 East 4th Street"),
        ("151 W 4 St", "15 W 14 St"),
        ("123 Main Street", "123 Main Avenue"),
    ],
)
def test_street_key_keeps_different_addresses_apart(a, b):
    assert join.street_key(a) != join.street_key(b)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("NY", "NY"), ("ny", "NY"), ("New York", "NY"), ("new  york", "NY"), ("D.C.", "DC")]
    + [("District of Columbia", "DC"), ("Puerto Rico", "PR"), ("Guam", "GU"), ("vi", "VI")],
)
def test_normalise_state(raw, code):
    assert join.normalise_state(raw) == code


@pytest.mark.parametrize("raw", ["", "N", "Nowhere", "Ontario", "ZZ"])
def test_normalise_state_refuses(raw):
    with pytest.raises(Invalid) as caught:
        join.normalise_state(raw)
    assert caught.value.field == "state"


@pytest.mark.parametrize(
    ("a", "b"), [("4B", "4b"), ("Apt 4B", "4B"), ("#4-B", "4b"), (None, ""), ("Unit 2", "2")]
)
def test_unit_key(a, b):
    assert join.unit_key(a) == join.unit_key(b)


def test_limiter_slides_and_forgets():
    now = [0.0]
    limiter = join_api.RateLimiter(2, 10, clock=lambda: now[0], max_clients=2)
    assert limiter.hit("a") is None
    assert limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(10)
    now[0] = 4
    assert limiter.hit("a") == pytest.approx(6)
    now[0] = 10.5  # the first request left the window
    assert limiter.hit("a") is None
    assert limiter.hit("b") is None
    assert limiter.hit("c") is None  # over max_clients: the least recently seen goes
    assert len(limiter) == 2
    assert join_api.RateLimiter(0, 10).hit("x") is None  # 0 turns limiting off


def test_joins_cannot_grow_a_member_without_end(form):
    # Issue 11: anyone who knows an email could append phone numbers until the member was
    # too big for an admin's GET-then-PUT (the API takes at most 50).
    first = submit(form)
    for n in range(join.JOIN_PHONE_CAP + 5):
        submit(form, status=201, phone_number=f"(212) 555-01{n + 30:02d}", apartment=f"{n}C")
    path = f"/api/v1/members/{first['member_id']}/"
    member = form.get(path).json()
    assert len(member["additional_phone_numbers"]) == join.JOIN_PHONE_CAP
    assert member["phone_number"] == "+12125550123"
    assert form.put(path, json=member).status_code == 200
