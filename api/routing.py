"""The routing witness over HTTP: subnet states and drift findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter

from api.cache import cached_json
from api.deps import DbSession, Reader
from api.resources import DEFAULT_PAGE_SIZE, ERRORS, MAX_PAGE_SIZE, page_of
from ipam.enums import SubnetStatus
from ipam.routing import queries

router = APIRouter(prefix="/api/v1", tags=["routing"], responses=ERRORS)
ANSWER: TypeAdapter[Any] = TypeAdapter(dict[str, Any])


def _each(row: Callable[[Any], dict[str, Any]]) -> Callable[[Sequence[Any]], list[Any]]:
    """A page's shaping: each row by itself."""
    return lambda rows: [row(r) for r in rows]


@router.get("/subnets/", summary="Announced prefixes and their state against the records")
def subnets(
    request: Request,
    session: DbSession,
    caller: Reader,
    status: SubnetStatus | None = None,
    network_number: Annotated[int | None, Query(ge=1, le=8000)] = None,
    prefix: Annotated[str | None, Query(max_length=43)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Any:
    """`?status=hijacked`, `?network_number=` (owner or announcer), `?prefix=` (within it)."""

    def compute() -> dict[str, Any]:
        stmt = queries.subnets(status.value if status else None, network_number, prefix)
        return page_of(request, session, stmt, page, page_size, _each(queries.subnet_row))

    return cached_json(request, session, ANSWER, compute)


@router.get("/routing/routers/", summary="Routers in the link-state database and their nodes")
def routers(
    request: Request,
    session: DbSession,
    caller: Reader,
    mapped: bool | None = None,
    visible: bool | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> Any:
    """`?mapped=false`: the unknown routers (infrastructure, anycast), never invented as nodes."""

    def compute() -> dict[str, Any]:
        stmt = queries.routers(mapped, visible)
        return page_of(request, session, stmt, page, page_size, _each(queries.router_row))

    return cached_json(request, session, ANSWER, compute)


@router.get("/drift/", summary="Where the records and the network disagree")
def drift(request: Request, session: DbSession, caller: Reader) -> Any:
    """Routing findings (unrecorded adjacencies and nodes, visible Inactive nodes, links
    without an adjacency for 30 days) and nodes recorded Active but down for 30 days."""
    return cached_json(
        request, session, ANSWER, lambda: {"results": queries.drift_findings(session)}
    )
