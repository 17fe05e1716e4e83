"""Network numbers over HTTP: assignment, what a number means, and the addresses it derives."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from api import serialize
from api.deps import DbSession, Reader, bearer, require
from api.errors import validation_items
from api.resources import ERRORS
from api.serialize import node_ref
from ipam import models as m
from ipam.enums import InstallStatus, TokenRole
from ipam.errors import BadRequest, NotFound
from ipam.numbering import addressing, allocations
from ipam.numbering import nn_assign as assign

router = APIRouter(prefix="/api/v1", tags=["network numbers"], responses=ERRORS)

NN = Annotated[int, Path(ge=1, le=8000, description="network number")]


class AssignIn(BaseModel):
    """Which install wants a network number (and MeshDB's form password, if no token)."""

    install_number: int = Field(ge=1, le=2**31 - 1)
    password: str | None = Field(default=None, max_length=1000)


class AssignOut(BaseModel):
    """The number given (or already held)."""

    detail: str
    building_id: str
    install_id: str
    install_number: int
    network_number: int
    created: bool


# MeshDB's answers (meshapi/views/forms.py, meshapi/permissions.py), word for word.
INCOMPLETE = "Got incomplete request"
AUTH_FAILED = "Authentication Failed."
PSK_ACTOR = "nn-assign-form"


def _assigner(request: Request, session: Session, payload: Any) -> str:
    """Who assigns: an installer's token, else MeshDB's body password (MESHKEEPER_NN_ASSIGN_PSK)."""
    if bearer(request) is not None:
        return require(TokenRole.INSTALLER)(request, session).name
    password = payload.get("password") if isinstance(payload, dict) else None
    if password is None:
        raise HTTPException(401, "authentication required: a token, or the form's password")
    psk = request.app.state.settings.nn_assign_psk
    if psk and isinstance(password, str) and hmac.compare_digest(password.encode(), psk.encode()):
        return PSK_ACTOR
    raise HTTPException(403, AUTH_FAILED)


@router.post(
    "/nn-assign/",
    response_model=AssignOut,
    status_code=201,
    summary="Assign an NN",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": AssignIn.model_json_schema()}},
        }
    },
    responses={200: {"model": AssignOut, "description": "the install already had its number"}},
)
def nn_assign(payload: Annotated[Any, Body()], request: Request, session: DbSession) -> Any:
    """MeshDB's NN assignment form: 201 when a number is given, 200 when it already was."""
    actor = _assigner(request, session, payload)
    try:
        body = AssignIn.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(INCOMPLETE, errors=validation_items(exc.errors())) from exc
    result = assign.assign(session, body.install_number, actor)
    # Committed here, in this worker thread: the number lock is held until commit, and every
    # other assignment waits on it (a commit left to the request's end waits for a thread).
    session.commit()
    number, nn = result.install.install_number, result.network_number
    detail = (
        "Network Number has been assigned!"
        if result.created
        else f"This Install Number ({number}) already has a Network Number ({nn}) "
        "associated with it!"
    )
    answer = {
        "detail": detail,
        "building_id": str(result.building.id),
        "install_id": str(result.install.id),
        "install_number": number,
        "network_number": nn,
        "created": result.created,
    }
    return JSONResponse(answer, status_code=201 if result.created else 200)


def _install_ref(install: m.Install | None) -> dict[str, Any] | None:
    """MeshDB's InstallNestedRefSerializer: install number, id and node reference."""
    if install is None:
        return None
    return {
        "install_number": install.install_number,
        "id": install.id,
        "node": node_ref(install.node),
    }


@router.get("/disambiguate-number/", summary="What a number means: NN, install number, or both")
def disambiguate(
    session: DbSession, caller: Reader, number: Annotated[str, Query(max_length=20)]
) -> Any:
    """MeshDB's answer (`meshapi/views/helpers.py`): the node the number most likely means.

    `resolved_node` is the node with that NN, else the node of the install with that number;
    `supporting_data` shows both matches. meshkeeper's own keys (`node`, `install`, ...) stay.
    """
    value = int(number) if number.isascii() and number.isdigit() else 0
    if not 0 < value < 2**31:
        raise BadRequest(
            f"Invalid number: '{number}'. Must be an integer greater than zero", field="number"
        )
    node = session.scalar(select(m.Node).where(m.Node.network_number == value))
    install = session.scalars(
        select(m.Install)
        .where(m.Install.install_number == value)
        .options(joinedload(m.Install.node))
    ).first()
    if node is None and install is None:
        raise NotFound(
            f"Provided number: {value} did not correspond to any install or node objects",
            field="number",
        )
    recycled = install is not None and install.status == InstallStatus.NN_REASSIGNED
    resolved = node if node is not None else (install.node if install is not None else None)
    return {
        "resolved_node": node_ref(resolved),
        "supporting_data": {
            "exact_match_install": None if recycled else _install_ref(install),
            "exact_match_recycled_install": _install_ref(install) if recycled else None,
            "exact_match_node": node_ref(node),
        },
        "number": value,
        "node": node_ref(node),
        "install": None
        if install is None
        else {"id": install.id, "install_number": value, "status": install.status},
        "install_recycled_as_nn": recycled,
        "install_resolves_to_node": None if install is None else node_ref(install.node),
    }


@router.get("/addressing/lookup/", summary="Who owns an IP address")
def address_lookup(
    session: DbSession, ip: Annotated[str, Query(max_length=64, description="an IP address")]
) -> Any:
    """The NN and role the addressing plan gives an address, with its node if recorded."""
    role = addressing.lookup(ip)
    if role is not None:
        node = session.scalar(select(m.Node).where(m.Node.network_number == role.network_number))
        return {
            "ip": ip,
            "network_number": role.network_number,
            "role": role.role,
            "node": node_ref(node),
        }
    held = allocations.holder_of(session, str(ipaddress.ip_address(ip)))
    if held is None:
        raise NotFound(f"ip: {ip} is outside every addressing plan and prefix", field="ip")
    prefix, allocation = held["prefix"], held["allocation"]
    return {
        "ip": ip,
        "network_number": None,
        "role": prefix.role,
        "node": None,
        "prefix": serialize.prefix(prefix),
        "allocation": None if allocation is None else serialize.ip_allocation(allocation),
    }


@router.get("/addressing/{nn}/", summary="The addresses an NN gets (no auth)")
def addresses(nn: NN) -> Any:
    """Router, WDS and LAN addresses for any valid NN, whether or not a node holds it."""
    return addressing.addresses_for(nn).to_dict()


@router.get("/nodes/{nn}/addresses/", summary="The addresses of a node")
def node_addresses(nn: NN, session: DbSession, caller: Reader) -> Any:
    """The addresses a recorded node derives from its NN."""
    if session.scalar(select(m.Node.id).where(m.Node.network_number == nn)) is None:
        raise NotFound(f"no node with network_number {nn}", field="network_number")
    return addressing.addresses_for(nn).to_dict()
