"""References on write by any of the target's keys, as MeshDB's NestedKeyObjectRelatedField.

MeshDB lets a client name a node as `{"network_number": 101}` and an install as
`{"install_number": 5}` as well as by `{"id": ...}` (`meshapi/serializers/
nested_key_object_related_field.py`). The request schema (api/schemas/common.py `Ref`) keeps
such a reference as `{"key", "value", "id"}`; this turns it into the record's id before the
change is made, and refuses keys that name different records.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.errors import Invalid

# The number keys a reference may use, and the column each one is.
NUMBER_KEYS: dict[str, Any] = {
    "network_number": m.Node.network_number,
    "install_number": m.Install.install_number,
}


def _resolve_one(session: Session, field: str, ref: dict[str, Any]) -> uuid.UUID:
    column = NUMBER_KEYS[ref["key"]]
    found = session.scalar(select(column.class_.id).where(column == ref["value"]))
    what = f"{ref['key']} {ref['value']}"
    if found is None:
        raise Invalid(f"{field}: nothing has {what}", field=field)
    if ref["id"] is not None and ref["id"] != found:
        raise Invalid(f"{field}: id {ref['id']} and {what} name different records", field=field)
    return found


def _is_key_ref(value: Any) -> bool:
    return isinstance(value, dict) and value.get("key") in NUMBER_KEYS and "value" in value


def resolve(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """The values with every by-number reference replaced by its record's id."""
    out = {}
    for field, value in values.items():
        if _is_key_ref(value):
            value = _resolve_one(session, field, value)
        elif isinstance(value, list) and any(_is_key_ref(v) for v in value):
            value = [_resolve_one(session, field, v) if _is_key_ref(v) else v for v in value]
        out[field] = value
    return out
