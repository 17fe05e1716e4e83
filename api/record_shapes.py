"""One record exactly as `GET /api/v1/<resource>/<id>/` answers it, for whoever needs that shape.

MeshDB's webhooks carry the record as its API serializer shows it (drf-hooks'
HOOK_SERIALIZERS, src/meshdb/settings.py); meshkeeper's MeshDB-format webhooks do the same
with this function, which the CLI hands to the daemon (the daemon may not import the API).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import serialize
from api.resources import RESOURCES
from ipam.observed.snapshot import filled
from ipam.records.changes import KINDS


@cache
def _adapter(resource: str) -> TypeAdapter[Any]:
    out = next(r.out for r in RESOURCES if r.name == resource)
    return TypeAdapter(out)


def record_as_get(session: Session, resource: str, subject_id: str) -> dict[str, Any] | None:
    """The record's GET answer as JSON values; None when it is gone or not a record."""
    kind = KINDS.get(resource)
    if kind is None or resource not in {r.name for r in RESOURCES}:
        return None
    try:
        record_id = uuid.UUID(subject_id)
    except ValueError:
        return None
    model: Any = kind.model
    obj = session.scalars(select(model).where(model.id == record_id)).unique().first()
    if obj is None:
        return None
    # Observed state stands as markers in a rendered record (api/cache.py): read it now.
    shown = filled(session, serialize.render(session, resource, [obj])[0])
    result: dict[str, Any] = _adapter(resource).dump_python(
        _adapter(resource).validate_python(shown), mode="json"
    )
    return result
