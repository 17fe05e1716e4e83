"""The daily summary: what is down, what flapped, the least available nodes (issue 15)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import ObservedStatus, Subject
from ipam.incidents.availability import worst
from ipam.incidents.channels import SUMMARY, write_summary

WORST = 5


def due(session: Session, now: datetime) -> bool:
    """Whether today's (UTC) summary has not been written yet."""
    day = now.date().isoformat()
    found = session.scalar(
        select(func.count()).where(m.Event.type == SUMMARY, m.Event.subject_id == day)
    )
    return not found


def summarise(session: Session, now: datetime) -> dict[str, Any]:
    """Today's summary data: counts and network numbers only."""
    down = sorted(
        nn
        for nn in session.scalars(
            select(m.Node.network_number)
            .join(m.NodeObservation, m.NodeObservation.node_id == m.Node.id)
            .where(m.NodeObservation.status == ObservedStatus.DOWN)
        )
        if nn is not None
    )
    incidents = session.scalars(
        select(m.Incident).where(m.Incident.ended_at.is_(None)).order_by(m.Incident.id)
    ).all()
    flapped = sorted(
        nn
        for nn in session.scalars(
            select(m.Node.network_number)
            .join(m.Monitored, m.Monitored.subject_id == m.Node.id)
            .where(
                m.Monitored.kind == Subject.NODE,
                m.Monitored.flapping_since.is_not(None),
            )
        )
        if nn is not None
    )
    ranked = session.execute(worst(session, Subject.NODE, timedelta(days=7), now).limit(WORST))
    return {
        "day": now.date().isoformat(),
        "down_nns": down,
        "open_incidents": [
            {"id": i.id, "headline": i.headline, "cause": i.cause_label, "nodes": i.peak_nodes}
            for i in incidents
        ],
        "flapping_nns": flapped,
        "worst": [
            {"nn": (r.network_numbers or [None])[0], "availability_pct": float(r.availability_pct)}
            for r in ranked
            if r.availability_pct is not None
        ],
    }


def write_if_due(session: Session, now: datetime) -> bool:
    """Write today's summary event once; whether it was written now."""
    if not due(session, now):
        return False
    write_summary(session, summarise(session, now))
    return True
