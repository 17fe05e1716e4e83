"""Silences over HTTP: who set them comes from the token; bad input is a 4xx, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api import builders as b
from tests.daemon.helpers import event_counts


def test_silence_a_node_list_and_end_it(api, db):
    b.node(api, 227, name="Hub")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    made = api.post(
        "/api/v1/silences/",
        json={"node": 227, "until": until, "reason": "roof work"},
        role="installer",
    )
    assert made.status_code == 201, made.text
    silence = made.json()
    assert (silence["scope"], silence["created_by"], silence["reason"]) == (
        "node",
        "installer",
        "roof work",
    )
    listed = api.get("/api/v1/silences/", role="read_only").json()
    assert [s["id"] for s in listed["results"]] == [silence["id"]]
    assert api.delete(f"/api/v1/silences/{silence['id']}/", role="read_only").status_code == 403
    assert api.delete(f"/api/v1/silences/{silence['id']}/").status_code == 204
    assert api.get("/api/v1/silences/").json()["count"] == 0
    assert api.delete(f"/api/v1/silences/{silence['id']}/").status_code == 404
    counts = event_counts(db)
    assert (counts["silence.created"], counts["silence.deleted"]) == (1, 1)


def test_bad_silences_are_refused(api):
    b.node(api, 227)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    cases = [
        ({"node": 227, "until": past, "reason": "x"}, 422),  # already over
        ({"node": 227, "until": "2030-01-01T00:00:00", "reason": "x"}, 422),  # no time zone
        ({"node": 227, "device": "0" * 32, "until": soon, "reason": "x"}, 422),  # two subjects
        ({"until": soon, "reason": "x"}, 422),  # none
        ({"node": 999, "until": soon, "reason": "x"}, 404),  # no such node
        ({"incident": 12345, "until": soon, "reason": "x"}, 404),
        ({"node": 227, "until": soon, "reason": ""}, 422),
    ]
    for body, status in cases:
        got = api.post("/api/v1/silences/", json=body)
        assert (body, got.status_code) == (body, status), got.text
    assert api.get("/api/v1/incidents/99/").status_code == 404
    assert api.get("/api/v1/incidents/0/").status_code == 422
    assert api.get("/api/v1/availability/?period=2d").status_code == 422
    assert api.get("/api/v1/outages/?since=yesterday").status_code == 422
    assert api.get("/api/v1/outages/?since=2026-01-01T00:00:00Z&open=false").json()["count"] == 0
