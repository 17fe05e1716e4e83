"""Measurement history in PostgreSQL: samples written per cycle, rolled up, kept for a while.

Three tables (ipam/models.py): `device_sample`, one row per device per poll at full resolution;
`device_rollup_5m` and `device_rollup_1h`, per device and bucket the min/avg/max and sample count
of every metric. How long each keeps is a setting (7 days, 90 days, 2 years by default).

Why BRIN-indexed tables and not time partitions. Samples arrive in time order, so a BRIN index on
the time column is a few pages (24 KB beside the btree's 192 MB over 3.5 million samples,
bench/history.py) and finds a time range (what the rollup job and retention read) as partition
pruning would. A per-device series is a (device_id, time) btree range either way. One table per
tier needs no job creating partitions ahead of the clock: a missing partition would fail the
poll cycle's transaction, the one thing history must never do to observed state. The price,
measured by bench/history.py on the same 3.5 million samples against hourly partitions: a bulk
load 1.6x slower (one large btree against small ones; a cycle's 2,000 rows do not feel it), 8%
more bytes, and retention as a DELETE by time (341 ms for an hour of 2,000 devices, where
dropping a partition took 2 ms), with autovacuum giving the space back to the next inserts so
each table stays at its steady size. The job runs every 5 minutes, so each run deletes about
five minutes of samples (some 12,000 rows at NYC Mesh's size): small. A mesh ten times larger
should partition `device_sample` by day.

No foreign key to `device`: a key check takes a KEY SHARE lock on the device's row for every
sample, dirtying 2,000 device rows per cycle; the series endpoint checks the device exists, and
retention removes a deleted device's history with everything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.observed.series_rules import (
    METRICS,
    PING_METRICS,
    SNMP_METRICS,
    Tier,
    floor_time,
    radio_figures,
)
from ipam.settings import Settings

RAW, FIVE_MIN, HOURLY = "raw", "5m", "1h"
TABLES = {RAW: "device_sample", FIVE_MIN: "device_rollup_5m", HOURLY: "device_rollup_1h"}
# date_bin's origin: every bucket starts at a whole multiple of its size since this instant.
ORIGIN = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
# Samples are timestamped when their cycle starts and committed when it ends: a rollup run
# recomputes the buckets of the last ten minutes so a slow cycle's rows are never left out.
LATE = timedelta(minutes=10)
# One rollup job at a time across daemons (pg_try_advisory_xact_lock key: "hist" in ASCII).
ROLLUP_LOCK = 0x68697374


class PingSample(Protocol):
    """What a ping verdict carries into history (daemon/observe.py's DeviceResult is one)."""

    @property
    def device_id(self) -> uuid.UUID: ...  # noqa: D102

    @property
    def rtt_min_ms(self) -> float | None: ...  # noqa: D102

    @property
    def rtt_avg_ms(self) -> float | None: ...  # noqa: D102

    @property
    def rtt_max_ms(self) -> float | None: ...  # noqa: D102

    @property
    def packet_loss(self) -> float | None: ...  # noqa: D102


def tiers(settings: Settings) -> list[Tier]:
    """The three tables with the resolution and the time each keeps, from settings."""
    return [
        Tier(RAW, 0, timedelta(days=settings.history_raw_days)),
        Tier(FIVE_MIN, 300, timedelta(days=settings.history_5m_days)),
        Tier(HOURLY, 3600, timedelta(days=settings.history_hourly_days)),
    ]


def _copy(session: Session, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
    """Rows into device_sample with one COPY, inside the session's transaction."""
    if not rows:
        return 0
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None, "a session in a transaction has a live connection"
    names = ", ".join(("device_id", "at", *columns))
    with dbapi.cursor() as cursor, cursor.copy(f"COPY device_sample ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def record_ping(session: Session, results: Iterable[PingSample], at: datetime) -> int:
    """One sample per device this ICMP cycle measured; the number written."""
    rows = []
    for r in results:
        values = (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms, r.packet_loss)
        if any(v is not None for v in values):
            rows.append((r.device_id, at, *values))
    return _copy(session, PING_METRICS, rows)


def record_snmp(session: Session, rows: Iterable[m.DeviceObservation], at: datetime) -> int:
    """One sample per device that answered this SNMP cycle (snmp_at == at); the number written.

    Read from the observation row as the cycle left it, so history holds exactly what the
    health answer shows: uptime and the radio figures of its stored radio JSON.
    """
    samples = []
    for row in rows:
        if row.snmp_at != at:
            continue
        values = (row.uptime_s, *radio_figures(row.radio).values())
        if any(v is not None for v in values):
            samples.append((row.device_id, at, *values))
    return _copy(session, SNMP_METRICS, samples)


def _upsert(table: str, select_sql: str) -> str:
    """INSERT ... SELECT into a rollup table, replacing buckets computed before."""
    columns = [f"{name}_{part}" for name in METRICS for part in ("min", "avg", "max", "n")]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    return (
        f"INSERT INTO {table} (device_id, bucket, {', '.join(columns)}) {select_sql} "
        f"ON CONFLICT (device_id, bucket) DO UPDATE SET {updates}"
    )


def _from_raw(seconds: int) -> str:
    parts = ", ".join(f"min({c}), avg({c}), max({c}), nullif(count({c}), 0)" for c in METRICS)
    return (
        f"SELECT device_id, date_bin('{seconds} seconds', at, :origin) AS b, {parts} "
        "FROM device_sample WHERE at >= :start AND at < :end GROUP BY device_id, b"
    )


def _from_rollup(source: str, seconds: int) -> str:
    # The average of averages weighted by their counts is the average of all the samples.
    parts = ", ".join(
        f"min({c}_min), sum({c}_avg * {c}_n) / nullif(sum({c}_n), 0), max({c}_max), sum({c}_n)"
        for c in METRICS
    )
    return (
        f"SELECT device_id, date_bin('{seconds} seconds', bucket, :origin) AS b, {parts} "
        f"FROM {source} WHERE bucket >= :start AND bucket < :end GROUP BY device_id, b"
    )


def done_until(session: Session) -> dict[str, datetime]:
    """Each rollup tier's watermark: samples before it are in its buckets."""
    rows = session.execute(select(m.HistoryRollup.tier, m.HistoryRollup.done_until))
    return {tier: at for tier, at in rows}


def _mark(session: Session, tier: str, at: datetime) -> None:
    row = session.get(m.HistoryRollup, tier)
    if row is None:
        session.add(m.HistoryRollup(tier=tier, done_until=at))
    else:
        row.done_until = at
    session.flush()


def roll_up(session: Session, now: datetime, kept: Sequence[Tier]) -> dict[str, int]:
    """Fold new samples into the 5-minute buckets and those into the hourly ones.

    Each run recomputes every bucket from LATE before the last run's end up to now, the
    current partial bucket included (the next run completes it); rows per tier touched.
    """
    marks = done_until(session)
    keep = {t.name: t.keep for t in kept}
    touched: dict[str, int] = {}
    for tier, seconds, source, sql in (
        (FIVE_MIN, 300, RAW, _from_raw(300)),
        (HOURLY, 3600, FIVE_MIN, _from_rollup(TABLES[FIVE_MIN], 3600)),
    ):
        last = marks.get(tier, now - keep[source])
        start = floor_time(last - LATE, seconds, ORIGIN)
        result = session.execute(
            text(_upsert(TABLES[tier], sql)), {"origin": ORIGIN, "start": start, "end": now}
        )
        touched[tier] = int(getattr(result, "rowcount", 0) or 0)
        _mark(session, tier, now)
    return touched


def prune(session: Session, now: datetime, kept: Sequence[Tier]) -> dict[str, int]:
    """Delete what each table keeps no longer; rows deleted per tier."""
    deleted: dict[str, int] = {}
    for tier in kept:
        column = "at" if tier.name == RAW else "bucket"
        result = session.execute(
            text(f"DELETE FROM {TABLES[tier.name]} WHERE {column} < :cut"), {"cut": now - tier.keep}
        )
        deleted[tier.name] = int(getattr(result, "rowcount", 0) or 0)
    return deleted


def maintain(session: Session, now: datetime, kept: Sequence[Tier]) -> dict[str, int] | None:
    """Roll up then prune, unless another daemon is doing it right now (then None)."""
    if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK}):
        return None
    rolled = roll_up(session, now, kept)
    pruned = prune(session, now, kept)
    return {**{f"rolled_{k}": v for k, v in rolled.items()}, **pruned}
