"""Record pages: list, create, edit with the API's validation, history with revert; the NN form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from api import serialize
from api.deps import DbSession
from api.resources import IMMUTABLE_NUMBERS, RESOURCES
from api.ui.auth import Viewer, allow, check_csrf
from api.ui.forms import by_field, fields_of, posted, problems, shown
from api.ui.render import page
from ipam import models as m
from ipam.enums import TokenRole
from ipam.errors import DomainError, NotFound
from ipam.numbering import addressing, nn_assign
from ipam.observed.snapshot import filled
from ipam.records import edits
from ipam.records.changes import KINDS, count, family, jsonable

router = APIRouter(prefix="/ui", include_in_schema=False)

# The records a volunteer edits by hand, in the order the menu shows them.
CONSOLE = (
    "members",
    "buildings",
    "installs",
    "nodes",
    "devices",
    "sectors",
    "accesspoints",
    "links",
    "loses",
)
BY_NAME = {res.name: res for res in RESOURCES if res.name in CONSOLE}
PAGE_SIZE = 50


def _resource(name: str) -> Any:
    res = BY_NAME.get(name)
    if res is None:
        raise NotFound(f"no record kind {name!r}", field="resource")
    return res


def _resolve(session: Any, res: Any, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(key)
    except ValueError:
        pass
    if res.number and key.isascii() and key.isdigit() and len(key) < 10:
        column = getattr(KINDS[res.name].model, res.number)
        found = session.scalar(select(KINDS[res.name].model.id).where(column == int(key)))
        if found is not None:
            return found
    raise NotFound(f"no {KINDS[res.name].singular} {key}", field="id")


def load_record(session: Any, resource: str, key: str) -> dict[str, Any]:
    """One record as the API's GET shows it, by UUID or by its number."""
    res = _resource(resource)
    model = KINDS[resource].model
    record_id = _resolve(session, res, key)
    obj = session.scalars(select(model).where(model.id == record_id)).unique().first()
    if obj is None:
        raise NotFound(f"no {KINDS[resource].singular} {key}", field="id")
    return filled(session, serialize.render(session, resource, [obj])[0])


def history_rows(session: Any, resource: str, record_id: uuid.UUID) -> list[dict[str, Any]]:
    """Who changed a record, when, and which fields, oldest first."""
    rows = session.scalars(
        select(m.History)
        .where(m.History.resource.in_(family(KINDS[resource])), m.History.record_id == record_id)
        .order_by(m.History.id)
    ).all()
    out = []
    for r in rows:
        before, after = r.before or {}, r.after or {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        out.append(
            {
                "id": r.id,
                "action": r.action,
                "actor": r.actor,
                "at": jsonable(r.at),
                "changed": changed,
            }
        )
    return out


def _title(record: dict[str, Any], resource: str) -> str:
    for key in ("name", "street_address", "install_number", "network_number"):
        if record.get(key):
            return f"{KINDS[resource].singular} {record[key]}"
    return f"{KINDS[resource].singular} {str(record['id'])[:8]}"


@router.get("/records/{resource}/", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: DbSession,
    who: Viewer,
    resource: str,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """A page of records, newest order as the API lists them."""
    res = _resource(resource)
    model = KINDS[resource].model
    stmt = select(model).order_by(*res.order)
    objs = session.scalars(stmt.offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE)).unique().all()
    rows = serialize.render(session, resource, objs)
    total = count(session, select(model))
    return page(
        request,
        "records.html",
        resource=resource,
        rows=[(r, _title(r, resource)) for r in rows],
        page_no=page_no,
        last=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        total=total,
    )


def _form_page(request: Request, resource: str, values: dict[str, Any], **context: Any) -> Response:
    res = _resource(resource)
    return page(
        request,
        "record_form.html",
        status_code=422 if context.get("errors") else 200,
        resource=resource,
        fields=fields_of(res.create),
        values=values,
        messages=by_field(context.get("errors", [])),
        **context,
    )


@router.get("/records/{resource}/new", response_class=HTMLResponse)
def new_form(request: Request, who: Viewer, resource: str) -> Response:
    """An empty form for a new record."""
    allow(who, TokenRole.INSTALLER)
    return _form_page(request, resource, {}, record=None, history=[], errors=[])


async def _form(request: Request) -> FormData:
    # Read on the event loop; the handler that takes it runs in a worker thread.
    return await request.form()


Posted = Annotated[FormData, Depends(_form)]


@router.post("/records/{resource}/new", response_class=HTMLResponse)
def create(
    request: Request, session: DbSession, who: Viewer, form: Posted, resource: str
) -> Response:
    """Create a record from the form; on a problem the form again, with the API's messages."""
    allow(who, TokenRole.INSTALLER)
    check_csrf(who, str(form.get("csrf_token", "")))
    res = _resource(resource)
    fields = fields_of(res.create)
    values = posted(form, fields)
    try:
        body = res.create.model_validate(values)
        obj = edits.create(session, KINDS[resource], body.model_dump(), who.username)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return _form_page(
            request, resource, shown(values, fields), record=None, history=[], errors=problems(exc)
        )
    return RedirectResponse(f"/ui/records/{resource}/{obj.id}/", status_code=303)


@router.get("/records/{resource}/{key}/", response_class=HTMLResponse)
def edit_form(
    request: Request, session: DbSession, who: Viewer, resource: str, key: str
) -> Response:
    """A record's form, filled in, with its history."""
    record = load_record(session, resource, key)
    fields = fields_of(_resource(resource).create)
    return _form_page(
        request,
        resource,
        shown(record, fields),
        record=record,
        title=_title(record, resource),
        history=history_rows(session, resource, uuid.UUID(str(record["id"]))),
        errors=[],
        saved=request.query_params.get("saved") == "1",
    )


@router.post("/records/{resource}/{key}/", response_class=HTMLResponse)
def save(
    request: Request, session: DbSession, who: Viewer, form: Posted, resource: str, key: str
) -> Response:
    """Replace a record with the form's values (the API's PUT), history and event included."""
    allow(who, TokenRole.INSTALLER)
    check_csrf(who, str(form.get("csrf_token", "")))
    res = _resource(resource)
    record = load_record(session, resource, key)
    record_id = uuid.UUID(str(record["id"]))
    fields = fields_of(res.create)
    values = posted(form, fields)
    try:
        body = res.create.model_validate(values)
        data = body.model_dump()
        for name in IMMUTABLE_NUMBERS - body.model_fields_set:
            data.pop(name, None)
        edits.update(session, KINDS[resource], record_id, data, who.username)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return _form_page(
            request,
            resource,
            shown(values, fields),
            record=record,
            title=_title(record, resource),
            history=history_rows(session, resource, record_id),
            errors=problems(exc),
        )
    return RedirectResponse(f"/ui/records/{resource}/{record_id}/?saved=1", status_code=303)


@router.post("/records/{resource}/{key}/revert/{history_id}", response_class=HTMLResponse)
def revert(
    request: Request,
    session: DbSession,
    who: Viewer,
    resource: str,
    key: str,
    history_id: Annotated[int, Path(ge=1, le=2**62)],
    csrf_token: Annotated[str, Form()],
) -> Response:
    """Restore the version a history row holds (admins only)."""
    allow(who, TokenRole.ADMIN)
    check_csrf(who, csrf_token)
    record_id = uuid.UUID(str(load_record(session, resource, key)["id"]))
    edits.revert(session, KINDS[resource], record_id, history_id, who.username)
    return RedirectResponse(f"/ui/records/{resource}/{record_id}/?saved=1", status_code=303)


@router.get("/nn-assign", response_class=HTMLResponse)
def nn_form(request: Request, who: Viewer) -> Response:
    """MeshDB's NN form: an install number in, a network number and its addresses out."""
    allow(who, TokenRole.INSTALLER)
    return page(request, "nn_assign.html", result=None, errors=[], install_number="")


@router.post("/nn-assign", response_class=HTMLResponse)
def nn_assign_post(
    request: Request,
    session: DbSession,
    who: Viewer,
    install_number: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str, Form()],
) -> Response:
    """Assign (or show the already assigned) NN of an install."""
    allow(who, TokenRole.INSTALLER)
    check_csrf(who, csrf_token)
    number = install_number.strip()
    if not (number.isascii() and number.isdigit() and len(number) < 10):
        errors = [("install_number", "an install number is a whole number, e.g. 14632")]
        return page(
            request,
            "nn_assign.html",
            status_code=422,
            result=None,
            errors=errors,
            install_number=number,
        )
    try:
        result = nn_assign.assign(session, int(number), who.username)
    except DomainError as exc:
        session.rollback()
        return page(
            request,
            "nn_assign.html",
            status_code=422,
            result=None,
            errors=problems(exc),
            install_number=number,
        )
    return page(
        request,
        "nn_assign.html",
        result=result,
        addresses=addressing.addresses_for(result.network_number).to_dict(),
        errors=[],
        install_number=number,
    )
