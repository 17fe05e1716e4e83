"""The join form as MeshDB answers it (issue 12, point 2): MeshDB's messages and status codes
(`meshapi/views/forms.py`), NYC geocoding (`meshapi/validation.py`) against recorded geosearch,
footprint and New Buildings answers, and reCAPTCHA against a recorded siteverify. Every outside
service is a loopback server (tests/recorded_http.py); the app runs under uvicorn."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.join import attach_limiter
from ipam.geocoding.messages import INVALID_ADDRESS, LOOKUP_FAILED, UNSUPPORTED_ADDRESS
from tests.recorded_http import recorded_server

FILED = "Thanks! A volunteer will email you shortly"


def _feature(housenumber, street, zip_code, borough, bin_, lon, lat, neighbourhood=None):
    """One geosearch v2 (Pelias over NYC's PAD) feature, in the shape the service answers."""
    props = {
        "layer": "address",
        "source": "nycpad",
        "name": f"{housenumber} {street}",
        "housenumber": housenumber,
        "street": street,
        "postalcode": zip_code,
        "accuracy": "point",
        "country_a": "USA",
        "region": "New York State",
        "region_a": "NY",
        "borough": borough,
        "locality": "New York",
        "label": f"{housenumber} {street}, {borough}, New York, NY, USA",
        "addendum": {"pad": {"bbl": "1003410001", "bin": bin_, "version": "25a"}},
    }
    if neighbourhood:
        props["neighbourhood"] = neighbourhood
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


# What geosearch answers for each address text meshkeeper sends ("street, city, state zip").
GEOSEARCH = {
    "151 Broome Street, New York, NY 10002": _feature(
        "151", "BROOME STREET", "10002", "Manhattan", "1077609", -73.98492, 40.71727
    ),
    "151 broome st, New York, NY 10002": _feature(
        "151", "BROOME STREET", "10002", "Manhattan", "1077609", -73.98492, 40.71727
    ),
    "30-12 35 ave, Queens, NY 11106": _feature(
        "30-12", "35 AVENUE", "11106", "Queens", "4009875", -73.92611, 40.75873, "Astoria"
    ),
    "229 east 13 st, Manhattan, NY 10003": _feature(
        "229", "EAST 13 STREET", "10003", "Manhattan", "1006536", -73.98522, 40.73224
    ),
    "12 New Lots Avenue, Brooklyn, NY 11212": _feature(
        "12", "NEW LOTS AVENUE", "11212", "Brooklyn", "3000000", -73.91437, 40.65907
    ),
    "14 New Lots Avenue, Brooklyn, NY 11212": _feature(
        "14", "NEW LOTS AVENUE", "11212", "Brooklyn", "3000000", -73.91423, 40.65905
    ),
    "1 Elsewhere Street, New York, NY 10002": _feature(
        "1", "ELSEWHERE STREET", "10013", "Manhattan", "1000001", -74.0, 40.72
    ),
}
FOOTPRINTS = {"1077609": {"height_roof": "231.61", "ground_elevation": "30"}}
NEW_BUILDINGS = {("NEW LOTS AVENUE", "12", "BROOKLYN", "11212"): [{"bin__": "3429876"}]}


def _geosearch(params):
    found = GEOSEARCH.get(params.get("text", ""))
    return 200, {"type": "FeatureCollection", "features": [found] if found else []}


def _footprints(params):
    bin_ = params.get("$where", "").removeprefix("bin=")
    return 200, [FOOTPRINTS[bin_]] if bin_ in FOOTPRINTS else []


def _new_buildings(params):
    key = (params["street_name"], params["house__"], params["borough"], params["zip_code"])
    return 200, NEW_BUILDINGS.get(key, [])


def _siteverify(params):
    # Recorded answers of Google's siteverify: v3 tokens carry a score, v2 ones do not.
    answers = {
        "v3-human": {"success": True, "score": 0.9, "action": "join"},
        "v3-bot": {"success": True, "score": 0.3, "action": "join"},
        "v2-ok": {"success": True, "hostname": "forms.nycmesh.net"},
        "v2-bad": {"success": False, "error-codes": ["invalid-input-response"]},
    }
    return 200, answers.get(params.get("response", ""), {"success": False})


@pytest.fixture()
def outside():
    """NYC's services and Google's siteverify, recorded, on one loopback server."""
    routes = {
        "/v2/search": _geosearch,
        "/resource/5zhs-2jue.json": _footprints,
        "/resource/6xbh-bxki.json": _new_buildings,
        "/recaptcha/api/siteverify": _siteverify,
    }
    with recorded_server(routes) as server:
        yield server


def _client(db, settings):
    from api.app import create_app
    from tests.live import served

    app = create_app(settings, db)
    attach_limiter(app, limit=1000, window_s=60)
    return served(app)


@pytest.fixture()
def nyc(api, db, tmp_path, outside):
    """The app with MESHKEEPER_GEOCODER=nyc pointed at the recorded services."""
    from ipam.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        geocoder="nyc",
        nyc_geosearch_url=f"{outside.url}/v2/search",
        nyc_open_data_url=outside.url,
    )
    with _client(db, settings) as url, httpx.Client(base_url=url, timeout=20) as client:
        client.headers["Authorization"] = f"Bearer {api.tokens['admin']}"
        yield client


def form(**changes: Any) -> dict[str, Any]:
    """The 13 fields meshforms sends (no coordinates: MeshDB geocodes every address)."""
    base = {
        "first_name": "Jon",
        "last_name": "Smith",
        "email_address": "jsmith@example.com",
        "phone_number": "+1 585-758-3425",
        "street_address": "151 Broome Street",
        "city": "New York",
        "state": "NY",
        "zip_code": "10002",
        "apartment": "3",
        "roof_access": True,
        "referral": "Googled it or something IDK",
        "ncl": True,
        "trust_me_bro": False,
    }
    base.update(changes)
    return base


def test_canonical_address_is_filed_with_geosearch_bin_coordinates_and_altitude(nyc):
    answer = nyc.post("/api/v1/join/", json=form())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["detail"] == FILED
    assert body["changed_info"] == {} and body["member_exists"] is False
    building = nyc.get(f"/api/v1/buildings/{body['building_id']}/").json()
    assert building["street_address"] == "151 Broome Street"
    assert (building["city"], building["state"], building["zip_code"]) == (
        "New York",
        "NY",
        "10002",
    )
    assert building["bin"] == 1077609
    assert (building["latitude"], building["longitude"]) == (40.71727, -73.98492)
    assert building["altitude"] == 79.7  # (231.61 + 30) ft / 3.28084, to 0.1 m
    assert building["address_truth_sources"] == ["NYCPlanningLabs"]


def test_repeat_answers_200_with_the_same_install(nyc):
    first = nyc.post("/api/v1/join/", json=form()).json()
    again = nyc.post("/api/v1/join/", json=form())
    assert again.status_code == 200
    assert again.json()["install_number"] == first["install_number"]
    assert again.json()["detail"] == FILED and again.json()["changed_info"] == {}


def test_corrected_address_asks_for_confirmation_then_trust_me_bro_files_it(nyc, outside):
    typed = form(street_address="151 broome st")
    asked = nyc.post("/api/v1/join/", json=typed)
    assert asked.status_code == 409, asked.text
    body = asked.json()
    assert body["detail"] == "Please confirm a few details."
    assert body["changed_info"] == {"street_address": "151 Broome Street"}
    for key in ("building_id", "member_id", "install_id", "install_number", "member_exists"):
        assert body[key] is None
    assert nyc.get("/api/v1/members/").json()["count"] == 0  # nothing filed
    trusted = nyc.post("/api/v1/join/", json={**typed, "trust_me_bro": True})
    assert trusted.status_code == 201, trusted.text
    building = nyc.get(f"/api/v1/buildings/{trusted.json()['building_id']}/").json()
    assert building["street_address"] == "151 Broome Street"  # the city's spelling is filed
    assert outside.asked("/v2/search")[0]["text"] == "151 broome st, New York, NY 10002"


def test_queens_city_is_its_neighbourhood_and_street_numbers_become_ordinals(nyc):
    queens = form(street_address="30-12 35 ave", city="Queens", zip_code="11106")
    asked = nyc.post("/api/v1/join/", json=queens).json()
    assert asked["changed_info"] == {"street_address": "30-12 35th Avenue", "city": "Astoria"}
    manhattan = form(street_address="229 east 13 st", city="Manhattan", zip_code="10003")
    asked = nyc.post("/api/v1/join/", json=manhattan).json()
    assert asked["changed_info"] == {"street_address": "229 East 13th Street", "city": "New York"}


def test_placeholder_bin_falls_back_to_dob_new_buildings(nyc, outside):
    new = form(street_address="12 New Lots Avenue", city="Brooklyn", zip_code="11212")
    answer = nyc.post("/api/v1/join/", json=new)
    assert answer.status_code == 201, answer.text
    building = nyc.get(f"/api/v1/buildings/{answer.json()['building_id']}/").json()
    assert building["bin"] == 3429876
    assert building["altitude"] is None  # no footprint yet for a new building
    asked = outside.asked("/resource/6xbh-bxki.json")[0]
    assert asked == {
        "street_name": "NEW LOTS AVENUE",
        "house__": "12",
        "borough": "BROOKLYN",
        "zip_code": "11212",
    }
    unknown = form(street_address="14 New Lots Avenue", city="Brooklyn", zip_code="11212")
    refused = nyc.post("/api/v1/join/", json=unknown)
    assert (refused.status_code, refused.json()["detail"]) == (400, INVALID_ADDRESS)


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"state": "NJ", "zip_code": "07030", "city": "Hoboken"}, UNSUPPORTED_ADDRESS),
        ({"zip_code": "12207", "city": "Albany"}, UNSUPPORTED_ADDRESS),
        ({"street_address": "1 Nowhere Street"}, INVALID_ADDRESS),  # geosearch finds nothing
        ({"street_address": "1 Elsewhere Street"}, INVALID_ADDRESS),  # found in another ZIP
    ],
)
def test_addresses_meshdb_cannot_place(nyc, changes, detail):
    answer = nyc.post("/api/v1/join/", json=form(**changes))
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == detail
    assert nyc.get("/api/v1/members/").json()["count"] == 0


def test_geosearch_down_is_503_with_meshdb_words_and_footprints_down_leaves_altitude(nyc, outside):
    outside.routes["/resource/5zhs-2jue.json"] = lambda params: (500, {"error": "down"})
    filed = nyc.post("/api/v1/join/", json=form())
    assert filed.status_code == 201, filed.text
    assert nyc.get(f"/api/v1/buildings/{filed.json()['building_id']}/").json()["altitude"] is None
    outside.routes["/v2/search"] = lambda params: (502, {"error": "bad gateway"})
    answer = nyc.post("/api/v1/join/", json=form(email_address="other@example.com"))
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"] == LOOKUP_FAILED


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"ncl": False}, "You must agree to the Network Commons License!"),
        ({"email_address": ""}, "Must provide an email"),
        ({"email_address": "notanemail"}, "notanemail is not a valid email"),
        ({"phone_number": "555"}, "555 is not a valid phone number"),
    ],
)
def test_meshdb_messages_for_refused_fields(nyc, changes, detail):
    answer = nyc.post("/api/v1/join/", json=form(**changes))
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == detail


def test_incomplete_form_is_400(nyc):
    partial = form()
    del partial["street_address"]
    for body in (partial, [], "text"):
        answer = nyc.post("/api/v1/join/", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] == "Got incomplete form request"


def test_none_geocoder_still_files_with_coordinates_anywhere(api):
    # Any community, any country's address: meshkeeper's default calls nothing outside.
    elsewhere = form(
        street_address="Hauptstrasse 5",
        city="Bremen",
        state="NY",
        zip_code="28195",
        latitude=53.0793,
        longitude=8.8017,
        trust_me_bro=True,
    )
    answer = api.post("/api/v1/join/", role=None, json=elsewhere)
    assert answer.status_code == 201, answer.text
    assert answer.json()["changed_info"] == {}


@pytest.fixture()
def captcha(api, db, tmp_path, outside):
    """The app with both reCAPTCHA secrets, verifying against the recorded siteverify."""
    from ipam.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        recaptcha_v2_secret="v2-secret",
        recaptcha_v3_secret="v3-secret",
        recaptcha_verify_url=f"{outside.url}/recaptcha/api/siteverify",
    )
    with _client(db, settings) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


COORDS = {"latitude": 40.71727, "longitude": -73.98492}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Recaptcha-V3-Token": "v3-human"}, 201),
        ({"X-Recaptcha-V3-Token": "v3-bot"}, 401),  # 0.3 < 0.5: meshforms shows the checkbox
        ({"X-Recaptcha-V3-Token": "v3-bot", "X-Recaptcha-V2-Token": "v2-ok"}, 201),
        ({"X-Recaptcha-V3-Token": "v3-human", "X-Recaptcha-V2-Token": "v2-bad"}, 401),
        ({"X-Recaptcha-V3-Token": "", "X-Recaptcha-V2-Token": ""}, 401),
        ({}, 401),
    ],
)
def test_recaptcha_judged_as_meshdb_judges(captcha, outside, headers, status):
    answer = captcha.post("/api/v1/join/", json=form(**COORDS), headers=headers)
    assert answer.status_code == status, answer.text
    if status == 401:
        assert answer.json()["detail"] == "Captcha verification failed"
    asked = outside.asked("/recaptcha/api/siteverify")
    if headers.get("X-Recaptcha-V2-Token"):
        assert asked == [{"secret": "v2-secret", "response": headers["X-Recaptcha-V2-Token"]}]
    elif headers.get("X-Recaptcha-V3-Token"):
        assert asked == [{"secret": "v3-secret", "response": headers["X-Recaptcha-V3-Token"]}]
    else:
        assert asked == []  # no token: refused without asking


def test_recaptcha_service_down_is_401(captcha, outside):
    outside.routes["/recaptcha/api/siteverify"] = lambda params: (503, {"error": "down"})
    answer = captcha.post(
        "/api/v1/join/", json=form(**COORDS), headers={"X-Recaptcha-V3-Token": "v3-human"}
    )
    assert answer.status_code == 401
