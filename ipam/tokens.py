"""API tokens: made once, stored as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import TokenRole
from ipam.errors import Conflict, NotFound

PREFIX_LEN = 12


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, role: TokenRole) -> str:
    """Store a new token under a unique name and return its secret (shown only this once)."""
    if session.scalar(select(m.ApiToken).where(m.ApiToken.name == name)) is not None:
        raise Conflict(f"name: a token named {name!r} exists", field="name")
    secret = "mk_" + secrets.token_urlsafe(32)
    session.add(
        m.ApiToken(name=name, role=role, key_prefix=secret[:PREFIX_LEN], key_hash=_hash(secret))
    )
    session.flush()
    return secret


def authenticate(session: Session, secret: str) -> m.ApiToken | None:
    """The live token this secret belongs to, or None."""
    if "\x00" in secret:
        return None  # no token holds a NUL, and PostgreSQL text cannot be asked for one
    candidates = session.scalars(
        select(m.ApiToken).where(
            m.ApiToken.key_prefix == secret[:PREFIX_LEN], m.ApiToken.revoked_at.is_(None)
        )
    ).all()
    digest = _hash(secret)
    match = None
    for token in candidates:
        # Compare every candidate so the time taken does not say which one matched.
        if hmac.compare_digest(token.key_hash, digest):
            match = token
    return match


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
