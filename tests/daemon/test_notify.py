"""Notifications through Apprise to a json:// receiver on 127.0.0.1: one message per incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from daemon.notify import deliver_notifications, load_channels_file
from ipam import models as m
from ipam.errors import Invalid
from ipam.settings import Settings
from tests.daemon.helpers import event_counts
from tests.daemon.incident_mesh import (
    HUB,
    LEAVES,
    apprise_url,
    build_mesh,
    channel,
    messages,
    poll,
)
from tests.daemon.receiver import Receiver

MINUTE = timedelta(minutes=1)


def fail_hub(sessions, mesh, t0):
    for i in (1, 2):
        poll(sessions, mesh, t0 + i * MINUTE, down=(HUB, *LEAVES))


@pytest.fixture()
def mesh(api):
    return build_mesh(api)


async def test_one_message_per_incident_and_one_for_its_resolution(api, db, sessions, mesh):
    settings = Settings(webhook_max_failures=3)
    t0 = datetime.now(UTC) - 10 * MINUTE
    with Receiver() as ops, Receiver() as big_only, Receiver() as elsewhere:
        channel(api, "ops", apprise_url(ops))
        channel(api, "big", apprise_url(big_only), min_size=10)
        channel(api, "brooklyn", apprise_url(elsewhere), network_numbers=[5000])
        poll(sessions, mesh, t0)
        fail_hub(sessions, mesh, t0)
        assert event_counts(db)["node.status_changed"] >= 4  # one per node, for who wants them
        await deliver_notifications(sessions, settings)
        sent = messages(ops)
        assert len(sent) == 1, sent  # one message for the incident, not one per node
        title, body = sent[0]
        assert title == "NN 227 (Hub) down"
        assert body.startswith("NN 227 (Hub) down ")
        assert body.endswith(": 4 nodes, 6 installs cut off; cause: NN 227 (Hub)")
        poll(sessions, mesh, t0 + 5 * MINUTE)
        await deliver_notifications(sessions, settings)
        await deliver_notifications(sessions, settings)  # nothing new: nothing sent twice
        assert [t for t, _ in messages(ops)] == [
            "NN 227 (Hub) down",
            "Resolved: NN 227 (Hub) back after 3 min",
        ]
        assert (
            messages(ops)[1][1]
            == "NN 227 (Hub) was down 3 min: 4 nodes at worst; cause: NN 227 (Hub)"
        )
        assert messages(big_only) == [] and messages(elsewhere) == []
    listed = api.get("/api/v1/notifications/channels/").json()["results"]
    assert [c["name"] for c in listed] == ["big", "brooklyn", "ops"]
    big = listed[0]["id"]
    body = {"name": "ops", "url": "json://127.0.0.1:9/", "filter": {"min_size": 2}}
    assert api.put(f"/api/v1/notifications/channels/{big}/", json=body).status_code == 409
    body["name"] = "bigger"
    changed = api.put(f"/api/v1/notifications/channels/{big}/", json=body).json()
    assert (changed["name"], changed["filter"]["min_size"]) == ("bigger", 2)
    bad = {**body, "url": "not-a-url"}
    assert api.put(f"/api/v1/notifications/channels/{big}/", json=bad).status_code == 422
    assert api.get("/api/v1/notifications/channels/", role="installer").status_code == 403


async def test_a_silenced_hub_notifies_nobody_but_is_recorded(api, db, sessions, mesh):
    settings = Settings()
    t0 = datetime.now(UTC) - 10 * MINUTE
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with Receiver() as ops:
        channel(api, "ops", apprise_url(ops))
        made = api.post("/api/v1/silences/", json={"node": HUB, "until": until, "reason": "roof"})
        assert made.status_code == 201
        poll(sessions, mesh, t0)
        fail_hub(sessions, mesh, t0)
        await deliver_notifications(sessions, settings)
        assert messages(ops) == []
        assert event_counts(db)["incident.opened"] == 1
        # The silence ends: the next change is told again.
        assert api.delete(f"/api/v1/silences/{made.json()['id']}/").status_code == 204
        poll(sessions, mesh, t0 + 5 * MINUTE)
        await deliver_notifications(sessions, settings)
        assert [t for t, _ in messages(ops)] == ["Resolved: NN 227 (Hub) back after 3 min"]


async def test_a_receiver_down_gets_the_same_message_again_later(api, sessions, mesh):
    settings = Settings()
    t0 = datetime.now(UTC) - 10 * MINUTE
    with Receiver(status=500) as ops:
        made = channel(api, "ops", apprise_url(ops))
        poll(sessions, mesh, t0)
        fail_hub(sessions, mesh, t0)
        await deliver_notifications(sessions, settings)
        assert len(ops.received) == 1 and ops.delivered() == []
        row = api.get(f"/api/v1/notifications/channels/{made['id']}/").json()
        assert row["failures"] == 1 and row["next_attempt_at"] is not None
        ops.answer(200)
        later = datetime.now(UTC) + timedelta(seconds=11)
        await deliver_notifications(sessions, settings, now=later)
        assert [t for t, _ in messages(ops)] == ["NN 227 (Hub) down"]
        assert ops.received[0].body == ops.received[1].body  # the very same message
    with sessions() as session:
        log = session.scalars(select(m.NotificationDelivery.delivered)).all()
    assert sorted(log) == [False, True]


async def test_a_hold_waits_for_things_to_settle(api, sessions, mesh):
    settings = Settings(notify_hold_s=120)
    t0 = datetime.now(UTC) - 10 * MINUTE
    with Receiver() as ops:
        channel(api, "ops", apprise_url(ops))
        poll(sessions, mesh, t0)
        fail_hub(sessions, mesh, t0)
        poll(sessions, mesh, t0 + 4 * MINUTE)  # back before the hold ran out
        await deliver_notifications(sessions, settings)
        assert messages(ops) == []
        await deliver_notifications(sessions, settings, now=datetime.now(UTC) + 3 * MINUTE)
        # The opening was superseded by the resolution: one message says it all.
        assert [t for t, _ in messages(ops)] == ["Resolved: NN 227 (Hub) back after 2 min"]


async def test_the_daily_summary_goes_to_the_channels_that_ask(api, sessions, mesh):
    with Receiver() as daily, Receiver() as ops:
        channel(api, "ops", apprise_url(ops))
        made = api.post(
            "/api/v1/notifications/channels/",
            json={"name": "daily", "url": apprise_url(daily), "daily_summary": True},
        )
        assert made.status_code == 201
        t0 = datetime.now(UTC) - 10 * MINUTE
        poll(sessions, mesh, t0)
        fail_hub(sessions, mesh, t0)
        await deliver_notifications(sessions, Settings())
        await deliver_notifications(sessions, Settings())  # once a day, not once a round
        titles = [t for t, _ in messages(daily)]
        assert titles.count(f"meshkeeper daily summary {datetime.now(UTC).date()}") == 1
        summary = next(b for t, b in messages(daily) if t.startswith("meshkeeper daily"))
        assert "Down now: 4 nodes (227, 1934, 1935, 1936)" in summary
        assert not any(t.startswith("meshkeeper daily") for t, _ in messages(ops))


def test_the_channels_file_is_validated_and_applied(tmp_path, api, sessions):
    good = tmp_path / "channels.yaml"
    good.write_text(
        "channels:\n"
        "  - name: volunteers\n"
        "    url: json://127.0.0.1:9/notify\n"
        "    filter: {network_numbers: [227], min_size: 5}\n"
        "    daily_summary: true\n"
    )
    load_channels_file(sessions, Settings(notifications_file=good))
    listed = api.get("/api/v1/notifications/channels/").json()["results"]
    assert [(c["name"], c["source"], c["filter"]["min_size"]) for c in listed] == [
        ("volunteers", "file", 5)
    ]
    assert api.delete(f"/api/v1/notifications/channels/{listed[0]['id']}/").status_code == 409
    bad = tmp_path / "bad.yaml"
    cases = {
        "channels:\n  - name: x\n    url: nope://what\n": "channels.0.url",
        "channels:\n  - name: x\n    url: json://127.0.0.1/\n    filter: {min_size: 0}\n": (
            "channels.0.filter.min_size"
        ),
        "channels:\n  - name: x\n    url: json://127.0.0.1/\n    colour: red\n": (
            "channels.0.colour"
        ),
        "channels: [: \n": "not valid YAML",
    }
    for text, named in cases.items():
        bad.write_text(text)
        with pytest.raises(Invalid) as caught:
            load_channels_file(sessions, Settings(notifications_file=bad))
        assert str(bad) in caught.value.message and named in caught.value.message
    # An emptied file removes the file's channels.
    good.write_text("channels: []\n")
    load_channels_file(sessions, Settings(notifications_file=good))
    assert api.get("/api/v1/notifications/channels/").json()["count"] == 0
