"""Network numbers over HTTP: assignment, what a number means, and the addresses it derives."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from api import serialize
from api.deps import DbSession, Reader, Writer
from api.resources import ERRORS
from api.serialize import node_ref
from ipam import models as m
from ipam.enums import InstallStatus
from ipam.errors import NotFound
from ipam.numbering import addressing, allocations
from ipam.numbering import nn_assign as assign

router = APIRouter(prefix="/api/v1", tags=["network numbers"], responses=ERRORS)

NN = Annotated[int, Path(ge=1, le=8000, description="network number")]


class AssignIn(BaseModel):
    """Which install wants a network number."""

    install_number: int = Field(ge=1, le=2**31 - 1)


class AssignOut(BaseModel):
    """The number given (or already held)."""

    detail: str
    building_id: str
    install_id: str
    install_number: int
    network_number: int
    created: bool


@router.post(
    "/nn-assign/",
    response_model=AssignOut,
    status_code=201,
    summary="Assign an NN",
    responses={200: {"model": AssignOut, "description": "the install already had its number"}},
)
def nn_assign(body: AssignIn, session: DbSession, caller: Writer) -> Any:
    """MeshDB's NN assignment form: 201 when a number is given, 200 when it already was."""
    result = assign.assign(session, body.install_number, caller.name)
    # Committed here, in this worker thread: the number lock is held until commit, and every
    # other assignment waits on it (a commit left to the request's end waits for a thread).
    session.commit()
    verb = "assigned" if result.created else "already assigned"
    answer = {
        "detail": f"NN {result.network_number} {verb} to install {result.install.install_number}",
        "building_id": str(result.building.id),
        "install_id": str(result.install.id),
        "install_number": result.install.install_number,
        "network_number": result.network_number,
        "created": result.created,
    }
    return JSONResponse(answer, status_code=201 if result.created else 200)


@router.get("/disambiguate-number/", summary="What a number means: NN, install number, or both")
def disambiguate(
    session: DbSession, caller: Reader, number: Annotated[int, Query(ge=1, le=2**31 - 1)]
) -> Any:
    """The node with that NN, the install with that number, and what the install resolves to."""
    node = session.scalar(select(m.Node).where(m.Node.network_number == number))
    install = session.scalars(
        select(m.Install)
        .where(m.Install.install_number == number)
        .options(joinedload(m.Install.node))
    ).first()
    return {
        "number": number,
        "node": node_ref(node),
        "install": None
        if install is None
        else {"id": install.id, "install_number": number, "status": install.status},
        "install_recycled_as_nn": install is not None
        and install.status == InstallStatus.NN_REASSIGNED,
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
