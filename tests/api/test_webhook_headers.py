"""Webhook subscriptions with MeshDB's habits (issue 12, point 6, in part): custom headers on
every delivery (MeshDB's hooks carry auth this way) and MeshDB's event names."""

from __future__ import annotations

import httpx

from daemon import webhooks as wh
from tests.api import builders as b
from tests.daemon.receiver import Receiver

SECRET = "webhook-secret-1"
BASE = "/api/v1/webhooks/"


async def test_headers_ride_every_delivery_and_ours_still_win(api, sessions):
    with Receiver() as receiver:
        made = api.post(
            BASE,
            json={
                "url": receiver.url,
                "event_types": ["access_point.created", "member."],
                "secret": SECRET,
                "headers": {"Authorization": "Token 0123456789abcdef"},
            },
        )
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["event_types"] == ["accesspoint.created", "member."]
        assert hook["header_names"] == ["Authorization"]
        assert "0123456789abcdef" not in made.text  # values are never shown
        w = b.world(api, nn=431)
        async with httpx.AsyncClient(trust_env=False) as client:
            while await wh.deliver_once(sessions, client):
                pass
        got = receiver.delivered()
        types = sorted(r.json["event"] for r in got)
        assert types == ["accesspoint.created", "member.created"]
        assert w["accesspoints"]["id"] in {r.json["data"]["subject"]["id"] for r in got}
        for request in got:
            assert request.headers["authorization"] == "Token 0123456789abcdef"
            assert request.signature_ok(SECRET)  # the subscription's own value never replaces it


def test_bad_headers_are_422(api):
    # A header the delivery sets itself (its signature) may not be chosen by a subscription.
    forged = {"X-Meshkeeper-Signature": "forged"}
    for headers in ({"Bad Name": "x"}, {"X-Ok": "line\r\nInjected: yes"}, {"": "x"}, forged):
        answer = api.post(
            BASE, json={"url": "http://127.0.0.1:9/", "secret": SECRET, "headers": headers}
        )
        assert answer.status_code == 422, headers
        assert answer.json()["errors"][0]["field"] == "headers"
