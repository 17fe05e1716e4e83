"""The one place domain and validation errors become HTTP answers (never a 500 for bad input)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from api.retry import RETRY
from ipam.db_guard import timed_out
from ipam.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    BadRequest: 400,
    PreconditionFailed: 412,
    Unavailable: 503,
}


def error_body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON every error answers with."""
    return {"detail": detail, "errors": errors or []}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _whole_body(err: dict[str, Any]) -> bool:
    """An error about the body as a whole: not JSON, not an object, or absent."""
    return err["type"] == "json_invalid" or tuple(err.get("loc", ())) == ("body",)


def _item(err: dict[str, Any]) -> dict[str, Any]:
    ctx = err.get("ctx") or {}
    # json_invalid's loc ends in a character position, not a field.
    field = "body" if _whole_body(err) else _field(tuple(err.get("loc", ())))
    item = {"field": field, "rule": err["type"], "message": err["msg"]}
    expected = ctx.get("expected")
    if err["type"] == "enum" and isinstance(expected, str):
        item["allowed"] = [part.strip(" '") for part in expected.replace(" or ", ",").split(",")]
    return item


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as the `errors` items of an error body."""
    return [_item(e) for e in errors]


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    items = [_item(e) for e in errors]
    # A body that is not a JSON object at all is a malformed request (400); a nested value
    # of the wrong shape (e.g. a reference that is neither a UUID nor {"id": ...}) is a 422.
    if any(_whole_body(e) for e in errors):
        return JSONResponse(error_body("malformed JSON body", items), status_code=400)
    summary = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
    return JSONResponse(error_body(f"invalid request: {summary}", items), status_code=422)


def _domain(request: Request, exc: DomainError) -> JSONResponse:
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    item = {"field": exc.field or "body", "rule": type(exc).__name__, "message": exc.message}
    if "allowed" in exc.extra:
        item["allowed"] = exc.extra["allowed"]
    body = error_body(exc.message, [item])
    body.update({k: v for k, v in exc.extra.items() if k != "allowed"})
    return JSONResponse(body, status_code=status)


def _http(request: Request, exc: HTTPException) -> JSONResponse:
    return JSONResponse(
        error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # A stall is logged once by the engine's guard (ipam/db_guard.py), not once a request.
    level = logging.DEBUG if timed_out(exc) else logging.WARNING
    log.log(level, "database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    return JSONResponse(
        error_body("database unavailable, try again shortly"),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        if exc.connection_invalidated and not timed_out(exc):
            # A pooled connection the server dropped (a restart): a read may run again.
            request.scope[RETRY] = True
        return _database_down(request, exc)
    if isinstance(exc, DataError):
        # A value that passed validation but not PostgreSQL's own checks: still the client's.
        return JSONResponse(error_body(f"value rejected: {exc.orig}"), status_code=422)
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("internal database error"), status_code=500)


def install(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)  # type: ignore[arg-type]
