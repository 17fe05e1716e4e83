"""CSV export and import of installs and members in MeshDB's bulk-install column layout.

Columns (MeshDB's templates, "How to bulk create installs"):

- installs: node,status,request_date,install_date,abandon_date,building,unit,roof_access,
  member,referral,notes,diy. `node` is a network number or a node UUID; `building` and
  `member` are UUIDs.
- members: name,primary_email_address,stripe_email_address,additional_email_addresses,
  phone_number,additional_phone_numbers,slack_handle,notes.

Export writes those columns in that order, then `id` (and `install_number` for installs).
Import accepts the columns in any order, case-insensitively; `building` and `member`
(installs) or `name` (members) must be present, and no unknown column may be.

Values:
- dates: MM/DD/YYYY (the template's) or ISO YYYY-MM-DD on import; ISO on export.
  `request_date` is a timestamp: it exports as ISO 8601 with its offset and imports from
  that, or from a bare date read as midnight UTC.
- booleans: 1/0, true/false, yes/no (any case) on import, empty for none; 1/0 on export.
- list columns (additional_email_addresses, additional_phone_numbers): ";" on export
  (no quoting needed in a spreadsheet); ";" or "," between items on import.
- an empty cell is "no value": a new record gets the API's default; an update clears a
  field that may be empty and keeps the current value of one that may not (status,
  roof_access, request_date, building, member, name); an empty list column clears the list.

Import semantics (MeshDB's import does the same): a row with an `id` updates that record
(like PATCH), a row without one creates a record (like POST); `install_number`, when given,
must be the record's own. Every row goes through the API's own schemas (passed in as
`Schemas`: pydantic lives in api/), all references are checked, and only when every row is
valid are the rows written, in file order, in the caller's transaction, through
`ipam.records.edits` (so each write has its history row and event). Any bad row means nothing is
written and `ImportRejected` carries a report per row. A dry run stops after validation:
writing and rolling back would burn install numbers (an identity sequence never rolls back).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.errors import DomainError
from ipam.imports.csv_format import (
    CHUNK,
    LAYOUTS,
    MAX_ROWS,
    REPORT_ROWS,
    FieldError,
    ImportRejected,
    Layout,
    Row,
    convert_row,
    format_cell,
    layout_of,
    read_table,
)
from ipam.records import edits
from ipam.records.changes import KINDS


def _export_columns(kind: str) -> tuple[Any, ...]:
    """Columns in header order; an install's node is two (its network number, else its id)."""
    layout = LAYOUTS[kind]
    model = KINDS[kind].model
    refs = {"node", "building", "member"}
    names = [
        f"{c.name}_id" if c.name in refs else c.name for c in (*layout.columns, *layout.extras)
    ]
    columns = tuple(getattr(model, name) for name in names)
    return (m.Node.network_number, *columns) if kind == "installs" else columns


def _export_select(kind: str) -> Any:
    """One query for the whole export (no ORM objects, no N+1)."""
    if kind == "installs":
        return (
            select(*_export_columns(kind))
            .outerjoin(m.Node, m.Node.id == m.Install.node_id)
            .order_by(m.Install.install_number)
        )
    return select(*_export_columns(kind)).order_by(m.Member.created, m.Member.id)


def export_cells(kind: str, row: Any) -> list[str]:
    """One result row as cells (installs: the node as its network number when it has one)."""
    values = list(row)
    if kind == "installs":
        number, node_id = values[0], values[1]
        values = [number if number is not None else node_id, *values[2:]]
    return [format_cell(v) for v in values]


def export_csv(session: Session, kind: str) -> Iterator[str]:
    """The CSV text in chunks, read from the database by a server-side cursor."""
    layout = layout_of(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(layout.header)
    result = session.execute(_export_select(kind).execution_options(yield_per=CHUNK))
    for partition in result.partitions():
        writer.writerows(export_cells(kind, row) for row in partition)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# --- importing ---


@dataclass(frozen=True)
class Schemas:
    """The API's create and patch schemas of one kind: the same rules as POST and PATCH."""

    create: type[BaseModel]
    patch: type[BaseModel]


@dataclass
class Op:
    """One validated row: create (record_id None) or update, with the values to write."""

    row: int
    record_id: uuid.UUID | None
    values: dict[str, Any]


@dataclass
class ImportResult:
    """What an import did (or, dry, would do)."""

    kind: str
    created: int = 0
    updated: int = 0
    created_ids: list[str] = field(default_factory=list)
    install_numbers: list[int] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        """The 200 answer."""
        verb = "would create" if self.dry_run else "created"
        body: dict[str, Any] = {
            "detail": f"{verb} {self.created} and "
            f"{'would update' if self.dry_run else 'updated'} {self.updated} {self.kind}",
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "created_ids": self.created_ids,
        }
        if self.kind == "installs":
            body["install_numbers"] = self.install_numbers
        return body


class _Errors:
    """Errors by row number."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[FieldError]] = {}

    def add(self, row: int, name: str, message: str) -> None:
        self.by_row.setdefault(row, []).append(FieldError(name, message))

    def fields(self, row: int) -> set[str]:
        return {e.field.split(".")[0] for e in self.by_row.get(row, [])}

    def reject(self) -> ImportRejected:
        numbers = sorted(self.by_row)
        shown = numbers[:REPORT_ROWS]
        more = f" (the first {REPORT_ROWS} are listed)" if len(numbers) > REPORT_ROWS else ""
        first = self.by_row[numbers[0]][0]
        return ImportRejected(
            f"{len(numbers)} row(s) have errors{more}, nothing was written; "
            f"first: row {numbers[0]}, {first.field}: {first.message}",
            field="rows",
            created=0,
            updated=0,
            rows_with_errors=len(numbers),
            rows=[
                {
                    "row": n,
                    "errors": [{"field": e.field, "message": e.message} for e in self.by_row[n]],
                }
                for n in shown
            ],
        )


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing(session: Session, column: Any, wanted: Iterable[Any], *extra: Any) -> dict:
    """column value -> (row) for the wanted values that exist, looked up CHUNK at a time."""
    found: dict[Any, Any] = {}
    for batch in _chunks(set(wanted)):
        for row in session.execute(select(column, *extra).where(column.in_(batch))):
            found[row[0]] = row
    return found


def _schema_errors(exc: ValidationError) -> list[FieldError]:
    return [FieldError(".".join(str(p) for p in e["loc"]) or "row", e["msg"]) for e in exc.errors()]


def _resolve_nodes(session: Session, ops: list[Op], errors: _Errors) -> None:
    """Network numbers in the node column become node ids (one query for the file)."""
    numbers = {op.values["node"] for op in ops if isinstance(op.values.get("node"), int)}
    nodes = _existing(session, m.Node.network_number, numbers, m.Node.id)
    for op in ops:
        number = op.values.get("node")
        if isinstance(number, int):
            if number in nodes:
                op.values["node"] = nodes[number].id
            else:
                errors.add(op.row, "node", f"no node with network number {number}")
                del op.values["node"]


def _check_targets(session: Session, layout: Layout, ops: list[Op], errors: _Errors) -> None:
    """Every id to update and every referenced record exists (one query per table)."""
    model = KINDS[layout.kind].model
    updates = [op for op in ops if op.record_id is not None]
    extra = (m.Install.install_number,) if layout.kind == "installs" else ()
    current = _existing(session, model.id, (op.record_id for op in updates), *extra)  # type: ignore[attr-defined]
    seen: dict[uuid.UUID | None, int] = {}
    for op in updates:
        if op.record_id not in current:
            errors.add(op.row, "id", f"no {KINDS[layout.kind].singular} with id {op.record_id}")
        elif op.record_id in seen:
            errors.add(op.row, "id", f"row {seen[op.record_id]} already updates this record")
        else:
            seen[op.record_id] = op.row
            given = op.values.get("install_number")
            if given is not None and given != current[op.record_id].install_number:
                errors.add(
                    op.row,
                    "install_number",
                    f"{given} is not this install's number "
                    f"({current[op.record_id].install_number}); it never changes",
                )
    if layout.kind != "installs":
        return
    for name, target in (("member", m.Member), ("building", m.Building), ("node", m.Node)):
        wanted = {op.values[name] for op in ops if op.values.get(name) is not None}
        found = _existing(session, target.id, wanted)
        for op in ops:
            value = op.values.get(name)
            if value is not None and value not in found:
                errors.add(op.row, name, f"no {target.__tablename__} with id {value}")


def plan_import(session: Session, kind: str, rows: list[Row], schemas: Schemas) -> list[Op]:
    """Validate every row (schemas, then references); ImportRejected if any is bad."""
    layout = layout_of(kind)
    errors = _Errors()
    ops: list[Op] = []
    for row in rows:
        if row.error:
            errors.add(row.number, "row", row.error)
            continue
        values, bad = convert_row(layout, row.cells)
        for problem in bad:
            errors.add(row.number, problem.field, problem.message)
        record_id = values.pop("id", None)
        if record_id is None and values.get("install_number") is not None:
            errors.add(
                row.number, "install_number", "given by the database: leave it empty for new rows"
            )
        ops.append(Op(row.number, record_id, values))
    if kind == "installs":
        _resolve_nodes(session, ops, errors)
    for op in ops:
        op.values = _validated(layout, schemas, op, errors)
    _check_targets(session, layout, ops, errors)
    if errors.by_row:
        raise errors.reject()
    return ops


def _validated(layout: Layout, schemas: Schemas, op: Op, errors: _Errors) -> dict[str, Any]:
    """The row's values as the API's schema gives them (POST's for creates, PATCH's for updates)."""
    failed = errors.fields(op.row)
    if op.record_id is None:
        data = {k: v for k, v in op.values.items() if v is not None and k not in failed}
        schema, unset_too = schemas.create, True
    else:
        data = {
            k: v
            for k, v in op.values.items()
            if k not in failed and (v is not None or layout.column(k).nullable)
        }
        schema, unset_too = schemas.patch, False
    try:
        return schema.model_validate(data).model_dump(exclude_unset=not unset_too)
    except ValidationError as exc:
        for problem in _schema_errors(exc):
            # A cell that did not parse is reported once, not again as "Field required".
            if problem.field.split(".")[0] not in failed:
                errors.add(op.row, problem.field, problem.message)
        return {}


def apply_plan(session: Session, kind: str, ops: list[Op], actor: str) -> ImportResult:
    """Write validated rows in file order through ipam.records.edits (with history and events)."""
    record_kind = KINDS[kind]
    result = ImportResult(kind)
    for op in ops:
        try:
            if op.record_id is None:
                obj = edits.create(session, record_kind, op.values, actor)
                result.created += 1
                result.created_ids.append(str(obj.id))
                if kind == "installs":
                    result.install_numbers.append(obj.install_number)
            else:
                edits.update(session, record_kind, op.record_id, op.values, actor)
                result.updated += 1
        except DomainError as exc:
            # A rule only the write can check: the caller rolls the whole file back.
            errors = _Errors()
            errors.add(op.row, exc.field or "row", exc.message)
            raise errors.reject() from exc
        # Every flush scans the whole identity map: keeping fifty thousand written rows (and
        # their history and events) in it would make the import quadratic.
        session.flush()
        session.expunge_all()
    return result


def import_csv(
    session: Session,
    kind: str,
    data: bytes | str,
    *,
    actor: str,
    dry_run: bool = False,
    schemas: Schemas,
    max_rows: int = MAX_ROWS,
) -> ImportResult:
    """Read, validate and (unless dry) write one file in the caller's transaction."""
    rows = read_table(data, kind, max_rows=max_rows)
    ops = plan_import(session, kind, rows, schemas)
    if dry_run:
        created = sum(op.record_id is None for op in ops)
        return ImportResult(kind, created=created, updated=len(ops) - created, dry_run=True)
    return apply_plan(session, kind, ops, actor)
