"""Node and device health for operators: recorded beside observed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import TypeAdapter

from api.cache import cached_json
from api.deps import DbSession, Reader
from api.resources import DEFAULT_PAGE_SIZE, ERRORS, MAX_PAGE_SIZE, page_links
from ipam.enums import NodeStatus, ObservedStatus
from ipam.observed import health
from ipam.records.changes import count

router = APIRouter(prefix="/api/v1", tags=["health"], responses=ERRORS)
ANSWER: TypeAdapter[Any] = TypeAdapter(dict[str, Any])


@router.get("/nodes/{nn}/health/", summary="A node's observed health, its devices and links")
def node_health(
    nn: Annotated[int, Path(ge=1, le=8000)], request: Request, session: DbSession, caller: Reader
) -> Any:
    """What polling sees of a node, beside what is recorded."""
    return cached_json(request, session, ANSWER, lambda: health.node_health(session, nn))


@router.get("/devices/{device_id}/health/", summary="A device's observed health")
def device_health(
    device_id: uuid.UUID, request: Request, session: DbSession, caller: Reader
) -> Any:
    """What polling sees of one device."""
    return cached_json(request, session, ANSWER, lambda: health.one_device(session, device_id))


@router.get("/health/", summary="Nodes by observed and recorded state (what is down right now)")
def nodes_by_state(
    request: Request,
    session: DbSession,
    caller: Reader,
    observed_status: ObservedStatus | None = None,
    recorded_status: NodeStatus | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Any:
    """`?observed_status=down&recorded_status=Active`: recorded Active but down, one request."""
    stmt = health.nodes_by_state(
        observed_status.value if observed_status else None,
        recorded_status.value if recorded_status else None,
    )
    total = count(session, stmt)
    rows = session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).all()
    return {
        **page_links(request, page, page_size, total),
        "results": [health.summary_row(node, obs) for node, obs in rows],
    }
