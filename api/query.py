"""MeshDB's legacy query form: `GET /api/v1/query/{members,installs,buildings}/`.

As MeshDB's `meshapi/views/query_api.py`: one flattened spreadsheet-style row per install
(`meshapi/serializers/query_api.py`), ordered by install number, in pages of 100, found by
member, install or building filters; at least one filter, and no unknown ones. Authorised by
`Authorization: Bearer <MESHKEEPER_QUERY_PSK>` (MeshDB's `QUERY_PSK`) or any read token.

Past MeshDB, as its users asked (nycmeshnet/meshdb #912, #1124, #1028): member filters also
find the installs a member is an additional member of; `phone_number` works (MeshDB's
filter names a field installs do not have, a 500); an email's `+`, decoded from an unescaped
query string as a space, still matches; no credentials is a 401, not a 500.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import ColumnElement, Select, or_, select

from api.deps import DbSession, bearer
from api.lookups import (
    FILTERS,
    PAGING,
    Filter,
    as_int,
    as_text,
    as_uuid,
    exact,
    iexact,
    text_filter,
    where_clauses,
)
from api.resources import ERRORS, MAX_PAGE_SIZE, page_links
from ipam import models as m
from ipam.errors import BadRequest
from ipam.records.changes import count
from ipam.records.tokens import identify

router = APIRouter(prefix="/api/v1/query", tags=["query form"], responses=ERRORS)

PAGE_SIZE = 100  # MeshDB's REST_FRAMEWORK PAGE_SIZE
FAILED = "Authentication Failed."  # MeshDB's LegacyMeshQueryPassword refusal (a 403)


def authorised(request: Request, session: DbSession) -> None:
    """The query PSK or any live token; 401 without credentials, 403 with wrong ones."""
    secret = bearer(request)
    if secret is None:
        raise HTTPException(401, "authentication required: send Authorization: Bearer <PSK>")
    psk = request.app.state.settings.query_psk
    if psk and hmac.compare_digest(secret.encode(), psk.encode()):
        return
    identity = identify(session, secret)
    if identity.name is None:
        raise HTTPException(403, FAILED)


def _email(value: str) -> str:
    # An unescaped "+" in a query string arrives as a space; no email address holds a space.
    return as_text(value).replace(" ", "+")


def _via_members(member_filter: Filter, parse: Any = None) -> Filter:
    """A member filter as an install filter: the install's member or any additional member."""

    def where(value: Any) -> ColumnElement[bool]:
        members = select(m.Member.id).where(member_filter.where(value))
        extra = select(m.install_additional_member.c.install_id).where(
            m.install_additional_member.c.member_id.in_(members)
        )
        return or_(m.Install.member_id.in_(members), m.Install.id.in_(extra))

    return Filter(parse or member_filter.parse, where)


def _building(building_filter: Filter) -> Filter:
    """A building filter as an install filter."""

    def where(value: Any) -> ColumnElement[bool]:
        buildings = select(m.Building.id).where(building_filter.where(value))
        return m.Install.building_id.in_(buildings)

    return Filter(building_filter.parse, where)


MEMBERS = FILTERS["members"]
QUERY_FILTERS: dict[str, dict[str, Filter]] = {
    "members": {
        "name": _via_members(MEMBERS["name"]),
        "email_address": _via_members(MEMBERS["email"], _email),
        "phone_number": _via_members(MEMBERS["phone"]),
    },
    "installs": {
        "install_number": exact(m.Install.install_number, as_int),
        "member": exact(m.Install.member_id, as_uuid),
        "building": exact(m.Install.building_id, as_uuid),
        "status": FILTERS["installs"]["status"],
        "network_number": FILTERS["installs"]["network_number"],
    },
    "buildings": {
        "street_address": _building(text_filter(m.Building.street_address)),
        "city": _building(iexact(m.Building.city)),
        "state": _building(iexact(m.Building.state)),
        "zip_code": _building(iexact(m.Building.zip_code)),  # iexact here too, as MeshDB
        "bin": _building(exact(m.Building.bin, as_int)),
    },
}


def _rows(stmt: Select[Any]) -> Select[Any]:
    """The flattened row of each install (MeshDB's QueryFormSerializer fields)."""
    return (
        stmt.add_columns(
            m.Install.install_number,
            m.Install.unit,
            m.Install.status,
            m.Install.notes.label("install_notes"),
            m.Building.street_address,
            m.Building.city,
            m.Building.state,
            m.Building.zip_code,
            m.Building.notes.label("building_notes"),
            m.Member.name,
            m.Member.phone_number,
            m.Member.additional_phone_numbers,
            m.Member.primary_email_address,
            m.Member.stripe_email_address,
            m.Member.additional_email_addresses,
            m.Member.notes.label("member_notes"),
            m.Node.network_number,
            m.Node.status.label("network_number_status"),
            m.Node.notes.label("node_notes"),
        )
        .join(m.Building, m.Building.id == m.Install.building_id)
        .join(m.Member, m.Member.id == m.Install.member_id)
        .outerjoin(m.Node, m.Node.id == m.Install.node_id)
    )


def _row(r: Any) -> dict[str, Any]:
    notes = [r.install_notes, r.building_notes, r.member_notes, r.node_notes]
    return {
        "install_number": r.install_number,
        "street_address": r.street_address,
        "unit": r.unit,
        "city": r.city,
        "state": r.state,
        "zip_code": r.zip_code,
        "name": r.name,
        "phone_number": r.phone_number,
        "additional_phone_numbers": r.additional_phone_numbers,
        "primary_email_address": r.primary_email_address,
        "stripe_email_address": r.stripe_email_address,
        "additional_email_addresses": r.additional_email_addresses,
        # MeshDB joins the install's, building's, member's and node's notes, in that order.
        "notes": "\n".join(n for n in notes if n),
        "network_number": r.network_number,
        "network_number_status": r.network_number_status,
        "status": r.status,
    }


def _answer(request: Request, session: Any, form: str, page: int, page_size: int) -> dict[str, Any]:
    filters = QUERY_FILTERS[form]
    params = {k: v for k, v in request.query_params.items() if k not in PAGING}
    if not params:
        raise BadRequest("Please provide at least one filter to use this endpoint")
    unknown = sorted(set(params) - set(filters))
    if unknown:
        raise BadRequest(f"Invalid filters provided: {unknown}", field=unknown[0])
    ids = select(m.Install.id).where(*where_clauses(form, params, filters))
    total = count(session, ids)
    # DRF's max_page_size clamps a larger page_size rather than refusing it.
    size = min(page_size, MAX_PAGE_SIZE)
    stmt = _rows(select().select_from(m.Install)).where(m.Install.id.in_(ids))
    stmt = stmt.order_by(m.Install.install_number).offset((page - 1) * size).limit(size)
    results = [_row(r) for r in session.execute(stmt)]
    return {**page_links(request, page, size, total), "results": results}


PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=2**31 - 1)]


def _endpoint(form: str) -> Any:
    def query(
        request: Request, session: DbSession, page: PageNo = 1, page_size: PageSize = PAGE_SIZE
    ) -> Any:
        return _answer(request, session, form, page, page_size)

    query.__name__ = f"query_{form}"
    return query


for _form in QUERY_FILTERS:
    router.add_api_route(
        f"/{_form}/",
        _endpoint(_form),
        methods=["GET"],
        dependencies=[Depends(authorised)],
        summary=f"MeshDB's query form by {_form[:-1]} ({', '.join(QUERY_FILTERS[_form])})",
        openapi_extra={
            "parameters": [
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                for name in QUERY_FILTERS[_form]
            ]
        },
    )
