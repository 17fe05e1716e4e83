"""Request-scoped dependencies: the database session and the caller's token."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ipam import db_guard
from ipam.enums import TokenRole
from ipam.records import people, versions
from ipam.records.tokens import identify

RANK = {TokenRole.READ_ONLY: 0, TokenRole.INSTALLER: 1, TokenRole.ADMIN: 2}
# A console sign-in is a cookie; the same person may then call the API from the page. Requests
# that change something must also carry the session's CSRF token (SameSite alone is not enough:
# sibling subdomains and old browsers), in this header or, for form posts, the form's field.
SESSION_COOKIE = "meshkeeper_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: commit on success, roll back on raise."""
    guard = db_guard.guard_of(request.app.state.engine)
    if guard is not None and guard.stalled:
        # Known stalled: answer 503 now rather than wait out the deadline again (a probe in
        # the background clears this when the server answers).
        raise db_guard.DatabaseStalled("database stalled: not answering")
    # Making a session touches no connection, so it is made here on the event loop. Ending
    # it talks to PostgreSQL only if a transaction is still open; only then is a worker
    # thread needed (a read that ended its own transaction is closed right here).
    session = request.app.state.sessions()
    ok = False
    try:
        yield session
        ok = True
    finally:
        if session.in_transaction():
            # Shielded: a cancelled request (client gone) must still give its connection back.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_end, session, ok)
        else:
            session.close()


def _end(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": the commit happens before the response is sent, so a failed commit
# can never be answered with a success.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Caller:
    """Who is asking: a token's name and role."""

    name: str
    role: TokenRole


def bearer(request: Request) -> str | None:
    """The secret of an `Authorization: Bearer` (or `Token`) header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and secret.strip():
        return secret.strip()
    return None


def require(role: TokenRole) -> Callable[..., Caller]:
    """A dependency that lets through tokens of at least this role (401 none, 403 too weak)."""

    def check(request: Request, session: DbSession) -> Caller:
        # The request's own session: one connection per request, token check included.
        secret = bearer(request)
        if secret is None:
            caller = person_of(request, session)
        else:
            identity = identify(session, secret)
            # Read in the same round trip: cached answers (api/cache.py) are checked against it.
            request.state.version = identity.version
            if identity.name is None or identity.role is None:
                raise HTTPException(401, "invalid or revoked token")
            caller = Caller(identity.name, TokenRole(identity.role))
        if RANK[caller.role] < RANK[role]:
            raise HTTPException(403, f"role {caller.role} may not do this; needs {role}")
        return caller

    return check


Reader = Annotated[Caller, Depends(require(TokenRole.READ_ONLY))]
Writer = Annotated[Caller, Depends(require(TokenRole.INSTALLER))]
Admin = Annotated[Caller, Depends(require(TokenRole.ADMIN))]


def person_of(request: Request, session: Session) -> Caller:
    """The signed-in person behind the console's cookie (401 without one, 403 without CSRF)."""
    key = request.cookies.get(SESSION_COOKIE)
    who = people.signed_in(session, key) if key else None
    if who is None:
        raise HTTPException(401, "authentication required: send Authorization: Bearer <token>")
    request.state.version = versions.current(session)
    request.state.csrf_token = who.csrf_token
    if request.method not in SAFE_METHODS and not _csrf_ok(request, who.csrf_token):
        raise HTTPException(403, f"csrf: send the session's CSRF token in {CSRF_HEADER}")
    return Caller(who.username, who.role)


def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return secrets.compare_digest(sent.encode(), expected.encode())
