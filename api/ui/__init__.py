"""The operator console: server-rendered pages over the same services the API uses, at /ui/."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.errors import STATUS
from api.ui import auth, join, mesh, pages, records
from api.ui.render import page
from ipam.errors import DomainError

STATIC = Path(__file__).resolve().parent / "static"


def install(app: FastAPI) -> None:
    """Mount the console's routes and assets, and send `/` to it."""
    auth.install(app)
    api_answer = app.exception_handlers[DomainError]

    def domain_error(request: Request, exc: Exception) -> Response:
        # The API answers JSON; a person in the console gets a page saying the same thing.
        if not request.url.path.startswith("/ui/") or not isinstance(exc, DomainError):
            return api_answer(request, exc)  # type: ignore[return-value]
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        heading = "Not found" if status == 404 else "That did not work"
        return page(request, "error.html", status_code=status, heading=heading, message=exc.message)

    app.add_exception_handler(DomainError, domain_error)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    for router in (auth.router, pages.router, mesh.router, records.router, join.router):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)
