"""What browser clients need: CORS, and JSON bodies read whatever their Content-Type.

MeshDB lets its own web forms and admin map call it from other origins
(`CORS_ALLOWED_ORIGINS` and `CORS_ALLOW_HEADERS` in MeshDB's `src/meshdb/settings.py`, with
the two reCAPTCHA token headers of `meshapi/util/constants.py`). meshkeeper takes the origins
from `MESHKEEPER_CORS_ORIGINS`; the public map feeds answer every origin (`*`), as they carry
no member data and any site's map may draw them.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# The headers MeshDB's clients send: its forms (meshforms) carry the reCAPTCHA tokens.
ALLOWED_HEADERS = ("Content-Type", "Authorization", "X-Recaptcha-V2-Token", "X-Recaptcha-V3-Token")
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Anonymous, member-free answers any site may read (api/mapdata.py).
PUBLIC_PREFIXES = ("/api/v1/mapdata/", "/api/v1/geojson/", "/api/v1/kml/", "/api/v1/geography/")
# MeshDB's form views call json.loads(request.body) whatever the Content-Type, and meshforms
# sends text/plain;charset=UTF-8 (a "simple" request, so no preflight is needed).
JSON_WHATEVER_TYPE = frozenset({"/api/v1/join/", "/api/v1/nn-assign/"})


class BrowserClients:
    """CORS for the configured origins (`*` on the public feeds), and JSON form bodies."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        options = {"allow_headers": ALLOWED_HEADERS, "allow_methods": ALLOWED_METHODS}
        self.public = CORSMiddleware(app, allow_origins=["*"], **options)  # type: ignore[arg-type]
        self.private = (
            CORSMiddleware(app, allow_origins=origins, max_age=600, **options)  # type: ignore[arg-type]
            if origins
            else app
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route the request through the CORS rules of its path."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] == "POST" and path in JSON_WHATEVER_TYPE:
            scope = _as_json(scope)
        target = self.public if path.startswith(PUBLIC_PREFIXES) else self.private
        await target(scope, receive, send)


def _as_json(scope: Scope) -> Scope:
    """The same request, its Content-Type said to be JSON (the body is parsed as JSON)."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    headers.append((b"content-type", b"application/json"))
    return {**scope, "headers": headers}
