"""Measurement history on real PostgreSQL: samples written by the cycles, rollups, retention.

Every figure is small enough to check by hand: three polls of 10, 20 and 60 ms are one
5-minute bucket of min 10, avg 30, max 60.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from collectors.snmp_model import RadioObservation, SnmpObservation
from daemon.observe import DeviceResult, apply_ping_results
from daemon.polling import Target
from daemon.rollups import roll_up_history
from daemon.snmp_poll import apply_snmp
from ipam import models as m
from ipam.db import transaction
from ipam.enums import ObservedStatus as S
from ipam.observed.history import maintain, tiers
from ipam.observed.series import device_series
from tests.daemon.helpers import add_device, add_node

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture()
def device(sessions):
    """One device on node 101."""
    with transaction(sessions) as session:
        return add_device(session, add_node(session, 101), "nycmesh-101-a")


def ping(sessions, device, at, rtt, loss=0.0, history=True):
    """One ICMP cycle's verdict on the device, committed as the daemon does."""
    result = DeviceResult(
        device.id, S.UP, rtt_min_ms=rtt - 1, rtt_avg_ms=rtt, rtt_max_ms=rtt + 1, packet_loss=loss
    )
    with transaction(sessions) as session:
        apply_ping_results(session, [result], at, history=history)


def snmp(sessions, device, at, uptime, signal=-60, noise=-95):
    """One SNMP cycle's answer from the device, with one radio."""
    radio = RadioObservation(
        family="airmax", signal_dbm=signal, noise_floor_dbm=noise, ccq_pct=90, tx_capacity_bps=10**8
    )
    seen = SnmpObservation(address="127.0.0.1", port=161, uptime_s=uptime, radios=(radio,))
    target = Target(device.id, device.name, "127.0.0.1", False)
    with transaction(sessions) as session:
        apply_snmp(session, [target], [seen], at)


def series(sessions, device, metric, now, settings, **kw):
    """The series answer as the API gives it."""
    kw.setdefault("since", None)
    kw.setdefault("until", None)
    kw.setdefault("step_s", None)
    with sessions() as session:
        return device_series(session, device.id, metric, now=now, kept=tiers(settings), **kw)


def maintain_at(sessions, settings, now):
    """One run of the rollup and retention job."""
    with transaction(sessions) as session:
        return maintain(session, now, tiers(settings))


def samples(db) -> int:
    with db.connect() as conn:
        return conn.scalar(select(func.count()).select_from(m.device_sample))


def test_three_polls_are_three_raw_points_and_one_five_minute_bucket(sessions, device, settings):
    for i, (rtt, loss) in enumerate([(10, 0.0), (20, 0.0), (60, 1 / 3)]):
        ping(sessions, device, T0 + i * MINUTE, rtt, loss)
    now = T0 + 3 * MINUTE
    raw = series(sessions, device, "rtt_avg_ms", now, settings, since=T0 - MINUTE)
    assert raw["source"] == "raw"
    assert raw["points"] == [
        {"at": (T0 + i * MINUTE).isoformat(), "value": v} for i, v in enumerate([10, 20, 60])
    ]
    stepped = series(sessions, device, "rtt_avg_ms", now, settings, since=T0, step_s=300)
    # No rollup has run: the 5-minute tier answers from the raw samples.
    assert stepped["source"] == "5m"
    assert stepped["points"] == [
        {"at": T0.isoformat(), "min": 10.0, "avg": 30.0, "max": 60.0, "n": 3}
    ]
    loss = series(sessions, device, "packet_loss", now, settings, since=T0, step_s=300)
    assert loss["points"][0] | {"avg": round(loss["points"][0]["avg"], 6)} == {
        "at": T0.isoformat(),
        "min": 0.0,
        "avg": round(1 / 9, 6),
        "max": 0.33333334,  # float4 1/3, as PostgreSQL prints it
        "n": 3,
    }
    # The maxima of the three polls: 11, 21, 61.
    assert (
        series(sessions, device, "rtt_max_ms", now, settings, since=T0, step_s=300)["points"][0][
            "max"
        ]
        == 61.0
    )


def test_rollups_answer_after_raw_samples_are_gone(sessions, db, device, settings):
    # Two 5-minute buckets: 12:00 has 10, 20; 12:05 has 30, 40, 50.
    for minute, rtt in [(0, 10), (1, 20), (5, 30), (6, 40), (7, 50)]:
        ping(sessions, device, T0 + minute * MINUTE, rtt)
    maintain_at(sessions, settings, T0 + 10 * MINUTE)
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT bucket, rtt_avg_ms_min, rtt_avg_ms_avg, rtt_avg_ms_max, rtt_avg_ms_n "
                "FROM device_rollup_5m ORDER BY bucket"
            )
        ).all()
        hourly = conn.execute(
            text(
                "SELECT rtt_avg_ms_min, rtt_avg_ms_avg, rtt_avg_ms_max, rtt_avg_ms_n "
                "FROM device_rollup_1h"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (T0, 10.0, 15.0, 20.0, 2),
        (T0 + 5 * MINUTE, 30.0, 40.0, 50.0, 3),
    ]
    # The hour's average is over all five samples (150 / 5), not the mean of 15 and 40.
    assert [tuple(r) for r in hourly] == [(10.0, 30.0, 50.0, 5)]

    with transaction(sessions) as session:
        session.execute(m.device_sample.delete())
    now = T0 + 10 * MINUTE
    five = series(sessions, device, "rtt_avg_ms", now, settings, since=T0, step_s=300)
    assert five["source"] == "5m"
    assert [(p["min"], p["avg"], p["max"], p["n"]) for p in five["points"]] == [
        (10.0, 15.0, 20.0, 2),
        (30.0, 40.0, 50.0, 3),
    ]
    ten = series(sessions, device, "rtt_avg_ms", now, settings, since=T0, step_s=600)
    assert [(p["min"], p["avg"], p["max"], p["n"]) for p in ten["points"]] == [
        (10.0, 30.0, 50.0, 5)
    ]
    hour = series(sessions, device, "rtt_avg_ms", now, settings, since=T0, step_s=3600)
    assert hour["source"] == "1h"
    assert [(p["min"], p["avg"], p["max"], p["n"]) for p in hour["points"]] == [
        (10.0, 30.0, 50.0, 5)
    ]


def test_the_latest_step_joins_rollup_rows_and_newer_samples(sessions, device, settings):
    ping(sessions, device, T0, 10)
    ping(sessions, device, T0 + MINUTE, 20)
    maintain_at(sessions, settings, T0 + 2 * MINUTE)
    ping(sessions, device, T0 + 3 * MINUTE, 60)  # after the rollup: only in the raw table
    points = series(sessions, device, "rtt_avg_ms", T0 + 4 * MINUTE, settings, since=T0, step_s=300)
    assert [(p["min"], p["avg"], p["max"], p["n"]) for p in points["points"]] == [
        (10.0, 30.0, 60.0, 3)
    ]


def test_whole_rollup_buckets_as_they_are_and_the_last_one_merged(sessions, device, settings):
    for minute, rtt in [(0, 10), (1, 20), (6, 30)]:
        ping(sessions, device, T0 + minute * MINUTE, rtt)
    maintain_at(sessions, settings, T0 + 7 * MINUTE)
    ping(sessions, device, T0 + 8 * MINUTE, 50)
    answer = series(sessions, device, "rtt_avg_ms", T0 + 9 * MINUTE, settings, since=T0, step_s=300)
    assert [(p["at"], p["min"], p["avg"], p["max"], p["n"]) for p in answer["points"]] == [
        (T0.isoformat(), 10.0, 15.0, 20.0, 2),  # the rollup's row as it is
        ((T0 + 5 * MINUTE).isoformat(), 30.0, 40.0, 50.0, 2),  # 12:06 rolled up, 12:08 raw
    ]


def test_a_late_sample_is_folded_into_its_bucket_again(sessions, device, settings):
    ping(sessions, device, T0, 10)
    maintain_at(sessions, settings, T0 + 6 * MINUTE)
    maintain_at(sessions, settings, T0 + 7 * MINUTE)  # idempotent: the same buckets again
    ping(sessions, device, T0 + 2 * MINUTE, 30)  # a slow cycle commits after the run
    maintain_at(sessions, settings, T0 + 8 * MINUTE)
    with sessions() as session:
        row = session.execute(
            text("SELECT rtt_avg_ms_avg, rtt_avg_ms_n FROM device_rollup_5m")
        ).one()
    assert tuple(row) == (20.0, 2)


def test_retention_keeps_each_tier_its_own_time(sessions, db, device, settings):
    ping(sessions, device, T0, 10)
    maintain_at(sessions, settings, T0 + 5 * MINUTE)
    deleted = maintain_at(sessions, settings, T0 + timedelta(days=8))
    assert deleted is not None and deleted["raw"] == 1 and deleted["5m"] == 0
    assert samples(db) == 0
    deleted = maintain_at(sessions, settings, T0 + timedelta(days=91))
    assert deleted is not None and deleted["5m"] == 1 and deleted["1h"] == 0
    answer = series(
        sessions, device, "rtt_avg_ms", T0 + timedelta(days=91), settings, since=T0, step_s=3600
    )
    assert (answer["source"], [p["avg"] for p in answer["points"]]) == ("1h", [10.0])


def test_samples_are_in_the_cycles_transaction(sessions, db, device):
    result = DeviceResult(device.id, S.UP, rtt_avg_ms=5.0, packet_loss=0.0)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        apply_ping_results(session, [result], T0)
        raise RuntimeError("the cycle failed")
    assert samples(db) == 0
    ping(sessions, device, T0, 10, history=False)
    assert samples(db) == 0
    ping(sessions, device, T0 + MINUTE, 10)
    assert samples(db) == 1


def test_a_down_device_records_its_loss(sessions, device, settings):
    for i in range(2):
        with transaction(sessions) as session:
            apply_ping_results(
                session, [DeviceResult(device.id, S.DOWN, packet_loss=1.0)], T0 + i * MINUTE
            )
    answer = series(sessions, device, "packet_loss", T0 + 2 * MINUTE, settings, since=T0)
    assert [p["value"] for p in answer["points"]] == [1.0, 1.0]
    assert (
        series(sessions, device, "rtt_avg_ms", T0 + 2 * MINUTE, settings, since=T0)["points"] == []
    )


def test_snmp_samples_carry_uptime_and_the_radio_and_reboots_are_listed(sessions, device, settings):
    for i, (uptime, signal) in enumerate([(1000, -60), (1300, -64), (40, -62)]):
        snmp(sessions, device, T0 + i * 5 * MINUTE, uptime, signal=signal)
    now = T0 + 15 * MINUTE
    signal = series(sessions, device, "signal_dbm", now, settings, since=T0, step_s=900)
    assert [(p["min"], p["avg"], p["max"], p["n"]) for p in signal["points"]] == [
        (-64.0, -62.0, -60.0, 3)
    ]
    snr = series(sessions, device, "snr_db", now, settings, since=T0)  # signal - noise (-95)
    assert [p["value"] for p in snr["points"]] == [35.0, 31.0, 33.0]
    capacity = series(sessions, device, "tx_capacity_bps", now, settings, since=T0)
    assert [p["value"] for p in capacity["points"]] == [1e8] * 3
    uptime = series(sessions, device, "uptime_s", now, settings, since=T0)
    assert [p["value"] for p in uptime["points"]] == [1000.0, 1300.0, 40.0]
    assert uptime["reboots"] == [(T0 + 10 * MINUTE).isoformat()]


async def test_the_daemon_job_rolls_up(sessions, device, settings):
    ping(sessions, device, T0, 10)
    outcome = await roll_up_history(sessions, settings, now=T0 + 5 * MINUTE)
    assert outcome is not None and outcome["rolled_5m"] == 1 and outcome["rolled_1h"] == 1
