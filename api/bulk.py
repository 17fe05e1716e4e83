"""CSV export and import of installs and members (admin only), in MeshDB's column layout.

GET  /api/v1/{installs|members}/export.csv   text/csv, streamed from one query
POST /api/v1/{installs|members}/import.csv   body: the CSV (text/csv); ?dry_run=true validates only

The file format and the import rules are in `ipam/csv_io.py`. Include this router before the
generic resource routers: the trailing-slash spellings (export.csv/, import.csv/) would
otherwise be taken by /api/v1/<resource>/{key}/.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from api.deps import Admin, DbSession
from api.resources import ERRORS
from api.schemas.people import InstallIn, InstallPatch, MemberIn, MemberPatch
from ipam.imports import csv_format, csv_io

SCHEMAS = {
    "installs": csv_io.Schemas(InstallIn, InstallPatch),
    "members": csv_io.Schemas(MemberIn, MemberPatch),
}
# Bodies that are not a bare CSV: a browser form upload must send the file itself instead.
REFUSED_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded", "application/json")

router = APIRouter(tags=["csv"], responses=ERRORS)


async def csv_body(request: Request) -> bytes:
    """The request body, refused (413) as soon as it passes the size limit."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in REFUSED_TYPES:
        raise HTTPException(
            415,
            f"send the CSV file itself as the body (Content-Type: text/csv), not {content_type}",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > csv_format.MAX_BYTES:
        raise HTTPException(413, f"the file is larger than {csv_format.MAX_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > csv_format.MAX_BYTES:
            raise HTTPException(413, f"the file is larger than {csv_format.MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


CsvBody = Annotated[bytes, Depends(csv_body)]
DryRun = Annotated[bool, Query(description="validate every row, write nothing")]


def _export(kind: str, request: Request) -> StreamingResponse:
    """The CSV streamed by a session of its own (the request's closes before streaming)."""
    sessions = request.app.state.sessions

    def chunks() -> Any:
        with sessions() as session:
            yield from csv_io.export_csv(session, kind)

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


def _import(kind: str, data: bytes, session: Any, caller: Any, dry_run: bool) -> JSONResponse:
    result = csv_io.import_csv(
        session, kind, data, actor=caller.name, dry_run=dry_run, schemas=SCHEMAS[kind]
    )
    return JSONResponse(result.as_json())


def _routes(kind: str) -> None:
    """Export and import routes of one kind, with and without the trailing slash."""
    for suffix in ("", "/"):
        shown = suffix == ""

        @router.get(
            f"/api/v1/{kind}/export.csv{suffix}",
            summary=f"Export {kind} as CSV (MeshDB columns, plus id)",
            response_class=StreamingResponse,
            include_in_schema=shown,
        )
        def export(caller: Admin, request: Request) -> StreamingResponse:
            return _export(kind, request)

        @router.post(
            f"/api/v1/{kind}/import.csv{suffix}",
            summary=f"Import {kind} from CSV: all rows or none (a row with id updates)",
            include_in_schema=shown,
        )
        def import_(
            caller: Admin, session: DbSession, data: CsvBody, dry_run: DryRun = False
        ) -> JSONResponse:
            return _import(kind, data, session, caller, dry_run)


for _kind in csv_format.KINDS_CSV:
    _routes(_kind)
