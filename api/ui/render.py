"""Rendering a console page: one Jinja2 environment, the signed-in person and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def _when(value: Any) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM' (UTC), or an empty string."""
    if not value:
        return ""
    return str(value).replace("T", " ")[:16]


TEMPLATES.env.filters["when"] = _when


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page; the template sees `viewer` (who is signed in) beside the context."""
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
