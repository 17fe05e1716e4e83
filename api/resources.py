"""One router factory for the nine record resources: list, lookup, CRUD, history, revert."""

# No `from __future__ import annotations`: FastAPI reads the per-resource schema classes
# from the annotations of the functions this factory defines.

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Select, select

from api import refs, serialize
from api.cache import cached_json, filled_json
from api.deps import Admin, DbSession, Reader, Writer
from api.etags import check_if_match, current_etag
from api.lookups import FILTERS, PAGING, openapi_parameters, where_clauses
from api.schemas import ipam as ipam_schemas
from api.schemas import network as net
from api.schemas import people
from api.schemas.common import ErrorBody, Page
from ipam import models as m
from ipam.errors import BadRequest, Invalid, NotFound
from ipam.records import edits
from ipam.records.changes import KINDS, count, delete, family, jsonable, load

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
IMMUTABLE_NUMBERS = {"install_number", "network_number"}


@dataclass(frozen=True)
class Resource:
    """The schemas and ordering of one resource."""

    name: str
    create: type[BaseModel]
    patch: type[BaseModel]
    out: Any  # a model, or a union of models for the device family
    order: tuple[Any, ...]
    number: str | None = None  # install_number / network_number: a number in the URL means it


RESOURCES = [
    Resource(
        "members",
        people.MemberIn,
        people.MemberPatch,
        people.MemberOut,
        (m.Member.created, m.Member.id),
    ),
    Resource(
        "buildings",
        people.BuildingIn,
        people.BuildingPatch,
        people.BuildingOut,
        (m.Building.created, m.Building.id),
    ),
    Resource(
        "installs",
        people.InstallIn,
        people.InstallPatch,
        people.InstallOut,
        (m.Install.install_number.desc(),),  # newest first, as MeshDB's Install ordering
        "install_number",
    ),
    Resource(
        "billing/install-fee-data",
        people.InstallFeeBillingDatumIn,
        people.InstallFeeBillingDatumPatch,
        people.InstallFeeBillingDatumOut,
        (m.InstallFeeBillingDatum.created, m.InstallFeeBillingDatum.id),
    ),
    Resource(
        "nodes",
        net.NodeIn,
        net.NodePatch,
        net.NodeOut,
        (m.Node.network_number.asc().nulls_last(), m.Node.id),
        "network_number",
    ),
    Resource(
        "devices",
        net.DeviceIn,
        net.DevicePatch,
        net.DeviceOut | net.SectorOut | net.AccessPointOut,
        (m.Device.created, m.Device.id),
    ),
    Resource(
        "sectors", net.SectorIn, net.SectorPatch, net.SectorOut, (m.Sector.created, m.Sector.id)
    ),
    Resource(
        "accesspoints",
        net.AccessPointIn,
        net.AccessPointPatch,
        net.AccessPointOut,
        (m.AccessPoint.created, m.AccessPoint.id),
    ),
    Resource("links", net.LinkIn, net.LinkPatch, net.LinkOut, (m.Link.created, m.Link.id)),
    Resource("loses", net.LOSIn, net.LOSPatch, net.LOSOut, (m.LOS.created, m.LOS.id)),
    Resource(
        "prefixes",
        ipam_schemas.PrefixIn,
        ipam_schemas.PrefixPatch,
        ipam_schemas.PrefixOut,
        (m.Prefix.cidr, m.Prefix.id),
    ),
    Resource(
        "ip-allocations",
        ipam_schemas.IpAllocationIn,
        ipam_schemas.IpAllocationPatch,
        ipam_schemas.IpAllocationOut,
        (m.IpAllocation.address, m.IpAllocation.id),
    ),
]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422)
}


class HistoryOut(BaseModel):
    """One change of a record."""

    id: int
    action: str
    actor: str
    at: Any
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _page_url(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


def page_of(
    request: Request,
    session: Any,
    stmt: Select[Any],
    page: int,
    page_size: int,
    shape: Callable[[Sequence[Any]], list[Any]],
) -> dict[str, Any]:
    """One page of a select's rows, shaped, in Django REST framework's page shape."""
    page_size = min(page_size, MAX_PAGE_SIZE)
    total = count(session, stmt)
    rows = session.scalars(stmt.offset((page - 1) * page_size).limit(page_size)).unique().all()
    return {**page_links(request, page, page_size, total), "results": shape(rows)}


def paginate(
    request: Request, session: Any, stmt: Select[Any], resource: str, page: int, page_size: int
) -> dict[str, Any]:
    """Run a select one page at a time and answer in MeshDB's page shape."""
    return page_of(
        request,
        session,
        stmt,
        page,
        page_size,
        lambda rows: serialize.render(session, resource, rows),
    )


def page_links(request: Request, page: int, page_size: int, total: int) -> dict[str, Any]:
    """The count and the next/previous URLs of a page (Django REST framework's shape)."""
    last = (total + page_size - 1) // page_size
    return {
        "count": total,
        "next": _page_url(request, page + 1) if page < last else None,
        "previous": _page_url(request, page - 1) if page > 1 and total else None,
    }


def build_router(res: Resource) -> APIRouter:
    """The routes of one resource under /api/v1/<name>/."""
    kind = KINDS[res.name]
    model = kind.model
    router = APIRouter(prefix=f"/api/v1/{res.name}", tags=[res.name], responses=ERRORS)
    page_adapter: TypeAdapter[Any] = TypeAdapter(Page[res.out])  # type: ignore[name-defined]
    out_adapter: TypeAdapter[Any] = TypeAdapter(res.out)
    # A larger page_size is clamped to MAX_PAGE_SIZE, as DRF's max_page_size does.
    PageSize = Annotated[int, Query(ge=1, le=2**31 - 1)]
    PageNo = Annotated[int, Query(ge=1, le=1_000_000)]

    def base() -> Select[Any]:
        return select(model).order_by(*res.order)

    def resolve(session: Any, key: str) -> uuid.UUID:
        try:
            return uuid.UUID(key)
        except ValueError:
            pass
        # isascii: "²".isdigit() is true but int("²") fails.
        if res.number and key.isascii() and key.isdigit() and len(key) < 10:
            column = getattr(model, res.number)
            found = session.scalar(select(model.id).where(column == int(key)))
            if found is None:
                raise NotFound(f"no {kind.singular} with {res.number} {key}", field=res.number)
            return found
        expected = f"a UUID or {res.number}" if res.number else "a UUID"
        raise Invalid(f"id: {key!r} is not {expected}", field="id")

    def fetch(session: Any, record_id: uuid.UUID) -> dict[str, Any]:
        stmt = base().where(model.id == record_id).execution_options(populate_existing=True)
        obj = session.scalars(stmt).unique().first()
        if obj is None:
            raise NotFound(f"no {kind.singular} with id {record_id}", field="id")
        return serialize.render(session, res.name, [obj])[0]

    @router.get(
        "/",
        response_model=Page[res.out],  # type: ignore[name-defined]
        summary=f"List {res.name}",
    )
    def list_records(
        request: Request,
        session: DbSession,
        caller: Reader,
        page: PageNo = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Any:
        return cached_json(
            request,
            session,
            page_adapter,
            lambda: paginate(request, session, base(), res.name, page, page_size),
            follows="records",
        )

    lookup_params = sorted(FILTERS[res.name])

    @router.get(
        "/lookup/",
        response_model=Page[res.out],  # type: ignore[name-defined]
        summary=f"Look up {res.name} by {', '.join(lookup_params)}",
        openapi_extra={"parameters": openapi_parameters(res.name)},
    )
    def lookup(
        request: Request,
        session: DbSession,
        caller: Reader,
        page: PageNo = 1,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
    ) -> Any:
        params = {k: v for k, v in request.query_params.items() if k not in PAGING}
        unknown = sorted(set(params) - set(FILTERS[res.name]))
        if unknown:
            raise BadRequest(
                f"unknown filter {', '.join(unknown)}; allowed: {', '.join(lookup_params)}",
                field=unknown[0],
            )
        if not params:
            raise BadRequest(f"give at least one filter: {', '.join(lookup_params)}")
        stmt = base().where(*where_clauses(res.name, params))
        return cached_json(
            request,
            session,
            page_adapter,
            lambda: paginate(request, session, stmt, res.name, page, page_size),
            follows="records",
        )

    @router.post("/", status_code=201, response_model=res.out, summary=f"Create a {kind.singular}")
    def create(
        body: Annotated[res.create, Body()],  # type: ignore[name-defined]
        session: DbSession,
        caller: Writer,
    ) -> Any:
        obj = edits.create(session, kind, refs.resolve(session, body.model_dump()), caller.name)
        answer = filled_json(session, out_adapter, fetch(session, obj.id), status_code=201)
        answer.headers["ETag"] = current_etag(session, kind, obj.id)
        return answer

    @router.get("/{key}/", response_model=res.out, summary=f"Get a {kind.singular}")
    def get(key: str, request: Request, session: DbSession, caller: Reader) -> Any:
        resolved: list[uuid.UUID] = []

        def compute() -> dict[str, Any]:
            resolved.append(resolve(session, key))
            return fetch(session, resolved[0])

        return cached_json(
            request,
            session,
            out_adapter,
            compute,
            etag=lambda: current_etag(session, kind, resolved[0]),
            follows="records",
        )

    def write(
        request: Request, session: Any, key: str, values: dict[str, Any], actor: str
    ) -> Response:
        """PUT and PATCH: If-Match checked (412 when stale), then the change, with its ETag."""
        record_id = resolve(session, key)
        check_if_match(request, session, kind, record_id)
        edits.update(session, kind, record_id, values, actor)
        answer = filled_json(session, out_adapter, fetch(session, record_id))
        answer.headers["ETag"] = current_etag(session, kind, record_id)
        return answer

    @router.put(
        "/{key}/",
        response_model=res.out,
        summary=f"Replace a {kind.singular}",
        responses={412: {"model": ErrorBody, "description": "If-Match names a stale version"}},
    )
    def put(
        key: str,
        body: Annotated[res.create, Body()],  # type: ignore[name-defined]
        request: Request,
        session: DbSession,
        caller: Writer,
    ) -> Any:
        values = refs.resolve(session, body.model_dump())
        # A whole record that leaves out a number fixed once given keeps it: not an unset.
        for name in IMMUTABLE_NUMBERS - body.model_fields_set:
            values.pop(name, None)
        return write(request, session, key, values, caller.name)

    @router.patch(
        "/{key}/",
        response_model=res.out,
        summary=f"Change a {kind.singular}",
        responses={412: {"model": ErrorBody, "description": "If-Match names a stale version"}},
    )
    def patch(
        key: str,
        body: Annotated[res.patch, Body()],  # type: ignore[name-defined]
        request: Request,
        session: DbSession,
        caller: Writer,
    ) -> Any:
        values = refs.resolve(session, body.model_dump(exclude_unset=True))
        return write(request, session, key, values, caller.name)

    @router.delete("/{key}/", status_code=204, summary=f"Delete a {kind.singular}")
    def remove(key: str, session: DbSession, caller: Admin) -> Response:
        delete(session, kind, resolve(session, key), caller.name)
        return Response(status_code=204)

    @router.get("/{key}/history/", response_model=list[HistoryOut], summary="Change history")
    def history(key: str, session: DbSession, caller: Reader) -> Any:
        record_id = resolve(session, key)
        rows = session.scalars(
            select(m.History)
            .where(m.History.resource.in_(family(kind)), m.History.record_id == record_id)
            .order_by(m.History.id)
        ).all()
        if not rows:
            load(session, kind, record_id)  # 404 for a record that never existed
        return [
            {
                "id": r.id,
                "action": r.action,
                "actor": r.actor,
                "at": jsonable(r.at),
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]

    @router.post(
        "/{key}/history/{history_id}/revert/",
        response_model=res.out,
        summary="Restore the version a history row holds",
    )
    def revert(
        key: str,
        history_id: Annotated[int, Path(ge=1, le=2**62)],
        session: DbSession,
        caller: Admin,
    ) -> Any:
        record_id = resolve(session, key)
        edits.revert(session, kind, record_id, history_id, caller.name)
        return filled_json(session, out_adapter, fetch(session, record_id))

    return router


def routers() -> list[APIRouter]:
    """Every record resource's router."""
    return [build_router(res) for res in RESOURCES]
