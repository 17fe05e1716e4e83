"""Availability from outages: the share of monitored time a subject was not in an outage.

LibreNMS's periods (1, 7, 30 and 365 days). Time before monitoring began is never counted as
up: it is left out of the percentage and reported apart as `unmonitored_s`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Numeric, and_, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import Subject

PERIODS: dict[str, timedelta] = {
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "365d": timedelta(days=365),
}


def figure(
    now: datetime,
    period: timedelta,
    monitored_since: datetime | None,
    outages: Iterable[tuple[datetime, datetime | None]],
) -> dict[str, Any]:
    """Availability over [now - period, now] from outage intervals (an open one ends now)."""
    start = now - period
    if monitored_since is None or monitored_since >= now:
        return {
            "availability_pct": None,
            "monitored_s": 0.0,
            "unmonitored_s": period.total_seconds(),
            "down_s": 0.0,
            "outages": 0,
        }
    begin = max(start, monitored_since)
    down = timedelta()
    count = 0
    for started, ended in outages:
        lo, hi = max(started, begin), min(ended or now, now)
        if hi > lo:
            down += hi - lo
            count += 1
        elif ended is None and started <= now:
            count += 1
    monitored = now - begin
    share = 1.0 - down / monitored if monitored > timedelta() else 1.0
    return {
        "availability_pct": round(100.0 * share, 4),
        "monitored_s": monitored.total_seconds(),
        "unmonitored_s": (begin - start).total_seconds(),
        "down_s": down.total_seconds(),
        "outages": count,
    }


def for_subject(
    session: Session, kind: Subject, subject_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Availability of one node, device or link over every period, in two queries."""
    longest = max(PERIODS.values())
    since = session.scalar(
        select(m.Monitored.since).where(
            m.Monitored.kind == kind, m.Monitored.subject_id == subject_id
        )
    )
    rows = session.execute(
        select(m.Outage.started_at, m.Outage.ended_at).where(
            m.Outage.kind == kind,
            m.Outage.subject_id == subject_id,
            or_(m.Outage.ended_at.is_(None), m.Outage.ended_at > now - longest),
        )
    ).all()
    intervals = [(a, b) for a, b in rows]
    return {name: figure(now, period, since, intervals) for name, period in PERIODS.items()}


def worst(session: Session, kind: Subject, period: timedelta, now: datetime) -> Any:
    """A select of subjects with down time in the period, least available first.

    Columns: subject_id, network_numbers, down_s, monitored_s, availability_pct. Subjects
    without an outage in the period are 100 % available and not listed.
    """
    start = now - period
    begin = func.greatest(literal(start), m.Monitored.since)
    overlap = func.least(func.coalesce(m.Outage.ended_at, literal(now)), literal(now)) - (
        func.greatest(m.Outage.started_at, begin)
    )
    down = func.sum(func.greatest(func.extract("epoch", overlap), 0.0))
    monitored = func.extract("epoch", literal(now) - begin)
    pct = 100.0 * (1.0 - down / func.nullif(cast(monitored, Float), 0.0))
    return (
        select(
            m.Outage.subject_id,
            func.max(m.Outage.network_numbers).label("network_numbers"),
            down.label("down_s"),
            monitored.label("monitored_s"),
            func.round(cast(pct, Numeric()), 4).label("availability_pct"),
        )
        .join(
            m.Monitored,
            and_(m.Monitored.kind == m.Outage.kind, m.Monitored.subject_id == m.Outage.subject_id),
        )
        .where(
            m.Outage.kind == kind,
            m.Outage.started_at < now,
            or_(m.Outage.ended_at.is_(None), m.Outage.ended_at > start),
        )
        .group_by(m.Outage.subject_id, m.Monitored.since)
        .order_by(pct.asc(), m.Outage.subject_id)
    )
