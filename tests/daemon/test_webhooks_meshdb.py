"""MeshDB-format webhooks and custom headers, end to end: API -> outbox -> daemon -> receiver.

The expected bodies are drf-hooks' as MeshDB sends them (src/meshapi_hooks/hooks.py and its
tests/test_webhooks.py): `{"hook": {"id", "event", "target"}, "data": <the record exactly as
the API's GET shows it>}`, with MeshDB's event names (src/meshdb/settings.py HOOK_EVENTS).
"""

from __future__ import annotations

import httpx
import pytest

from api.record_shapes import record_as_get
from daemon import webhooks as wh
from ipam.db import transaction
from ipam.records.changes import write_event
from ipam.records.meshdb_events import meshdb_event, our_pattern
from tests.daemon.receiver import Receiver

SECRET = "s3cret-for-tests"


@pytest.fixture()
async def client():
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


@pytest.fixture()
def receiver():
    with Receiver() as r:
        yield r


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("member.created", "member.created"),
        ("accesspoint.updated", "access_point.updated"),
        ("install_fee_billing_datum.deleted", "installfeebillingdatum.deleted"),
        ("device.uisp_deactivated", "device.uisp-deactivated"),
        ("los.created", "los.created"),
        ("node.status_changed", None),
        ("prefix.created", None),
    ],
)
def test_event_names_both_ways(ours, theirs):
    assert meshdb_event(ours) == theirs
    if theirs is not None:
        assert our_pattern(theirs) == ours
    assert our_pattern(ours) == ours


def _node(api, nn: int) -> dict:
    return api.create(
        "nodes", {"network_number": nn, "status": "Active", "latitude": 40.7, "longitude": -73.9}
    )


async def test_meshdb_format_carries_the_record_as_get_shows_it(api, sessions, client, receiver):
    hook = api.post(
        "/api/v1/webhooks/",
        json={
            "url": receiver.url,
            "secret": SECRET,
            "format": "meshdb",
            "event_types": ["access_point.created", "member.", "device.uisp-deactivated"],
            "headers": {"Authorization": "Token 0123abcd", "X-Team": "installs"},
        },
    )
    assert hook.status_code == 201, hook.text
    shown = hook.json()
    assert shown["format"] == "meshdb" and shown["header_names"] == ["Authorization", "X-Team"]
    assert "0123abcd" not in hook.text  # header values are never shown back
    assert shown["event_types"] == ["accesspoint.created", "member.", "device.uisp_deactivated"]

    member = api.create("members", {"name": "Alice Ng", "primary_email_address": "a@example.org"})
    node = _node(api, 101)  # node.created: not subscribed
    ap = api.create(
        "accesspoints",
        {"node": {"id": node["id"]}, "status": "Active", "latitude": 40.71, "longitude": -73.91},
    )
    device = api.create("devices", {"node": {"id": node["id"]}, "status": "Active", "name": "d1"})
    with transaction(sessions) as session:
        # As daemon/uisp_sync.py writes it when UISP has not seen a device for 30 days.
        write_event(session, "device.uisp_deactivated", "devices", device["id"], {"reason": "gone"})
    api.patch(f"/api/v1/members/{member['id']}/", json={"name": "Alice Ng-Lee"})

    assert await wh.deliver_once(sessions, client, route=wh.webhook_route(record_as_get)) == 4
    got = receiver.delivered()
    assert [r.json["hook"]["event"] for r in got] == [
        "member.created",
        "access_point.created",
        "device.uisp-deactivated",
        "member.updated",
    ]
    for r in got:
        assert set(r.json) == {"hook", "data"}
        assert r.json["hook"] == {
            "id": shown["id"],
            "event": r.json["hook"]["event"],
            "target": receiver.url,
        }
        assert r.signature_ok(SECRET)
        assert r.headers["authorization"] == "Token 0123abcd" and r.headers["x-team"] == "installs"
    # The record as GET shows it (at delivery: both member events show the latest version).
    assert got[0].json["data"] == api.get(f"/api/v1/members/{member['id']}/").json()
    assert got[1].json["data"] == api.get(f"/api/v1/accesspoints/{ap['id']}/").json()
    assert got[2].json["data"] == api.get(f"/api/v1/devices/{device['id']}/").json()
    assert got[3].json["data"]["name"] == "Alice Ng-Lee"


async def test_everything_meshdb_names_and_nothing_else(api, sessions, client, receiver):
    created = api.post(
        "/api/v1/webhooks/", json={"url": receiver.url, "secret": SECRET, "format": "meshdb"}
    ).json()
    node = _node(api, 102)
    with transaction(sessions) as session:
        write_event(
            session, "node.status_changed", "nodes", node["id"], {"from": "up", "to": "down"}
        )
    api.delete(f"/api/v1/nodes/{node['id']}/")
    assert await wh.deliver_once(sessions, client, route=wh.webhook_route(record_as_get)) == 2
    first, gone = receiver.delivered()
    assert first.json["hook"]["event"] == "node.created"
    assert first.json["data"]["network_number"] == 102
    # A deleted record has no GET answer: its last version, from the event, is sent.
    assert gone.json["hook"]["event"] == "node.deleted"
    assert gone.json["data"]["id"] == node["id"] and gone.json["data"]["network_number"] == 102
    # The status change MeshDB has no name for moved the cursor past it, undelivered.
    hook = api.get(f"/api/v1/webhooks/{created['id']}/").json()
    assert hook["backlog"] == 0


async def test_meshkeeper_format_keeps_its_body_and_sends_headers(api, sessions, client, receiver):
    api.post(
        "/api/v1/webhooks/",
        json={"url": receiver.url, "secret": SECRET, "headers": {"X-Api-Key": "k1"}},
    )
    _node(api, 103)
    assert await wh.deliver_once(sessions, client, route=wh.webhook_route(record_as_get)) == 1
    (r,) = receiver.delivered()
    assert r.json["event"] == "node.created" and r.json["data"]["type"] == "node.created"
    assert r.headers["x-api-key"] == "k1" and r.signature_ok(SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {"Bad Name": "x"},
        {"X-Ok": "two\r\nlines"},
        {"Content-Type": "text/plain"},
        {"X-Meshkeeper-Signature": "forged"},
    ],
)
def test_bad_headers_are_a_422(api, headers):
    answer = api.post(
        "/api/v1/webhooks/",
        json={"url": "http://127.0.0.1:9/h", "secret": SECRET, "headers": headers},
    )
    assert answer.status_code == 422


def test_unknown_format_is_a_422(api):
    answer = api.post(
        "/api/v1/webhooks/", json={"url": "http://127.0.0.1:9/h", "secret": SECRET, "format": "xml"}
    )
    assert answer.status_code == 422
