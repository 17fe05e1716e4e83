"""ETags of records and If-Match on writes, so a stale copy is never written back (RFC 9110).

A record's ETag is a hash of its stored version: every column (`updated` among them) and
its many-to-many ids, as history records them (`ipam.records.changes.snapshot`). Any change
to the record changes it; observed measurements shown beside a record are not part of it,
so a poll never makes an admin's copy stale. The tag is strong, as If-Match requires (RFC
9110 13.1.1: a weak tag never matches). A write without If-Match behaves as before.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from ipam.errors import PreconditionFailed
from ipam.records.changes import RecordKind, load, snapshot


def etag_of_snapshot(values: dict[str, Any]) -> str:
    """The strong ETag of one version of a record."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def etag_of(obj: Any, kind: RecordKind) -> str:
    """The ETag of a loaded record (its many-to-many sides loaded)."""
    return etag_of_snapshot(snapshot(obj, kind))


def current_etag(session: Session, kind: RecordKind, record_id: uuid.UUID) -> str:
    """The record's ETag as stored now (404 when it does not exist)."""
    return etag_of(load(session, kind, record_id), kind)


def if_match_holds(header: str, etag: str) -> bool:
    """Whether an If-Match value lets a write to a record with this ETag go ahead."""
    wanted = [part.strip() for part in header.split(",") if part.strip()]
    return "*" in wanted or etag in wanted  # W/"x" never equals a strong tag


def check_if_match(
    request: Request, session: Session, kind: RecordKind, record_id: uuid.UUID
) -> None:
    """Lock the record and refuse (412) a write whose If-Match names another version."""
    header = request.headers.get("if-match")
    if header is None:
        return
    # Locked before comparing, held to commit: no other write lands between check and write.
    tag = etag_of(load(session, kind, record_id, lock=True), kind)
    if not if_match_holds(header, tag):
        raise PreconditionFailed(
            f"{kind.singular} {record_id} changed since your copy (If-Match {header[:100]}, "
            f"now {tag}): read it again and reapply your change",
            field="If-Match",
            etag=tag,
        )
