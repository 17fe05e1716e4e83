"""Allocation from a static prefix: the first free address, or the first free /31 for a link."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from api.deps import DbSession, Writer
from api.resources import ERRORS
from api.schemas.ipam import AllocateIn, IpAllocationOut
from api.serialize import ip_allocation
from ipam.numbering import allocations

router = APIRouter(prefix="/api/v1/prefixes", tags=["prefixes"], responses=ERRORS)


@router.post(
    "/{prefix_id}/allocate/",
    status_code=201,
    response_model=IpAllocationOut,
    summary="Take the first free address (or /31 for a link) of a prefix",
)
def allocate(prefix_id: uuid.UUID, body: AllocateIn, session: DbSession, caller: Writer) -> Any:
    """Allocate under a lock held until commit: two callers never get the same space."""
    made = allocations.allocate(
        session,
        prefix_id,
        caller.name,
        device=body.device,
        link=body.link,
        prefixlen=body.prefix_length,
        description=body.description,
    )
    return ip_allocation(made)
