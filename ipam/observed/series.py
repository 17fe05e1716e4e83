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
from ipam.records.changes import jsonable

DEFAULT_RANGE = timedelta(days=1)


def _g(value: Any) -> float | None:
    """A figure to the 7 significant digits the REAL columns hold (no float4 noise digits)."""
    return None if value is None else float(f"{float(value):.7g}")


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _raw(
    session: Session, device_id: uuid.UUID, metric: str, since: datetime, until: datetime
) -> list[tuple[datetime, float]]:
    rows = session.execute(
        text(
            f"SELECT at, {metric} FROM device_sample WHERE device_id = :d AND at >= :since "
            f"AND at < :until AND {metric} IS NOT NULL ORDER BY at"
        ),
        {"d": device_id, "since": since, "until": until},
    )
    return [(at, float(value)) for at, value in rows]


def _stepped(
    session: Session,
    device_id: uuid.UUID,
    metric: str,
    tier: Tier,
    cut: datetime,
    window: tuple[datetime, datetime],
    step_s: int,
) -> list[dict[str, Any]]:
    """Buckets of step_s: rollup rows before `cut`, raw samples from it, merged by count."""
    since, until = window
    raw = (
        f"SELECT at AS t, {metric}::float8 AS lo, {metric}::float8 AS total, "
        f"{metric}::float8 AS hi, 1 AS n FROM device_sample WHERE device_id = :d "
        f"AND at >= :cut AND at < :until AND {metric} IS NOT NULL"
    )
    rollup = (
        f"SELECT bucket, {metric}_min::float8, {metric}_avg::float8 * {metric}_n, "
        f"{metric}_max::float8, {metric}_n FROM {TABLES[tier.name]} WHERE device_id = :d "
        f"AND bucket >= :since AND bucket < :cut AND {metric}_n IS NOT NULL UNION ALL "
    )
    sql = (
        f"WITH parts (t, lo, total, hi, n) AS ({rollup if tier.name != RAW else ''}{raw}) "
        "SELECT date_bin(:step, t, :origin) AS b, min(lo), sum(total) / sum(n), max(hi), sum(n) "
        "FROM parts GROUP BY b ORDER BY b"
    )
    params = {
        "d": device_id,
        "since": since,
        "until": until,
        "cut": cut,
        "step": timedelta(seconds=step_s),
        "origin": ORIGIN,
    }
    return [
        {"at": jsonable(b), "min": _g(lo), "avg": _g(avg), "max": _g(hi), "n": int(n)}
        for b, lo, avg, hi, n in session.execute(text(sql), params)
    ]


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
        "since": jsonable(since),
        "until": jsonable(until),
        "step": step_s,
        "source": tier.name,
    }
    raw = (
        _raw(session, device_id, metric, since, until)
        if step_s is None or metric == "uptime_s"
        else []
    )
    runs = uptime_runs(raw) if metric == "uptime_s" else None
    if step_s is None:
        points = runs.points if runs else raw
        answer["points"] = [{"at": jsonable(at), "value": _g(v)} for at, v in points]
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
        answer["reboots"] = [jsonable(at) for at in runs.reboots]
    return answer
