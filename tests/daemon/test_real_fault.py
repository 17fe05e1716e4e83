"""A real fault: the hub of a namespace mesh loses its address; one incident, one message.

Issue 15 point 7. Real ICMP from this process to devices answering in network namespaces
(198.18.0.0/15 only, and MESHKEEPER_PROBE_NETWORKS limited to the test's own /24).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collectors.errors import CollectorError
from collectors.icmp_sockets import decide_mode
from daemon.notify import deliver_notifications
from daemon.polling import poll_icmp
from tests.daemon.helpers import check_transitions, event_rows
from tests.daemon.incident_mesh import HUB, LEAVES, POP, apprise_url, build_mesh, channel, messages
from tests.daemon.netns_mesh import NETWORK, netns_mesh
from tests.daemon.receiver import Receiver

MINUTE = timedelta(minutes=1)


def _can_ping() -> bool:
    try:
        decide_mode()
    except CollectorError:
        return False
    return True


pytestmark = [
    pytest.mark.peer,  # root and iproute2; skips with the reason without them
    pytest.mark.skipif(not _can_ping(), reason="may open neither raw nor datagram ICMP sockets"),
]


@pytest.fixture()
def fast(settings):
    """One probe, a short wait; probes only to this test's own /24 of 198.18.0.0/15."""
    return settings.model_copy(
        update={"icmp_count": 1, "icmp_timeout_s": 0.4, "probe_networks": [NETWORK]}
    )


def observed(api, nn):
    return api.get(f"/api/v1/nodes/{nn}/health/").json()["observed_status"]


async def test_the_hub_loses_its_address_one_incident_one_message(api, db, sessions, fast):
    with netns_mesh() as net, Receiver() as ops:
        addresses = dict(zip((HUB, *LEAVES), (net.hub, *net.leaves), strict=True))
        mesh = build_mesh(api, {POP: net.pop, **addresses})
        channel(api, "ops", apprise_url(ops))
        t0 = datetime.now(UTC).replace(microsecond=0) - 30 * MINUTE
        at = [t0 + i * MINUTE for i in range(8)]

        await poll_icmp(sessions, fast, now=at[0])
        assert {nn: observed(api, nn) for nn in mesh.nodes} == dict.fromkeys(mesh.nodes, "up")

        net.take_hub_address()
        await poll_icmp(sessions, fast, now=at[1])
        await poll_icmp(sessions, fast, now=at[2])  # the second bad sweep: down
        await poll_icmp(sessions, fast, now=at[3])
        assert observed(api, POP) == "up"
        assert [observed(api, nn) for nn in (HUB, *LEAVES)] == ["down"] * 4

        incidents = api.get("/api/v1/incidents/").json()["results"]
        assert len(incidents) == 1
        incident = incidents[0]
        assert incident["cause"] == {
            "kind": "node",
            "id": mesh.nodes[HUB]["id"],
            "label": "NN 227 (Hub)",
        }
        assert incident["affected_nns"] == [HUB, *LEAVES]
        assert incident["installs"] == 6 and incident["open"] is True
        await deliver_notifications(sessions, fast)
        assert [t for t, _ in messages(ops)] == ["NN 227 (Hub) down"]

        net.restore_hub_address()
        await poll_icmp(sessions, fast, now=at[5])
        assert [observed(api, nn) for nn in (HUB, *LEAVES)] == ["up"] * 4
        # The last sweep; the namespaces go only after polling has stopped.
        await poll_icmp(sessions, fast, now=at[6])
        await deliver_notifications(sessions, fast)

    assert [t for t, _ in messages(ops)] == [
        "NN 227 (Hub) down",
        "Resolved: NN 227 (Hub) back after 3 min",
    ]
    done = api.get(f"/api/v1/incidents/{incident['id']}/").json()
    assert done["open"] is False and done["duration_s"] == 180.0
    assert {o["network_numbers"][0] for o in done["outages"] if o["kind"] == "node"} == {
        HUB,
        *LEAVES,
    }
    assert api.get("/api/v1/incidents/").json()["count"] == 1
    health = api.get(f"/api/v1/nodes/{HUB}/health/").json()["availability"]["1d"]
    assert health["down_s"] == 180.0
    assert health["availability_pct"] == pytest.approx(
        100 * (1 - 180 / health["monitored_s"]), abs=1e-3
    )
    check_transitions(event_rows(db))
