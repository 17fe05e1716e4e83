"""The event feed (cursor pull) and the Server-Sent Events stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from ipam.db import transaction
from ipam.records import events
from ipam.records.changes import write_event
from tests.api import builders as b


def status_event(sessions, subject: str, before: str, after: str, nn: int | None = 7) -> None:
    """Write one device.status_changed event, as the daemon does."""
    with transaction(sessions) as session:
        write_event(
            session, "device.status_changed", "devices", subject, {"from": before, "to": after}, nn
        )


def feed(api, **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/events/", role="read_only", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- pull ---


def test_record_changes_through_the_api_become_events_in_order(api):
    member = b.member(api, "Ada")
    building = b.building(api)
    node = b.node(api, 101, name="Hub")
    install = b.install(api, member, building)
    assert (
        api.patch(f"/api/v1/installs/{install['id']}/", json={"notes": "roof"}).status_code == 200
    )
    spare = b.node(api, 102)
    assert api.delete(f"/api/v1/nodes/{spare['id']}/").status_code == 204

    got = feed(api)
    types = [e["type"] for e in got["events"]]
    assert types == [
        "member.created",
        "building.created",
        "node.created",
        "install.created",
        "install.updated",
        "node.created",
        "node.deleted",
    ]
    ids = [e["id"] for e in got["events"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert got["next_cursor"] == ids[-1]

    by_type = {e["type"]: e for e in reversed(got["events"])}  # the first of each type
    created = by_type["member.created"]
    assert created["subject"] == {"resource": "members", "id": member["id"]}
    assert created["data"]["before"] is None and created["data"]["after"]["name"] == "Ada"
    assert by_type["node.created"]["subject"]["network_number"] == 101
    deleted = by_type["node.deleted"]
    assert deleted["subject"] == {"resource": "nodes", "id": spare["id"], "network_number": 102}
    assert deleted["data"]["after"] is None and deleted["data"]["before"]["network_number"] == 102
    updated = by_type["install.updated"]["data"]
    assert (updated["before"]["notes"], updated["after"]["notes"]) == (None, "roof")
    assert node["id"] == by_type["node.created"]["subject"]["id"]


def test_cursor_pages_through_without_gaps_or_repeats(api, sessions):
    for n in range(7):
        status_event(sessions, f"dev-{n}", "up", "down")
    seen: list[int] = []
    cursor = 0
    while True:
        page = feed(api, after=cursor, limit=3)
        if not page["events"]:
            assert page["next_cursor"] == cursor
            break
        assert len(page["events"]) <= 3
        seen += [e["id"] for e in page["events"]]
        assert page["next_cursor"] == page["events"][-1]["id"]
        cursor = page["next_cursor"]
    assert seen == list(range(1, 8))
    assert feed(api, after=5)["events"][0]["id"] == 6


def test_type_filter_takes_exact_types_and_prefixes(api, sessions):
    b.member(api)
    node = b.node(api, 103)
    api.patch(f"/api/v1/nodes/{node['id']}/", json={"name": "Renamed"})
    status_event(sessions, "d1", "pending", "up")

    def types(type_: str) -> list[str]:
        return [e["type"] for e in feed(api, type=type_)["events"]]

    assert types("node.") == ["node.created", "node.updated"]
    assert types("node") == ["node.created", "node.updated"]
    assert types("node.updated") == ["node.updated"]
    assert types("device.") == ["device.status_changed"]
    assert types("device.status_changed") == ["device.status_changed"]
    assert types("nod") == []  # prefixes are whole dotted segments
    assert types("device.status") == []


def test_status_change_event_shape(api, sessions):
    status_event(sessions, "dev-1", "up", "down", nn=42)
    status_event(sessions, "dev-2", "down", "up", nn=None)
    first, second = feed(api)["events"]
    assert first["type"] == "device.status_changed"
    assert first["subject"] == {"resource": "devices", "id": "dev-1", "network_number": 42}
    assert first["data"] == {"from": "up", "to": "down"}
    assert "network_number" not in second["subject"]
    assert first["time"].endswith("+00:00")


BAD_PARAMS = [
    {"limit": 0},
    {"limit": 1001},
    {"after": -1},
    {"after": "x"},
    {"after": 2**63},
    {"type": "bad type"},
    {"type": "a" * 61},
    {"type": "node.."},
]


def test_bad_parameters_are_422(api):
    for params in BAD_PARAMS:
        response = api.get("/api/v1/events/", role="read_only", params=params)
        assert response.status_code == 422, (params, response.text)


def test_feed_needs_a_token(api):
    assert api.get("/api/v1/events/", role=None).status_code == 401
    assert api.get("/api/v1/events/stream/", role=None).status_code == 401
    assert api.get("/api/v1/events/", role="read_only").status_code == 200
    assert feed(api, limit=1000)["events"] == []


def test_bad_last_event_id_is_422(api):
    response = api.get("/api/v1/events/stream/", role="read_only", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 422


def test_domain_functions(sessions):
    assert events.matches("device.status_changed", "device.")
    assert events.matches("device.status_changed", ["node.", "device"])
    assert events.matches("node.created", [])
    assert not events.matches("devices.created", "device")
    with sessions() as session:
        assert events.latest_id(session) == 0
        assert events.events_after(session, 0) == []
    status_event(sessions, "a", "up", "down")
    with transaction(sessions) as session:
        write_event(session, "node.created", "nodes", "n1", {"before": None, "after": {}}, 5)
    with sessions() as session:
        assert events.latest_id(session) == 2
        assert [e["id"] for e in events.events_after(session, 0, ["node.", "link."])] == [2]
        assert [e["id"] for e in events.events_after(session, 0, limit=1)] == [1]
        assert events.backlog(session, 0, "device.") == 1


# --- stream ---


def read_events(lines: Iterator[str], count: int, timeout: float = 5.0) -> list[dict]:
    """Parse text/event-stream lines until `count` events arrived (comments are skipped)."""
    found: list[dict] = []
    fields: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for line in lines:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} events arrived"
        if line == "":
            if "data" in fields:
                found.append(fields)
                if len(found) == count:
                    return found
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    raise AssertionError("stream ended")


def wait_until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_stream_resumes_exactly_where_the_client_stopped(live_api, sessions):
    from api import events as api_events

    base, tokens = live_api
    headers = {"Authorization": f"Bearer {tokens['read_only']}"}
    for n in range(5):
        status_event(sessions, f"dev-{n}", "up", "down")
    url = f"{base}/api/v1/events/stream/"
    with httpx.Client(trust_env=False, timeout=5) as client:
        with client.stream("GET", url, params={"after": 0}, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            first = read_events(response.iter_lines(), 3)
        # The client went away: the generator stops (and holds nothing).
        wait_until(lambda: api_events.open_streams == 0)
        assert [int(e["id"]) for e in first] == [1, 2, 3]
        assert [e["event"] for e in first] == ["device.status_changed"] * 3
        assert json.loads(first[0]["data"])["subject"]["id"] == "dev-0"

        for n in range(5, 8):
            status_event(sessions, f"dev-{n}", "down", "up")
        # Last-Event-ID wins over a stale ?after= (an EventSource resends both).
        resume = {**headers, "Last-Event-ID": first[-1]["id"]}
        with client.stream("GET", url, params={"after": 0}, headers=resume) as response:
            lines = response.iter_lines()
            rest = read_events(lines, 5)
            started = time.monotonic()
            status_event(sessions, "live", "up", "down")
            live = read_events(lines, 1)
            assert time.monotonic() - started < 2.0
    ids = [int(e["id"]) for e in first + rest + live]
    assert ids == list(range(1, 10))
    assert [json.loads(e["data"])["id"] for e in rest] == [4, 5, 6, 7, 8]
    wait_until(lambda: api_events.open_streams == 0)


def test_stream_without_cursor_starts_now_and_filters_by_type(live_api, sessions):
    base, tokens = live_api
    headers = {"Authorization": f"Bearer {tokens['read_only']}"}
    status_event(sessions, "old", "up", "down")
    url = f"{base}/api/v1/events/stream/"
    with (
        httpx.Client(trust_env=False, timeout=5) as client,
        client.stream("GET", url, params={"type": "node."}, headers=headers) as response,
    ):
        time.sleep(0.2)
        status_event(sessions, "new", "down", "up")
        with transaction(sessions) as session:
            write_event(session, "node.updated", "nodes", "n9", {"before": {}, "after": {}}, 9)
        (got,) = read_events(response.iter_lines(), 1)
    assert got["event"] == "node.updated" and int(got["id"]) == 3


def test_stream_sends_heartbeats_when_idle(live_api, monkeypatch):
    from api import events as api_events

    monkeypatch.setattr(api_events, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(api_events, "POLL_INTERVAL_S", 0.05)
    base, tokens = live_api
    headers = {"Authorization": f"Bearer {tokens['read_only']}"}
    beats = 0
    with (
        httpx.Client(trust_env=False, timeout=5) as client,
        client.stream("GET", f"{base}/api/v1/events/stream/", headers=headers) as response,
    ):
        for line in response.iter_lines():
            if line == ": heartbeat":
                beats += 1
                if beats == 2:
                    break
    assert beats == 2
