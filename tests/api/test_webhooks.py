"""Webhook subscriptions over HTTP: admin only, secrets never shown, pause and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from daemon import webhooks as wh
from ipam import models as m
from ipam.db import transaction
from tests.api import builders as b
from tests.daemon.receiver import Receiver

SECRET = "webhook-secret-1"
BASE = "/api/v1/webhooks/"


def subscribe(api, **fields: Any) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": [], "secret": SECRET, **fields}
    response = api.post(BASE, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_only_admins_manage_webhooks(api):
    body = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    assert api.post(BASE, json=body, role=None).status_code == 401
    for role in ("read_only", "installer"):
        assert api.post(BASE, json=body, role=role).status_code == 403
        assert api.get(BASE, role=role).status_code == 403
    hook = subscribe(api)
    for path in (f"{BASE}{hook['id']}/", f"{BASE}{hook['id']}/deliveries/"):
        assert api.get(path, role="installer").status_code == 403
    assert api.post(f"{BASE}{hook['id']}/resume/", role="installer").status_code == 403
    assert api.delete(f"{BASE}{hook['id']}/", role="installer").status_code == 403


def test_create_starts_at_the_newest_event_and_hides_the_secret(api):
    b.member(api, "Before")  # event 1, before the subscription: never delivered
    hook = subscribe(api, event_types=["member.", "node.created", "member."])
    assert hook["cursor"] == 1 and hook["backlog"] == 0
    assert hook["secret_set"] is True and "secret" not in hook
    assert hook["event_types"] == ["member.", "node.created"]
    assert (hook["paused"], hook["failures"], hook["next_attempt_at"]) == (False, 0, None)

    b.member(api, "After")
    b.building(api)  # does not match
    b.node(api, 104)
    got = api.get(f"{BASE}{hook['id']}/")
    assert got.status_code == 200
    assert got.json()["backlog"] == 2
    listed = api.get(BASE).json()
    assert listed["count"] == 1 and listed["results"][0]["backlog"] == 2
    for response in (got, api.get(BASE)):
        assert SECRET not in response.text and '"secret"' not in response.text


BAD_FIELDS = [
    {"url": "ftp://127.0.0.1/hook"},
    {"url": "not a url"},
    {"url": "http:///nohost"},
    {"url": "http://127.0.0.1:99999/"},
    {"url": "http://127.0.0.1/" + "a" * 2000},
    {"url": "javascript:alert(1)"},
    {"secret": "short"},
    {"secret": "x" * 201},
    {"secret": "with\x00nul"},
    {"event_types": ["bad type"]},
    {"event_types": ["node.."]},
    {"event_types": ["a" * 61]},
    {"event_types": [f"t{n}." for n in range(51)]},
    {"event_types": "node."},
]


def test_bad_subscriptions_are_422(api):
    # One app for every case: the fixture is the slow part.
    for fields in BAD_FIELDS:
        body = {"url": "https://example.org/hook", "secret": SECRET, **fields}
        response = api.post(BASE, json=body)
        assert response.status_code == 422, (fields, response.text)
    assert api.post(BASE, json={"url": "https://example.org/hook"}).status_code == 422
    assert api.get(BASE).json()["count"] == 0


def test_get_delete_and_unknown_ids(api):
    hook = subscribe(api, url="https://example.org/hook")
    assert api.get(f"{BASE}{hook['id']}/").json()["url"] == "https://example.org/hook"
    assert api.delete(f"{BASE}{hook['id']}/").status_code == 204
    assert api.get(f"{BASE}{hook['id']}/").status_code == 404
    assert api.delete(f"{BASE}{hook['id']}/").status_code == 404
    assert api.post(f"{BASE}{hook['id']}/resume/").status_code == 404
    assert api.get(f"{BASE}{hook['id']}/deliveries/").status_code == 404
    assert api.get(f"{BASE}not-a-uuid/").status_code == 422
    assert api.get(BASE).json()["count"] == 0


async def test_pause_after_failures_then_resume_through_the_endpoint(api, sessions):
    with Receiver(status=500) as receiver:
        hook = subscribe(api, url=receiver.url, event_types=["member."])
        b.member(api, "One")
        b.member(api, "Two")
        now = datetime(2025, 6, 1, tzinfo=UTC)
        async with httpx.AsyncClient(trust_env=False) as client:
            for _ in range(4):
                assert await wh.deliver_once(sessions, client, now=now, max_failures=4) == 0
                now += timedelta(hours=1)
            shown = api.get(f"{BASE}{hook['id']}/").json()
            assert (shown["paused"], shown["failures"], shown["backlog"]) == (True, 4, 2)

            log = api.get(f"{BASE}{hook['id']}/deliveries/").json()
            assert log["count"] == 4
            newest = log["results"][0]
            assert (newest["attempt"], newest["status_code"], newest["delivered"]) == (
                4,
                500,
                False,
            )
            assert newest["error"] == "HTTP 500"

            receiver.answer(200)
            assert await wh.deliver_once(sessions, client, now=now) == 0  # paused: left alone
            resumed = api.post(f"{BASE}{hook['id']}/resume/")
            assert resumed.status_code == 200
            assert (resumed.json()["paused"], resumed.json()["failures"]) == (False, 0)
            assert await wh.deliver_once(sessions, client, now=now) == 2

        names = [r.json["data"]["data"]["after"]["name"] for r in receiver.delivered()]
        assert names == ["One", "Two"]
        assert all(r.signature_ok(SECRET) for r in receiver.received)
    shown = api.get(f"{BASE}{hook['id']}/").json()
    assert (shown["paused"], shown["backlog"], shown["cursor"]) == (False, 0, shown["cursor"])
    log = api.get(f"{BASE}{hook['id']}/deliveries/", params={"page_size": 2}).json()
    assert log["count"] == 6 and len(log["results"]) == 2 and log["next"]
    assert [r["delivered"] for r in log["results"]] == [True, True]


def test_deleting_a_webhook_drops_its_delivery_log(api, sessions):
    hook = subscribe(api)
    with transaction(sessions) as session:
        session.add(m.WebhookDelivery(webhook_id=hook["id"], event_id=1, attempt=1))
    assert api.get(f"{BASE}{hook['id']}/deliveries/").json()["count"] == 1
    assert api.delete(f"{BASE}{hook['id']}/").status_code == 204
    with sessions() as session:
        assert session.query(m.WebhookDelivery).count() == 0
