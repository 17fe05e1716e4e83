"""`meshkeeper import|export installs|members`: MeshDB's bulk CSV through the API's own schemas."""

from __future__ import annotations

import json
import sys
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from api.bulk import SCHEMAS
from ipam.errors import DomainError
from ipam.imports.csv_format import CLI_ACTOR, ImportRejected
from ipam.imports.csv_io import export_csv, import_csv


def cli_export(sessions: sessionmaker[Session], kind: str, out_stream: IO[str]) -> None:
    """Write the kind's CSV to a text stream (open files with newline='')."""
    with sessions() as session:
        for chunk in export_csv(session, kind):
            out_stream.write(chunk)


def cli_import(
    sessions: sessionmaker[Session],
    kind: str,
    in_stream: IO[bytes] | IO[str],
    *,
    dry_run: bool,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Import a file in one transaction and print the report: 0 done, 1 bad rows, 2 bad file."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        data = in_stream.read()
    except UnicodeDecodeError:
        print("error: encoding: the file is not UTF-8; save it as CSV UTF-8", file=err)
        return 2
    try:
        with sessions() as session, session.begin():
            result = import_csv(
                session, kind, data, actor=CLI_ACTOR, dry_run=dry_run, schemas=SCHEMAS[kind]
            )
    except ImportRejected as exc:
        print(f"error: {exc.message}", file=err)
        for row in exc.extra["rows"]:
            for problem in row["errors"]:
                print(f"row {row['row']}: {problem['field']}: {problem['message']}", file=err)
        return 1
    except DomainError as exc:
        print(f"error: {exc.message}", file=err)
        return 2
    print(result.as_json()["detail"], file=out)
    if result.install_numbers:
        print("install numbers: " + json.dumps(result.install_numbers), file=out)
    return 0
