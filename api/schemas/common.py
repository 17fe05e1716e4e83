"""Pieces every resource schema shares: references, text limits, pages, partial models."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ipam.errors import Invalid
from ipam.records import phones

# Text limits: names and addresses a few hundred characters, notes a few thousand.
Name = Annotated[str, StringConstraints(max_length=200)]
Short = Annotated[str, StringConstraints(max_length=100)]
Address = Annotated[str, StringConstraints(max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Altitude = Annotated[float, Field(ge=-500, le=10_000)]
NetworkNumber = Annotated[int, Field(ge=1, le=8000)]


def _phone(value: str, info: ValidationInfo) -> str:
    """E.164 by ipam/records/phones.py, one rule for the join form and the records API."""
    try:
        return phones.normalise_phone(value, field=info.field_name or "phone_number")
    except Invalid as exc:
        # The reason goes in as context: user text in a template could hold "{...}".
        reason = exc.message.partition(": ")[2]
        raise PydanticCustomError("phone_number_invalid", "{reason}", {"reason": reason}) from exc


def _blank_is_none(value: Any) -> Any:
    """An empty phone box means no phone (MeshDB's `phone_number` is blank=True)."""
    return None if isinstance(value, str) and not value.strip() else value


PhoneNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_phone)]
OptionalPhoneNumber = Annotated[PhoneNumber | None, BeforeValidator(_blank_is_none)]


def _ip_text(value: Any) -> Any:
    """IP addresses and networks are written as text: JSON's 5 or true is not 0.0.0.5."""
    if isinstance(value, int | float):  # bool is an int
        raise ValueError("must be an IP address or network written as a string")
    return value


IpAddress = Annotated[IPv4Address | IPv6Address, BeforeValidator(_ip_text)]
IpNetwork = Annotated[IPv4Network | IPv6Network, BeforeValidator(_ip_text)]


def _id_of(value: Any) -> Any:
    """A reference object's "id"; anything else is left for the UUID check."""
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value


_REF_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "uuid"},
        {
            "type": "object",
            "properties": {"id": {"type": "string", "format": "uuid"}},
            "required": ["id"],
        },
    ]
}

# In requests a foreign key is a bare UUID string or an object carrying "id" (other keys, such
# as the network_number responses add, are ignored). One UUID check, so an error names the field.
Ref = Annotated[uuid.UUID, BeforeValidator(_id_of), WithJsonSchema(_REF_SCHEMA)]

NUMBER_KEYS = ("network_number", "install_number")


class KeyRef(BaseModel):
    """A reference by a number key (api/refs.py resolves it), with the id when also given."""

    key: Literal["network_number", "install_number"]
    value: Annotated[int, Field(ge=1, le=2**31 - 1)]
    id: uuid.UUID | None = None


def _id_or_key(value: Any) -> Any:
    """A reference object's "id", or a KeyRef's fields when it names a number key."""
    if isinstance(value, dict):
        keys = [k for k in NUMBER_KEYS if value.get(k) is not None]
        if keys:
            return {"key": keys[0], "value": value[keys[0]], "id": value.get("id")}
    return _id_of(value)


# A reference to a node or an install may also name it by its number, as MeshDB's
# NestedKeyObjectRelatedField allows ({"network_number": 101}, {"install_number": 5}); when the
# id is given too, both must name the same record (api/refs.py).
KeyedRef = Annotated[
    uuid.UUID | KeyRef,
    BeforeValidator(_id_or_key),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "uuid"},
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "network_number": {"type": "integer", "minimum": 1},
                        "install_number": {"type": "integer", "minimum": 1},
                    },
                },
            ]
        }
    ),
]


def _reject_nul(value: Any, where: str) -> None:
    # A stack, not recursion: a value nested a thousand deep (JSON allows it) must be a 422,
    # not a RecursionError and a 500. Pushed in reverse so the first NUL in order is named.
    pending = [(value, where)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f"{where}: may not contain NUL characters")
        if isinstance(value, dict):
            items = [(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()]
            pending.extend(reversed(items))
        elif isinstance(value, list):
            pending.extend(reversed([(v, f"{where}[{i}]") for i, v in enumerate(value)]))


class RecordIn(BaseModel):
    """Base of request bodies: unknown fields are ignored (clients send back whole records)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # PostgreSQL text cannot hold NUL: refuse it here as a 422 naming the field, not
        # later as a 500.
        _reject_nul(value, info.field_name or "")
        return value


class RecordOut(BaseModel):
    """Base of responses."""

    id: uuid.UUID
    created: datetime
    updated: datetime


class Ref_(BaseModel):
    """A reference in a response."""

    id: uuid.UUID


class NodeRef(Ref_):
    """A reference to a node, with its network number."""

    network_number: int | None


class InstallRef(Ref_):
    """A reference to an install, with its install number."""

    install_number: int


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """MeshDB's (Django REST framework's) page shape."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


class ErrorItem(BaseModel):
    """One broken rule."""

    field: str
    rule: str
    message: str
    allowed: list[Any] | None = None


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a sentence, and the fields at fault."""

    detail: str
    errors: list[ErrorItem] = []


def partial(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The PATCH twin of a create schema: every field may be left out, types and limits kept."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        # Same annotation: a field the create schema does not let be null stays non-null
        # (a 422 naming it), and an omitted field is simply not set (model_fields_set).
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation, optional)
    return create_model(name, __base__=RecordIn, **fields)
