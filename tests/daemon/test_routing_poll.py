"""The routing job end to end: settings, sources, `meshkeeper poll --once --collector routing`."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
from sqlalchemy import select

from collectors.errors import CollectorError
from daemon.jobs import default_jobs
from daemon.routing import poll_routing
from ipam import models as m
from ipam.db import transaction
from ipam.settings import Settings
from tests.daemon.helpers import MESHKEEPER, add_node, meshkeeper_env


def test_no_sources_means_the_job_is_off(tmp_path):
    assert default_jobs(Settings(data_dir=tmp_path))["routing"][1] == 0
    on = Settings(data_dir=tmp_path, routing_sources="file:///a, bird:///run/bird.ctl")
    assert on.routing_sources == ["file:///a", "bird:///run/bird.ctl"]
    assert default_jobs(on)["routing"][1] == 60


async def test_bad_or_silent_sources_fail_the_cycle_and_change_nothing(sessions, tmp_path):
    bad = Settings(data_dir=tmp_path, routing_sources=["gopher://x"])
    with pytest.raises(CollectorError, match="gopher"):
        await poll_routing(sessions, bad)
    gone = Settings(data_dir=tmp_path, routing_sources=[f"bird://{tmp_path}/none.ctl"])
    with pytest.raises(CollectorError, match="none.ctl"):
        await poll_routing(sessions, gone)
    with transaction(sessions) as session:
        assert session.scalars(select(m.RoutingRouter)).all() == []


@pytest.mark.realdata
async def test_the_real_database_from_two_sources_one_failing(sessions, shared_data, tmp_path):
    dump = shared_data / "nycmesh-ospf" / "bird-show-ospf-state-odd.txt"
    with transaction(sessions) as session:
        # A few real NNs of that database: 4394's router is cut off (`unreachable`).
        for nn in (3, 18, 4394):
            add_node(session, nn)
    settings = Settings(
        data_dir=tmp_path, routing_sources=[f"file://{dump}", f"bird://{tmp_path}/none.ctl"]
    )
    outcome = await poll_routing(sessions, settings)
    assert outcome.routers == 592 and outcome.unknown == 17
    assert len(outcome.errors) == 1 and "none.ctl" in outcome.errors[0]
    with transaction(sessions) as session:
        states = dict(
            session.execute(
                select(m.Node.network_number, m.NodeObservation.status).join(
                    m.NodeObservation, m.NodeObservation.node_id == m.Node.id
                )
            ).all()
        )
        by = Counter(session.scalars(select(m.RoutingRouter.mapped_by)))
    assert states == {3: "up", 18: "up", 4394: "down"}
    # 10.69.0.3 and friends by router id; 199.167.59.98 and 6 others by a /32 stubnet.
    assert by["stubnet"] == 7 and by[None] == 17
    again = await poll_routing(sessions, settings)
    assert again.writes == 0


@pytest.mark.realdata
def test_meshkeeper_poll_once_routing(database_url, db, shared_data, tmp_path):
    dump = shared_data / "nycmesh-ospf" / "ospf-linkdb-2023-09-29.json"
    env = meshkeeper_env(database_url, tmp_path, routing_sources=f"file://{dump}")
    done = subprocess.run(
        [str(MESHKEEPER), "poll", "--once", "--collector", "routing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("routing: 605 routers (")
    env = meshkeeper_env(database_url, tmp_path, routing_sources=f"file://{tmp_path}/missing")
    failed = subprocess.run(
        [str(MESHKEEPER), "poll", "--once", "--collector", "routing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and "missing" in failed.stderr
