"""`/api/v1/mapdata/kiosks/` (issue 12, point 5): MeshDB's LinkNYC kiosk proxy, against a
recorded NYC Open Data answer on a loopback server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ipam.maps.kiosks import KioskCache
from tests.recorded_http import recorded_server

# Rows in the dataset's (s4kf-3yrf) shape, as NYC Open Data answers them.
ROWS = [
    {
        "link_site_id": "BK-01-123456",
        "street_address": "123 FLATBUSH AVENUE",
        "planned_kiosk_type": "Link 5G",
        "latitude": "40.68712",
        "longitude": "-73.97853",
        "link_installation_status": "Live",
        "borough": "Brooklyn",
    },
    {},
    {
        "link_site_id": "MN-02-654321",
        "street_address": "500 BROADWAY",
        "planned_kiosk_type": "Link",
        "latitude": "40.72231",
        "longitude": "-73.99840",
        "link_installation_status": "Ready for Activation",
    },
    {
        "link_site_id": "QU-03-000001",
        "street_address": "1 MAIN STREET",
        "planned_kiosk_type": "Link",
        "latitude": "40.75",
        "longitude": "-73.83",
        "link_installation_status": "Removed",
    },
]


class Clock:
    """Seconds that move only when told (the cache's age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def city():
    with recorded_server({"/resource/s4kf-3yrf.json": lambda params: (200, ROWS)}) as server:
        yield server


@pytest.fixture()
def client(db, tmp_path, city):
    from api.app import create_app
    from ipam.settings import Settings

    settings = Settings(data_dir=tmp_path, geocoder="nyc", nyc_open_data_url=city.url)
    app = create_app(settings, db)
    clock = Clock()
    app.state.kiosk_cache = KioskCache(clock=clock)
    with TestClient(app) as test_client:
        yield test_client, clock


def test_kiosks_in_the_maps_shape_kept_a_minute_then_502(client, city):
    http, clock = client
    answer = http.get("/api/v1/mapdata/kiosks/")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.json() == [
        {
            "street_address": "123 FLATBUSH AVENUE",
            "type": "Link 5G",
            "id": "BK-01-123456",
            "coordinates": [-73.97853, 40.68712],
            "status": "active",
        },
        {
            "street_address": "500 BROADWAY",
            "type": "Link",
            "id": "MN-02-654321",
            "coordinates": [-73.9984, 40.72231],
            "status": "pending",
        },
        {
            "street_address": "1 MAIN STREET",
            "type": "Link",
            "id": "QU-03-000001",
            "coordinates": [-73.83, 40.75],
            "status": None,
        },
    ]
    assert city.asked("/resource/s4kf-3yrf.json") == [{"$limit": "100000"}]
    city.routes["/resource/s4kf-3yrf.json"] = lambda params: (503, {"error": "down"})
    clock.now += 59
    assert http.get("/api/v1/mapdata/kiosks/").status_code == 200  # the good answer is kept
    assert len(city.seen) == 1
    clock.now += 2
    failed = http.get("/api/v1/mapdata/kiosks/")
    assert failed.status_code == 502
    assert failed.json()["detail"] == "Error fetching data from City of New York"


@pytest.mark.parametrize("body", [[], {"error": "x"}, [{"street_address": "no coordinates"}]])
def test_nonsense_from_the_city_is_502(client, city, body):
    http, _ = client
    city.routes["/resource/s4kf-3yrf.json"] = lambda params: (200, body)
    failed = http.get("/api/v1/mapdata/kiosks/")
    assert failed.status_code == 502
    assert failed.json()["detail"] == "Invalid response received from City of New York"


def test_off_without_the_nyc_services(api):
    # The default calls nothing outside this machine.
    answer = api.get("/api/v1/mapdata/kiosks/", role=None)
    assert answer.status_code == 404
    assert "MESHKEEPER_GEOCODER=nyc" in answer.json()["detail"]
