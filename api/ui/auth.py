"""Signing in and out of the console, and the dependency every page takes: who is looking."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RANK, SESSION_COOKIE, DbSession
from api.ui.render import page
from ipam.enums import TokenRole
from ipam.records import people
from ipam.records.people import SignedIn

router = APIRouter(prefix="/ui", include_in_schema=False)


class SignInNeeded(Exception):
    """Raised by a page when nobody is signed in: the answer is the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class Forbidden(Exception):
    """Raised by a page when the person's role may not do this."""


def install(app: FastAPI) -> None:
    """Answer SignInNeeded with a redirect to the sign-in page, and Forbidden with a 403 page."""

    @app.exception_handler(SignInNeeded)
    def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(f"/ui/login?next={quote(exc.path)}", status_code=303)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "forbidden.html", status_code=403, reason=str(exc))


def viewer(request: Request, session: DbSession) -> SignedIn:
    """The signed-in person (a page redirects to sign-in without one)."""
    key = request.cookies.get(SESSION_COOKIE)
    who = people.signed_in(session, key) if key else None
    if who is None:
        raise SignInNeeded(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    request.state.viewer = who
    return who


Viewer = Annotated[SignedIn, Depends(viewer)]


def allow(who: SignedIn, role: TokenRole) -> None:
    """Refuse (403) a person whose role is below `role`."""
    if RANK[who.role] < RANK[role]:
        raise Forbidden(f"your role ({who.role}) may not do this; it needs {role}")


def check_csrf(who: SignedIn, sent: str) -> None:
    """A state-changing form must carry the session's CSRF token."""
    if not secrets.compare_digest(sent.encode(), who.csrf_token.encode()):
        raise Forbidden("this form is stale or was not sent by the console; reload and try again")


def _safe_next(target: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/ui/") -> Response:
    """The sign-in form."""
    return page(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/ui/",
) -> Response:
    """Check the password; on success set the session cookie and go where the person was going."""
    lifetime = timedelta(hours=request.app.state.settings.console_session_hours)
    key = people.sign_in(session, username, password, lifetime)
    if key is None:
        error = "Wrong username or password, or the account is disabled."
        return page(request, "login.html", status_code=401, next=_safe_next(next), error=error)
    answer = RedirectResponse(_safe_next(next), status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return answer


@router.post("/logout")
def logout(
    request: Request, session: DbSession, who: Viewer, csrf_token: Annotated[str, Form()]
) -> Response:
    """End this browser's session."""
    check_csrf(who, csrf_token)
    people.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    answer = RedirectResponse("/ui/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
