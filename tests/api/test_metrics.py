"""GET /metrics: parses as Prometheus text and says what the database and the API saw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ipam import models as m
from ipam.db import transaction
from tests.api import builders as b


def scrape(api) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Families by name, and samples by sample name."""
    response = api.get("/metrics", role=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    samples: dict[str, list[Any]] = {}
    for family in families.values():
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return families, samples


def value(samples: dict[str, list[Any]], sample: str, /, **labels: str) -> float | None:
    found = [
        s.value
        for s in samples.get(sample, [])
        if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, (sample, labels, found)
    return found[0] if found else None


def test_devices_collectors_webhooks_and_events(api, sessions):
    node = b.node(api, 210, name="Hub")
    up = b.device(api, node, "nycmesh-210-omni")
    down = b.device(api, node, "nycmesh-210-north")
    b.device(api, node, "never-polled")
    last_success = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with transaction(sessions) as session:
        session.add_all(
            [
                m.DeviceObservation(
                    device_id=up["id"],
                    status="up",
                    rtt_avg_ms=3.5,
                    packet_loss=0.25,
                    uptime_s=86400,
                ),
                m.DeviceObservation(device_id=down["id"], status="down", packet_loss=1.0),
                m.CollectorState(
                    name="icmp", duration_s=1.5, errors_total=3, last_success=last_success
                ),
                m.CollectorState(name="snmp", errors_total=0),
            ]
        )
    hook = api.post(
        "/api/v1/webhooks/",
        json={"url": "http://127.0.0.1:9/", "secret": "12345678", "event_types": ["node."]},
    ).json()
    paused = api.post(
        "/api/v1/webhooks/", json={"url": "http://127.0.0.1:9/", "secret": "12345678"}
    ).json()
    with transaction(sessions) as session:
        session.get_one(m.Webhook, paused["id"]).paused = True
    api.patch(f"/api/v1/nodes/{node['id']}/", json={"name": "Hub 2"})  # node.updated
    b.member(api)

    families, samples = scrape(api)
    labels = {"name": "nycmesh-210-omni", "network_number": "210", "device_id": up["id"]}
    assert value(samples, "meshkeeper_device_up", **labels) == 1
    assert value(samples, "meshkeeper_device_up", device_id=down["id"]) == 0
    assert len(samples["meshkeeper_device_up"]) == 2  # only observed devices
    assert value(samples, "meshkeeper_device_rtt_ms", device_id=up["id"]) == 3.5
    assert value(samples, "meshkeeper_device_rtt_ms", device_id=down["id"]) is None
    assert value(samples, "meshkeeper_device_packet_loss", device_id=up["id"]) == 0.25
    assert value(samples, "meshkeeper_device_packet_loss", device_id=down["id"]) == 1.0
    assert value(samples, "meshkeeper_device_uptime_seconds", device_id=up["id"]) == 86400

    assert value(samples, "meshkeeper_collector_duration_seconds", collector="icmp") == 1.5
    assert value(samples, "meshkeeper_collector_errors_total", collector="icmp") == 3
    assert value(samples, "meshkeeper_collector_errors_total", collector="snmp") == 0
    assert families["meshkeeper_collector_errors"].type == "counter"
    stamp = value(samples, "meshkeeper_collector_last_success_timestamp_seconds", collector="icmp")
    assert stamp == last_success.timestamp()

    assert value(samples, "meshkeeper_webhook_backlog", webhook_id=hook["id"]) == 1
    assert value(samples, "meshkeeper_webhook_backlog", webhook_id=paused["id"]) == 2
    assert value(samples, "meshkeeper_webhook_paused", webhook_id=hook["id"]) == 0
    assert value(samples, "meshkeeper_webhook_paused", webhook_id=paused["id"]) == 1
    # node, three devices, node update, member: six events.
    assert value(samples, "meshkeeper_events_latest_id") == 6
    assert value(samples, "meshkeeper_metrics_database_up") == 1


def test_requests_are_counted_by_route_template(api):
    node = b.node(api, 211)
    for _ in range(2):
        assert api.get(f"/api/v1/nodes/{node['id']}/", role="read_only").status_code == 200
    assert api.get("/api/v1/nodes/211/", role="read_only").status_code == 200
    assert api.get(f"/api/v1/nodes/{node['id']}/", role=None).status_code == 401
    assert api.get("/no/such/path", role=None).status_code == 404
    assert api.get(f"/api/v1/nodes/{node['id']}/history/", role="read_only").status_code == 200

    families, samples = scrape(api)
    name = "meshkeeper_http_requests_total"
    route = "/api/v1/nodes/{key}/"
    assert value(samples, name, method="GET", route=route, status="200") == 3
    assert value(samples, name, method="GET", route=route, status="401") == 1
    assert value(samples, name, method="POST", route="/api/v1/nodes/", status="201") == 1
    assert value(samples, name, method="GET", route="<unmatched>", status="404") == 1
    assert value(samples, name, route="/api/v1/nodes/{key}/history/", status="200") == 1
    # Never a raw path: the label set stays bounded however many records exist.
    routes = {s.labels["route"] for s in samples[name]}
    assert not any(node["id"] in r or "211" in r for r in routes)

    assert families["meshkeeper_http_request_duration_seconds"].type == "histogram"
    count = value(
        samples, "meshkeeper_http_request_duration_seconds_count", method="GET", route=route
    )
    assert count == 4
    buckets = [
        s
        for s in samples["meshkeeper_http_request_duration_seconds_bucket"]
        if s.labels["route"] == route and s.labels["le"] == "+Inf"
    ]
    assert buckets[0].value == 4


def test_each_app_has_its_own_registry(db, settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    first, second = create_app(settings, db), create_app(settings, db)
    assert first.state.metrics_registry is not second.state.metrics_registry
    with TestClient(first) as one, TestClient(second) as two:
        one.get("/api/v1/")
        one.get("/api/v1/")
        two.get("/api/v1/")
        text_one, text_two = one.get("/metrics").text, two.get("/metrics").text
    assert (
        'meshkeeper_http_requests_total{method="GET",route="/api/v1/",status="200"} 2.0' in text_one
    )
    assert (
        'meshkeeper_http_requests_total{method="GET",route="/api/v1/",status="200"} 1.0' in text_two
    )


def test_an_unreachable_database_still_answers(api, monkeypatch):
    from sqlalchemy.exc import OperationalError

    app = api.client.app

    def broken():
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    assert api.get("/api/v1/", role=None).status_code == 200
    monkeypatch.setattr(app.state, "sessions", broken)
    _, samples = scrape(api)
    assert value(samples, "meshkeeper_metrics_database_up") == 0
    assert "meshkeeper_http_requests_total" in samples
