"""Request-scoped dependencies: the database session and the caller's token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ipam.enums import TokenRole
from ipam.tokens import authenticate

RANK = {TokenRole.READ_ONLY: 0, TokenRole.INSTALLER: 1, TokenRole.ADMIN: 2}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit on success, roll back on raise."""
    with request.app.state.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a failed commit
# can never be answered with a success.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Caller:
    """Who is asking: a token's name and role."""

    name: str
    role: TokenRole


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and secret.strip():
        return secret.strip()
    return None


def require(role: TokenRole) -> Callable[..., Caller]:
    """A dependency that lets through tokens of at least this role (401 none, 403 too weak)."""

    def check(request: Request, session: DbSession) -> Caller:
        # The request's own session: one connection per request, token check included.
        secret = _bearer(request)
        if secret is None:
            raise HTTPException(401, "authentication required: send Authorization: Bearer <token>")
        token = authenticate(session, secret)
        if token is None:
            raise HTTPException(401, "invalid or revoked token")
        caller = Caller(token.name, TokenRole(token.role))
        if RANK[caller.role] < RANK[role]:
            raise HTTPException(403, f"role {caller.role} may not do this; needs {role}")
        return caller

    return check


Reader = Annotated[Caller, Depends(require(TokenRole.READ_ONLY))]
Writer = Annotated[Caller, Depends(require(TokenRole.INSTALLER))]
Admin = Annotated[Caller, Depends(require(TokenRole.ADMIN))]
