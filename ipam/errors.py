"""Domain errors; api/errors.py maps each to one HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a client can cause; carries the field and the rule it broke."""

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra


class NotFound(DomainError):
    """The record asked for does not exist (404)."""


class Conflict(DomainError):
    """The change collides with other records (409): a taken number, a record still in use."""


class Invalid(DomainError):
    """The values break a rule of the records (422)."""


class PreconditionFailed(DomainError):
    """The client's copy is stale: If-Match names a version the record has left (412)."""


class BadRequest(DomainError):
    """The request itself is malformed (400): an unknown filter, no filter."""


class Unavailable(DomainError):
    """An outside service the answer needs did not answer (503): the client may retry."""
