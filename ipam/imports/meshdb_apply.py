"""Apply a MeshDB plan (`meshdb_plan`) to the database in one transaction, idempotently.

Records are matched by their UUID, kept from MeshDB. A record not here is created (COPY
through `nycmesh_bulk.BulkWriter`, with its history row and `<kind>.created` event); a
record here whose MeshDB values differ is updated (history row and `<kind>.updated` event
through `ipam.records.changes.record_change`); an equal one is left alone, so a second run
writes nothing. What cannot be placed is reported and skipped, never half-written: a
reference to a record neither fetched nor here (and everything that hangs from it), a
network number, install number or UISP id that another record here already holds, and
MeshDB fields this schema has no column for. Records here that MeshDB no longer has are
left alone (a delete is an operator's decision, not an import's).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from ipam import models as m
from ipam.db import make_sessionmaker, transaction
from ipam.imports.meshdb_plan import REFERENCES, RESOURCES, MeshdbPlan
from ipam.imports.nycmesh_bulk import BulkWriter
from ipam.imports.nycmesh_feed import Problem
from ipam.imports.nycmesh_import import IMPORT_LOCK, _analyze, _continue_install_numbers
from ipam.numbering.nn_assign import lock_numbers
from ipam.records.changes import KINDS, RecordKind, jsonable, record_change

ACTOR = "import:meshdb"
# Columns that must be unique across all records of a table (models.py).
UNIQUE = {"nodes": "network_number", "installs": "install_number", "links": "uisp_id"}
UNIQUE_DEVICE = "uisp_id"
DEVICE_KINDS = ("devices", "sectors", "accesspoints")


@dataclass(frozen=True)
class MeshdbReport:
    """What one MeshDB import created, updated, found unchanged and could not place."""

    source: str
    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]
    problems: tuple[Problem, ...]
    seconds: float

    def format(self, examples: int = 5) -> str:
        """The report as the CLI prints it."""
        lines = [
            f"MeshDB import from {self.source} in {self.seconds:.1f} s",
            f"  {'kind':<26} {'created':>8} {'updated':>8} {'unchanged':>10}",
        ]
        for kind in RESOURCES:
            lines.append(
                f"  {kind:<26} {self.created.get(kind, 0):>8} {self.updated.get(kind, 0):>8}"
                f" {self.unchanged.get(kind, 0):>10}"
            )
        if not self.problems:
            return "\n".join([*lines, "nothing left unplaced"])
        lines.append(f"{len(self.problems)} not placed:")
        for kind, n in Counter(p.kind for p in self.problems).most_common():
            found = [p for p in self.problems if p.kind == kind]
            lines.append(f"  {kind}: {n}")
            lines += [f"    {p.subject}: {p.detail}" for p in found[:examples]]
            if n > examples:
                lines.append(f"    ... and {n - examples} more")
        return "\n".join(lines)


def _model_keys(model: type[m.Base]) -> list[str]:
    return [attr.key for attr in inspect(model).column_attrs]


def _existing(session: Session, kind: RecordKind) -> dict[uuid.UUID, dict[str, Any]]:
    """Every row of one kind here, all columns, by id (a device kind: only that kind)."""
    keys = _model_keys(kind.model)
    stmt = select(*(getattr(kind.model, key) for key in keys))
    if kind.resource in DEVICE_KINDS:
        stmt = stmt.where(m.Device.kind == inspect(kind.model).polymorphic_identity)
    return {row.id: dict(zip(keys, row, strict=True)) for row in session.execute(stmt)}


def _pairs(session: Session, table: Any, owner: str, other: str) -> dict[uuid.UUID, set[uuid.UUID]]:
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for a, b in session.execute(select(table.c[owner], table.c[other])):
        found.setdefault(a, set()).add(b)
    return found


class _Run:
    """One import's state: what is here, what is accepted, what was done."""

    def __init__(self, session: Session, plan: MeshdbPlan, writer: BulkWriter) -> None:
        self.session = session
        self.plan = plan
        self.writer = writer
        self.problems = list(plan.problems)
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.unchanged: Counter[str] = Counter()
        self.here = {r: _existing(session, KINDS[r]) for r in RESOURCES if r in KINDS}
        self.accepted: dict[str, set[uuid.UUID]] = {}
        self.m2m_here = {
            "buildings": _pairs(session, m.node_building, "building_id", "node_id"),
            "installs": _pairs(session, m.install_additional_member, "install_id", "member_id"),
        }
        self.m2m_plan = {"buildings": plan.building_nodes, "installs": plan.additional_members}
        self.dropped_fields: set[str] = set()
        # (kind, id, before, after) of each update, written after the creations' events so
        # a receiver sees a new member's member.created before an install.updated naming it.
        self.changes: list[tuple[RecordKind, uuid.UUID, dict[str, Any], dict[str, Any]]] = []

    def known(self, resource: str, record_id: uuid.UUID) -> bool:
        """True when a reference can be resolved: fetched and accepted, or already here."""
        family = DEVICE_KINDS if resource == "devices" else (resource,)
        return any(
            record_id in self.accepted.get(r, ()) or record_id in self.here.get(r, {})
            for r in family
        )

    def holders(self, resource: str, column: str) -> dict[Any, uuid.UUID]:
        """Unique value -> id of the record here holding it, for this resource's unique column."""
        family = DEVICE_KINDS if resource in DEVICE_KINDS else (resource,)
        return {
            row[column]: rid
            for r in family
            for rid, row in self.here.get(r, {}).items()
            if row.get(column) is not None
        }


def _place(run: _Run, resource: str) -> list[dict[str, Any]]:
    """The planned rows of one kind that can be written; the rest become problems."""
    columns = set(_model_keys(KINDS[resource].model))
    unique = UNIQUE.get(resource) or (UNIQUE_DEVICE if resource in DEVICE_KINDS else "")
    holders = run.holders(resource, unique) if unique else {}
    placed: list[dict[str, Any]] = []
    for record_id, row in run.plan.rows[resource].items():
        subject = f"{resource} {record_id}"
        missing = [
            f"{column} {row[column]}"
            for column, target in REFERENCES.get(resource, {}).items()
            if row.get(column) is not None and not run.known(target, row[column])
        ]
        if missing:
            run.problems.append(Problem("missing reference", subject, ", ".join(missing)))
            continue
        holder = holders.get(row.get(unique))
        if holder is not None and holder != record_id:
            why = f"{unique} {row[unique]} is held here by {holder}"
            run.problems.append(Problem("taken number", subject, why))
            continue
        run.dropped_fields |= {f"{resource}.{key}" for key in set(row) - columns}
        placed.append({k: v for k, v in row.items() if k in columns})
    run.accepted[resource] = {row["id"] for row in placed}
    return placed


def _update(run: _Run, resource: str, row: dict[str, Any], now: datetime) -> None:
    """Write the changed values of one record here, with its history row and event."""
    kind = KINDS[resource]
    before = run.here[resource][row["id"]]
    changes = {k: v for k, v in row.items() if before.get(k) != v}
    m2m_name = kind.m2m[0] if kind.m2m else None
    old_side = run.m2m_here.get(resource, {}).get(row["id"], set())
    new_side = run.m2m_plan.get(resource, {}).get(row["id"], old_side)
    if not changes and old_side == new_side:
        run.unchanged[resource] += 1
        return
    if changes:
        run.session.execute(update(kind.model), [{"id": row["id"], **changes, "updated": now}])
    if old_side != new_side and m2m_name is not None:
        table, owner, other = _m2m_table(resource)
        run.session.execute(
            delete(table).where(table.c[owner] == row["id"], table.c[other].not_in(new_side))
        )
        run.writer.link(table, [{owner: row["id"], other: o} for o in new_side - old_side])
    after = {**before, **changes, "updated": now}
    snaps = []
    for values, side in ((before, old_side), (after, new_side)):
        snap = {k: jsonable(v) for k, v in values.items()}
        if m2m_name is not None:
            snap[m2m_name] = sorted(str(s) for s in side)
        snaps.append(snap)
    run.changes.append((kind, row["id"], snaps[0], snaps[1]))
    run.updated[resource] += 1


def _m2m_table(resource: str) -> tuple[Any, str, str]:
    if resource == "buildings":
        return m.node_building, "building_id", "node_id"
    return m.install_additional_member, "install_id", "member_id"


def _write(run: _Run, resource: str, now: datetime) -> None:
    """Create the new records of one kind, update the changed ones."""
    if resource in run.m2m_plan:
        _check_m2m(run, resource)
    placed = _place(run, resource)
    here = run.here[resource]
    new = [
        run.writer.full_row(KINDS[resource].model, row) for row in placed if row["id"] not in here
    ]
    side = run.m2m_plan.get(resource, {})
    m2m_name = KINDS[resource].m2m[0] if KINDS[resource].m2m else None
    m2m = {row["id"]: {m2m_name: side.get(row["id"], set())} for row in new} if m2m_name else None
    run.writer.create(resource, new, m2m)
    if m2m_name:
        table, owner, other = _m2m_table(resource)
        pairs = [{owner: row["id"], other: o} for row in new for o in side.get(row["id"], ())]
        run.writer.link(table, pairs)
    run.created[resource] += len(new)
    for row in placed:
        if row["id"] in here:
            _update(run, resource, row, now)


def _check_m2m(run: _Run, resource: str) -> None:
    """Drop many-to-many sides that point at records neither fetched nor here."""
    target = {"buildings": "nodes", "installs": "members"}[resource]
    for owner, side in run.m2m_plan[resource].items():
        gone = {o for o in side if not run.known(target, o)}
        if gone:
            side -= gone
            detail = f"{target} {', '.join(sorted(map(str, gone)))} left out"
            run.problems.append(Problem("missing reference", f"{resource} {owner}", detail))


def apply_meshdb(
    sessions: sessionmaker[Session] | Engine,
    plan: MeshdbPlan,
    *,
    source: str = "MeshDB",
    progress: Any = None,
    actor: str = ACTOR,
) -> MeshdbReport:
    """Write the plan in one transaction (all or nothing); a second run changes nothing.

    `progress` is a tqdm-like bar (its `update(n)` is called as rows are written).
    """
    started = time.perf_counter()
    if isinstance(sessions, Engine):
        sessions = make_sessionmaker(sessions)
    with transaction(sessions) as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
        lock_numbers(session)
        now = session.execute(select(func.now())).scalar_one()
        run = _Run(session, plan, BulkWriter(session, actor, now, progress))
        for resource in RESOURCES:
            if resource not in KINDS:
                count = len(plan.rows.get(resource, {}))
                if count:
                    why = f"{count} records: this release keeps none"
                    run.problems.append(Problem("no such records here", resource, why))
                continue
            _write(run, resource, now)
        run.writer.write_history_and_events()
        for kind, record_id, before, after in run.changes:
            record_change(session, kind, record_id, "updated", actor, before, after)
        _continue_install_numbers(session)
    for field in sorted(run.dropped_fields):
        run.problems.append(Problem("field not kept", field, "this release has no column for it"))
    if sum(run.created.values()):
        _analyze(sessions)
    return MeshdbReport(
        source=source,
        created=dict(run.created),
        updated=dict(run.updated),
        unchanged=dict(run.unchanged),
        problems=tuple(run.problems),
        seconds=time.perf_counter() - started,
    )
