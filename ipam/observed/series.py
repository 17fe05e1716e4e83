"""A device's measurement series: raw points, or min/avg/max per step from the right table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.errors import Invalid, NotFound
from ipam.observed.history import ORIGIN, RAW, TABLES, done_until
from ipam.observed.series_rules import (
    MAX_POINTS,
    METRICS,
    Tier,
    choose_tier,
    floor_time,
    uptime_runs,
)

DEFAULT_RANGE = timedelta(days=1)
# Times outside these are no poll's: refused before date arithmetic can overflow on them.
EARLIEST = datetime(2000, 1, 2, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
LONGEST_STEP_S = 366 * 86400


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _raw_sql(metric: str) -> str:
    return (
        f"SELECT at AS b, {metric} AS value FROM device_sample WHERE device_id = :d "
        f"AND at >= :since AND at < :until AND {metric} IS NOT NULL"
    )


def _raw(
    session: Session, device_id: uuid.UUID, metric: str, since: datetime, until: datetime
) -> list[tuple[datetime, float]]:
    rows = session.execute(
        text(_raw_sql(metric) + " ORDER BY at"), {"d": device_id, "since": since, "until": until}
    ).all()
    return [(at.astimezone(UTC), float(value)) for at, value in rows]


def _stepped(
    session: Session,
    device_id: uuid.UUID,
    metric: str,
    tier: Tier,
    cut: datetime,
    window: tuple[datetime, datetime],
    step_s: int,
) -> list[dict[str, Any]]:
    """Buckets of step_s: rollup rows before `cut`, raw samples from it, merged by count.

    When the step is the rollup's own resolution, its complete buckets are the answer as they
    are (no regrouping: most of a 30-day series); only the bucket holding `cut` is merged.
    """
    since, until = window
    table = TABLES[tier.name]
    # Answered as REAL (uptime as double): PostgreSQL prints the shortest text that reads
    # back as the same float4, so 12.3 stays 12.3 and not 12.300000190734863.
    kind = "float8" if metric == "uptime_s" else "real"
    as_is = tier.name != RAW and step_s == tier.resolution_s
    merge_from = floor_time(cut, step_s, ORIGIN) if as_is else since
    raw = (
        f"SELECT at AS t, {metric}::float8 AS lo, {metric}::float8 AS total, "
        f"{metric}::float8 AS hi, 1 AS n FROM device_sample WHERE device_id = :d "
        f"AND at >= :cut AND at < :until AND {metric} IS NOT NULL"
    )
    rollup = (
        f"SELECT bucket, {metric}_min::float8, {metric}_avg::float8 * {metric}_n, "
        f"{metric}_max::float8, {metric}_n FROM {table} WHERE device_id = :d "
        f"AND bucket >= :merge_from AND bucket < :cut AND {metric}_n IS NOT NULL UNION ALL "
    )
    whole = (
        f"SELECT bucket AS b, {metric}_min::{kind} AS lo, {metric}_avg::{kind} AS avg, "
        f"{metric}_max::{kind} AS hi, {metric}_n::bigint AS n FROM {table} WHERE device_id = :d "
        f"AND bucket >= :since AND bucket < :merge_from AND {metric}_n IS NOT NULL UNION ALL "
    )
    sql = (
        f"{whole if as_is else ''}"
        f"SELECT * FROM (WITH parts (t, lo, total, hi, n) AS "
        f"({rollup if tier.name != RAW else ''}{raw}) "
        f"SELECT date_bin(:step, t, :origin) AS b, min(lo)::{kind} AS lo, "
        f"(sum(total) / sum(n))::{kind} AS avg, max(hi)::{kind} AS hi, sum(n) AS n "
        "FROM parts GROUP BY b) merged"
    )
    params = {
        "d": device_id,
        "since": since,
        "until": until,
        "cut": cut,
        "merge_from": merge_from,
        "step": timedelta(seconds=step_s),
        "origin": ORIGIN,
    }
    return _points(session, sql, params, {"min": "lo", "avg": "avg", "max": "hi", "n": "n::int"})


# A time as Python's isoformat() prints a UTC datetime, made by PostgreSQL: a 30-day series at
# 5 minutes is 8,640 points, and a datetime per point and back to text costs more than the query
# (as does json_agg: measured twice as slow as these rows).
_AT = (
    "to_char(b AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "extract(microseconds FROM b)::bigint % 1000000 <> 0 THEN to_char(b, '.US') ELSE '' END "
    "|| '+00:00'"
)


def _points(session: Session, rows: str, params: dict[str, Any], fields: dict[str, str]) -> Any:
    """The rows of a query (time as `b`) as points in time order: `at`, then each field."""
    sql = f"SELECT {_AT}, {', '.join(fields.values())} FROM ({rows}) q ORDER BY b"
    keys = ("at", *fields)
    # Straight through the driver's cursor, all rows in one fetch: a SQLAlchemy Row per
    # point cost as much as the query.
    statement = text(sql).compile(dialect=session.get_bind().dialect)
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None, "a session in a transaction has a live connection"
    with dbapi.cursor() as cursor:
        cursor.execute(str(statement), statement.construct_params(params))
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def device_series(
    session: Session,
    device_id: uuid.UUID,
    metric: str,
    *,
    since: datetime | None,
    until: datetime | None,
    step_s: int | None,
    now: datetime,
    kept: Sequence[Tier],
) -> dict[str, Any]:
    """One metric of one device over [since, until): raw points, or min/avg/max per step.

    Without a step every poll is a point (from the raw samples, kept for the shortest time).
    With one, the coarsest table whose rows fit the step and still hold `since` answers, and
    samples newer than its last rollup come from the raw table, so the latest step is whole.
    For uptime_s, TimeTicks wraps are lifted out of raw points and reboots listed apart.
    """
    if metric not in METRICS:
        raise Invalid(f"unknown metric {metric!r}", field="metric", allowed=list(METRICS))
    devices = m.Device.__table__
    if session.scalar(select(devices.c.id).where(devices.c.id == device_id)) is None:
        raise NotFound(f"no device with id {device_id}", field="id")
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= (_utc(value) or now) <= LATEST:
            raise Invalid(f"{name} must be between {EARLIEST.year} and {LATEST.year}", field=name)
    if step_s is not None and step_s > LONGEST_STEP_S:
        raise Invalid(f"step must be at most {LONGEST_STEP_S} seconds (366 days)", field="step")
    until = _utc(until) or now
    since = _utc(since) or until - DEFAULT_RANGE
    if since >= until:
        raise Invalid("since must be before until", field="since")
    if step_s is not None and (until - since).total_seconds() / step_s > MAX_POINTS:
        raise Invalid(f"step too small: more than {MAX_POINTS} points", field="step")
    tier = choose_tier(kept, step_s, since, now)
    answer: dict[str, Any] = {
        "device": str(device_id),
        "metric": metric,
        "since": since.astimezone(UTC).isoformat(),
        "until": until.astimezone(UTC).isoformat(),
        "step": step_s,
        "source": tier.name,
    }
    window = {"d": device_id, "since": since, "until": until}
    runs = (
        uptime_runs(_raw(session, device_id, metric, since, until))
        if metric == "uptime_s"
        else None
    )
    if step_s is None and runs is not None:
        answer["points"] = [{"at": at.isoformat(), "value": v} for at, v in runs.points]
    elif step_s is None:
        answer["points"] = _points(session, _raw_sql(metric), window, {"value": "value"})
    else:
        start = floor_time(since, step_s, ORIGIN)
        cut = start
        if tier.name != RAW:
            mark = done_until(session).get(tier.name)
            if mark is not None:
                # The rollup's last bucket holds samples up to its mark; newer ones are raw.
                cut = min(max(mark, start), until)
        answer["points"] = _stepped(session, device_id, metric, tier, cut, (start, until), step_s)
    if runs is not None:
        answer["reboots"] = [at.isoformat() for at in runs.reboots]
    return answer
