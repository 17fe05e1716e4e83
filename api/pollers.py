"""The daemons sharing the polling: their groups, networks, last cycle and what they hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from api.deps import DbSession, Reader
from api.resources import ERRORS
from ipam.pollers import leases
from ipam.records.changes import jsonable

router = APIRouter(prefix="/api/v1", tags=["pollers"], responses=ERRORS)


@router.get("/pollers/", summary="The polling daemons, their groups and what each holds")
def pollers(request: Request, session: DbSession, caller: Reader) -> Any:
    """Every daemon that ever polled here; `alive` while its heartbeat is fresh."""
    now = datetime.now(UTC)
    stale = leases.stale_before(now, request.app.state.settings.poller_heartbeat_s)
    rows = leases.listing(session, now, stale)
    return {"count": len(rows), "results": [{k: jsonable(v) for k, v in r.items()} for r in rows]}
