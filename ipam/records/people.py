"""People who sign in to the console: accounts, password checks and browser sessions.

Passwords are hashed with Argon2id (argon2-cffi, the reference implementation's binding, with
its recommended parameters); a browser session is a random key whose SHA-256 alone is stored,
as API tokens are, with a CSRF token of its own for every state-changing request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import TokenRole
from ipam.errors import Conflict, Invalid, NotFound

_HASHER = PasswordHasher()
MIN_PASSWORD = 10  # NIST SP 800-63B asks for at least 8; a shared box deserves a little more
# A hash to check against when the username is unknown, so a wrong name costs as long as a
# wrong password and timing does not tell which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class SignedIn(NamedTuple):
    """Who a browser session belongs to, and its CSRF token."""

    username: str
    role: TokenRole
    csrf_token: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password: at least {MIN_PASSWORD} characters", field="password")


def create_person(session: Session, username: str, role: TokenRole, password: str) -> m.Person:
    """A new account; the username is unique and the password long enough."""
    username = username.strip()
    if not username or len(username) > 100 or not username.isprintable():
        raise Invalid("username: 1 to 100 printable characters", field="username")
    _check_password(password)
    if session.scalar(select(m.Person).where(m.Person.username == username)) is not None:
        raise Conflict(f"username: {username!r} exists", field="username")
    person = m.Person(username=username, role=role, password_hash=_HASHER.hash(password))
    session.add(person)
    session.flush()
    return person


def _person(session: Session, username: str) -> m.Person:
    person = session.scalar(select(m.Person).where(m.Person.username == username))
    if person is None:
        raise NotFound(f"username: no person named {username!r}", field="username")
    return person


def set_password(session: Session, username: str, password: str) -> None:
    """Change a password; every browser session of that person ends."""
    _check_password(password)
    person = _person(session, username)
    person.password_hash = _HASHER.hash(password)
    session.execute(delete(m.ConsoleSession).where(m.ConsoleSession.person_id == person.id))
    session.flush()


def disable_person(session: Session, username: str) -> None:
    """Disable an account at once: it cannot sign in and its sessions end."""
    person = _person(session, username)
    person.disabled_at = person.disabled_at or datetime.now(UTC)
    session.execute(delete(m.ConsoleSession).where(m.ConsoleSession.person_id == person.id))
    session.flush()


def list_people(session: Session) -> list[m.Person]:
    """Every account, by username."""
    return list(session.scalars(select(m.Person).order_by(m.Person.username)))


def sign_in(session: Session, username: str, password: str, lifetime: timedelta) -> str | None:
    """A new session key for the right password of a live account; None otherwise."""
    person = session.scalar(select(m.Person).where(m.Person.username == username.strip()))
    try:
        _HASHER.verify(person.password_hash if person else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if person is None or person.disabled_at is not None:
        return None
    if _HASHER.check_needs_rehash(person.password_hash):
        person.password_hash = _HASHER.hash(password)
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(delete(m.ConsoleSession).where(m.ConsoleSession.expires_at < now))
    session.add(
        m.ConsoleSession(
            key_hash=_digest(key),
            person_id=person.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return key


def signed_in(session: Session, key: str) -> SignedIn | None:
    """The live session a cookie's key belongs to, or None."""
    if "\x00" in key:
        return None
    row = session.execute(
        select(m.Person.username, m.Person.role, m.ConsoleSession.csrf_token)
        .join(m.Person, m.Person.id == m.ConsoleSession.person_id)
        .where(
            m.ConsoleSession.key_hash == _digest(key),
            m.ConsoleSession.expires_at > datetime.now(UTC),
            m.Person.disabled_at.is_(None),
        )
    ).first()
    return SignedIn(row[0], TokenRole(row[1]), row[2]) if row else None


def live_session_digests(session: Session, digests: Collection[str]) -> set[str]:
    """Which of these digests still belong to a live session (signed in, not expired, enabled)."""
    if not digests:
        return set()
    stmt = (
        select(m.ConsoleSession.key_hash)
        .join(m.Person, m.Person.id == m.ConsoleSession.person_id)
        .where(
            m.ConsoleSession.key_hash.in_(list(digests)),
            m.ConsoleSession.expires_at > datetime.now(UTC),
            m.Person.disabled_at.is_(None),
        )
    )
    return set(session.scalars(stmt))


def sign_out(session: Session, key: str) -> None:
    """End one browser session."""
    session.execute(delete(m.ConsoleSession).where(m.ConsoleSession.key_hash == _digest(key)))
