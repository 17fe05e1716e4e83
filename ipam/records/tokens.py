"""API tokens: made once, stored as a hash, looked up by that hash."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import TokenRole
from ipam.errors import Conflict, Invalid, NotFound
from ipam.records import versions

PREFIX_LEN = 12


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _store(session: Session, name: str, role: TokenRole, secret: str) -> None:
    if session.scalar(select(m.ApiToken).where(m.ApiToken.name == name)) is not None:
        raise Conflict(f"name: a token named {name!r} exists", field="name")
    session.add(
        m.ApiToken(name=name, role=role, key_prefix=secret[:PREFIX_LEN], key_hash=_hash(secret))
    )
    session.flush()


def create_token(session: Session, name: str, role: TokenRole) -> str:
    """Store a new token under a unique name and return its secret (shown only this once)."""
    secret = "mk_" + secrets.token_urlsafe(32)
    _store(session, name, role, secret)
    return secret


# DRF's tokens (MeshDB's) are 40 hexadecimal characters; anything this long and printable is
# accepted, so a key from another system can be kept too.
MIN_IMPORTED_KEY = 20


def import_token(session: Session, name: str, role: TokenRole, key: str) -> None:
    """Keep an existing key (e.g. a MeshDB token) working: only its hash is stored."""
    if len(key) < MIN_IMPORTED_KEY or len(key) > 256 or not key.isprintable() or " " in key:
        raise Invalid(
            f"key: {MIN_IMPORTED_KEY} to 256 printable characters without spaces", field="key"
        )
    if identify(session, key).name is not None:
        raise Conflict("key: this key is already a token", field="key")
    _store(session, name, role, key)


class Identity(NamedTuple):
    """Who a secret belongs to (None, None if nobody) and the data version it was read at."""

    name: str | None
    role: str | None
    version: versions.Versions


# One round trip for the two things every read needs. The secret's hash is looked up, never
# the secret: timing can at most tell an attacker about a SHA-256 digest, which gives no way
# back to a secret.
_IDENTIFY = text(
    f"SELECT t.name, t.role, {versions.COLUMNS} FROM (SELECT 1) AS one "
    "LEFT JOIN api_token AS t ON t.key_prefix = :prefix AND t.key_hash = :digest "
    "AND t.revoked_at IS NULL"
)


def identify(session: Session, secret: str) -> Identity:
    """The live token this secret belongs to, with the current version (ipam/versions.py)."""
    if "\x00" in secret:
        # No token holds a NUL, and PostgreSQL text cannot be asked for one.
        return Identity(None, None, versions.current(session))
    row = session.execute(_IDENTIFY, {"prefix": secret[:PREFIX_LEN], "digest": _hash(secret)}).one()
    return Identity(row[0], row[1], versions.from_row(row[2:]))


def secret_digest(secret: str) -> str:
    """What is stored of a secret: its SHA-256, in hex."""
    return _hash(secret)


def live_digests(session: Session, digests: Collection[str]) -> set[str]:
    """Which of these stored digests still belong to a token that is not revoked."""
    if not digests:
        return set()
    stmt = select(m.ApiToken.key_hash).where(
        m.ApiToken.key_hash.in_(list(digests)), m.ApiToken.revoked_at.is_(None)
    )
    return set(session.scalars(stmt))


def list_tokens(session: Session) -> list[m.ApiToken]:
    """Every token, newest first, secrets never included."""
    return list(session.scalars(select(m.ApiToken).order_by(m.ApiToken.created.desc())))


def revoke_token(session: Session, name: str) -> m.ApiToken:
    """Revoke a token by name; it stops working at once."""
    token = session.scalar(select(m.ApiToken).where(m.ApiToken.name == name))
    if token is None or token.revoked_at is not None:
        raise NotFound(f"name: no live token named {name!r}", field="name")
    token.revoked_at = datetime.now(UTC)
    session.flush()
    return token


def has_tokens(session: Session) -> bool:
    """True once any token was ever made (the first run makes the admin token)."""
    return bool(session.scalar(select(func.count()).select_from(m.ApiToken)))
