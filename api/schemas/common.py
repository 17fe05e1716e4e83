"""Pieces every resource schema shares: references, text limits, pages, partial models."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

# Text limits: names and addresses a few hundred characters, notes a few thousand.
Name = Annotated[str, StringConstraints(max_length=200)]
Short = Annotated[str, StringConstraints(max_length=100)]
Address = Annotated[str, StringConstraints(max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Altitude = Annotated[float, Field(ge=-500, le=10_000)]
NetworkNumber = Annotated[int, Field(ge=1, le=8000)]


class IdRef(BaseModel):
    """A reference given as an object: only its id counts."""

    model_config = ConfigDict(extra="allow")
    id: uuid.UUID


def _to_id(value: uuid.UUID | IdRef) -> uuid.UUID:
    return value.id if isinstance(value, IdRef) else value


# In requests a foreign key is a bare UUID string or an object carrying "id".
Ref = Annotated[uuid.UUID | IdRef, AfterValidator(_to_id)]


def _reject_nul(value: Any, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{where}: may not contain NUL characters")
    if isinstance(value, dict):
        for key, inner in value.items():
            _reject_nul(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _reject_nul(inner, f"{where}[{index}]")


class RecordIn(BaseModel):
    """Base of request bodies: unknown fields are ignored, as MeshDB's clients send whole records."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL text cannot hold NUL: refuse it here as a 422, not later as a 500.
        _reject_nul(data, "")
        return data


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
    """The PATCH twin of a create schema: every field optional, limits kept, no null for required."""
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation | None, optional)

    def no_null_for_required(cls: Any, data: Any) -> Any:
        if isinstance(data, dict):
            for key in required:
                if key in data and data[key] is None:
                    raise ValueError(f"{key}: may not be null")
        return data

    return create_model(
        name,
        __base__=RecordIn,
        __validators__={"_no_null": model_validator(mode="before")(no_null_for_required)},
        **fields,
    )
