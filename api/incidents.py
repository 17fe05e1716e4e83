"""Outages, availability, incidents and silences over HTTP (issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from api.deps import DbSession, Reader, Writer
from api.resources import DEFAULT_PAGE_SIZE, ERRORS, MAX_PAGE_SIZE, page_links, page_of
from ipam import models as m
from ipam.enums import SilenceScope, Subject
from ipam.errors import Invalid, NotFound
from ipam.incidents import silences
from ipam.incidents.availability import PERIODS, worst
from ipam.incidents.store import body as incident_body
from ipam.records.changes import count

router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=ERRORS)

PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
NN = Annotated[int | None, Query(ge=1, le=8000)]


def _outage(row: m.Outage, now: datetime) -> dict[str, Any]:
    end = row.ended_at or now
    return {
        "id": row.id,
        "kind": row.kind,
        "subject_id": str(row.subject_id),
        "network_numbers": list(row.network_numbers),
        "status": row.status,
        "open": row.ended_at is None,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "duration_s": max((end - row.started_at).total_seconds(), 0.0),
        "incident": row.incident_id,
    }


@router.get("/outages/", summary="Intervals nodes, devices and links spent down")
def list_outages(
    request: Request,
    session: DbSession,
    caller: Reader,
    open: bool | None = None,
    network_number: NN = None,
    kind: Subject | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Newest first; `since`/`until` keep outages overlapping that window; a link's outage is
    listed under both ends' network numbers."""
    stmt = select(m.Outage)
    if open is not None:
        stmt = stmt.where(m.Outage.ended_at.is_(None) if open else m.Outage.ended_at.is_not(None))
    if network_number is not None:
        # @> uses the GIN index on the array.
        stmt = stmt.where(m.Outage.network_numbers.contains([network_number]))
    if kind is not None:
        stmt = stmt.where(m.Outage.kind == kind)
    if since is not None:
        stmt = stmt.where(m.Outage.ended_at.is_(None) | (m.Outage.ended_at >= since))
    if until is not None:
        stmt = stmt.where(m.Outage.started_at <= until)
    now = datetime.now(UTC)
    stmt = stmt.order_by(m.Outage.started_at.desc(), m.Outage.id.desc())
    return page_of(
        request, session, stmt, page, page_size, lambda rows: [_outage(r, now) for r in rows]
    )


@router.get("/incidents/", summary="Incidents: outages explained by one failure")
def list_incidents(
    request: Request,
    session: DbSession,
    caller: Reader,
    open: bool | None = None,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Newest first, with the cause, the affected nodes and the installs and members cut off."""
    stmt = select(m.Incident)
    if open is not None:
        stmt = stmt.where(
            m.Incident.ended_at.is_(None) if open else m.Incident.ended_at.is_not(None)
        )
    return page_of(
        request,
        session,
        stmt.order_by(m.Incident.id.desc()),
        page,
        page_size,
        lambda rows: [incident_body(r, open=r.ended_at is None) for r in rows],
    )


@router.get("/incidents/{incident_id}/", summary="One incident and its outages")
def get_incident(
    incident_id: Annotated[int, Path(ge=1, le=2**62)],
    session: DbSession,
    caller: Reader,
) -> Any:
    """The incident with every outage that belongs to it."""
    row = session.get(m.Incident, incident_id)
    if row is None:
        raise NotFound(f"no incident with id {incident_id}", field="id")
    outages = session.scalars(
        select(m.Outage).where(m.Outage.incident_id == row.id).order_by(m.Outage.id)
    ).all()
    now = datetime.now(UTC)
    return incident_body(row, open=row.ended_at is None, outages=[_outage(o, now) for o in outages])


@router.get("/availability/", summary="The least available nodes, devices or links")
def availability_ranking(
    request: Request,
    session: DbSession,
    caller: Reader,
    period: Annotated[str, Query(pattern="^(1d|7d|30d|365d)$")] = "30d",
    kind: Subject = Subject.NODE,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Worst first over `period` (1d, 7d, 30d, 365d), as a % of monitored time."""
    now = datetime.now(UTC)
    stmt = worst(session, kind, PERIODS[period], now)
    total = count(session, stmt)
    rows = session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).all()
    return {
        **page_links(request, page, page_size, total),
        "period": period,
        "results": [
            {
                "kind": kind.value,
                "subject_id": str(r.subject_id),
                "network_numbers": list(r.network_numbers),
                "availability_pct": float(r.availability_pct)
                if r.availability_pct is not None
                else None,
                "down_s": float(r.down_s),
                "monitored_s": float(r.monitored_s),
            }
            for r in rows
        ],
    }


class SilenceIn(BaseModel):
    """Silence one node (by NN), device (by id) or incident (by id) until a time."""

    model_config = ConfigDict(extra="ignore")

    node: Annotated[int | None, Field(ge=1, le=8000)] = None
    device: uuid.UUID | None = None
    incident: Annotated[int | None, Field(ge=1, le=2**62)] = None
    until: AwareDatetime
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @field_validator("reason")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("may not contain NUL characters")
        return value

    def reference(self) -> tuple[SilenceScope, str | int]:
        """The scope and the one reference given (422 for none or several)."""
        given = [
            (SilenceScope(k), v)
            for k, v in (("node", self.node), ("device", self.device), ("incident", self.incident))
            if v is not None
        ]
        if len(given) != 1:
            raise Invalid("name exactly one of node, device or incident", field="node")
        scope, value = given[0]
        return scope, value if isinstance(value, int) else str(value)


@router.post("/silences/", status_code=201, summary="Silence a node, device or incident")
def create_silence(body: Annotated[SilenceIn, Body()], session: DbSession, caller: Writer) -> Any:
    """Its changes are still recorded, but no notification goes out until `until`."""
    scope, reference = body.reference()
    row = silences.create(
        session, scope, reference, body.until, body.reason, caller.name, datetime.now(UTC)
    )
    return silences.shape(row)


@router.get("/silences/", summary="Silences in force (or all with active=false)")
def list_silences(
    request: Request,
    session: DbSession,
    caller: Reader,
    active: bool = True,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Silences, soonest to end first."""
    stmt = select(m.Silence)
    if active:
        stmt = stmt.where(m.Silence.until > func.now())
    stmt = stmt.order_by(m.Silence.until, m.Silence.id)
    return page_of(
        request, session, stmt, page, page_size, lambda rows: [silences.shape(r) for r in rows]
    )


@router.delete("/silences/{silence_id}/", status_code=204, summary="End a silence")
def delete_silence(silence_id: uuid.UUID, session: DbSession, caller: Writer) -> Response:
    """End it now."""
    silences.delete(session, silence_id, caller.name)
    return Response(status_code=204)
