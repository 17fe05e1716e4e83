"""Network-number assignment against the database, under one lock held until commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, not_, select, text
from sqlalchemy.orm import Session, joinedload, selectinload

from ipam import models as m
from ipam.enums import InstallStatus, NodeStatus
from ipam.errors import Conflict, NotFound
from ipam.numbering.nn_rules import (
    AUTO_START,
    NN_MAX,
    choose_nn_for_install,
    next_free_nn,
    vanity_check,
)
from ipam.records.changes import KINDS, record_change, snapshot

# Every NN decision takes this transaction-scoped lock; it is released only at commit or
# rollback, so two assignments can never both see a number as free (MeshDB released its lock
# before committing, which let two requests take the same number).
NN_LOCK = 0x6D6B_0002


def lock_numbers(session: Session) -> None:
    """Serialise NN decisions until this transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": NN_LOCK})


@dataclass(frozen=True)
class Assignment:
    """The outcome of one assignment request."""

    created: bool
    network_number: int
    install: m.Install
    node: m.Node
    building: m.Building


def _node_numbers(session: Session) -> set[int]:
    return set(session.scalars(select(m.Node.network_number).where(m.Node.network_number > 0)))


def _blocking_install_numbers(session: Session) -> set[int]:
    """Install numbers in the auto range that may not be given away as NNs."""
    free_to_take = and_(
        m.Install.status == InstallStatus.REQUEST_RECEIVED, m.Install.node_id.is_(None)
    )
    return set(
        session.scalars(
            select(m.Install.install_number).where(
                m.Install.install_number.between(AUTO_START, NN_MAX), not_(free_to_take)
            )
        )
    )


def next_free_number(session: Session) -> int:
    """The next NN automatic assignment would give (caller holds the lock)."""
    return next_free_nn(_node_numbers(session) | _blocking_install_numbers(session))


class _Changes:
    """Records touched by one operation, with their versions before, for history."""

    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor
        self.before: dict[tuple[str, Any], tuple[Any, dict[str, Any] | None]] = {}

    def touch(self, resource: str, obj: Any, *, new: bool = False) -> None:
        key = (resource, id(obj))
        if key not in self.before:
            self.before[key] = (obj, None if new else snapshot(obj, KINDS[resource]))

    def record(self) -> None:
        self.session.flush()
        for (resource, _), (obj, before) in self.before.items():
            after = snapshot(obj, KINDS[resource])
            if after != before:
                action = "created" if before is None else "updated"
                record_change(
                    self.session, KINDS[resource], obj.id, action, self.actor, before, after
                )


def reassign_donor(
    session: Session, changes: _Changes, number: int, keep: m.Install | None
) -> None:
    """Mark the install whose install number became another node's NN as "NN Reassigned"."""
    donor = session.scalars(
        select(m.Install)
        .where(m.Install.install_number == number)
        .options(selectinload(m.Install.additional_members))
        .with_for_update()
    ).first()
    if donor is None or donor is keep or donor.status == InstallStatus.NN_REASSIGNED:
        return
    changes.touch("installs", donor)
    donor.status = InstallStatus.NN_REASSIGNED


def assign(session: Session, install_number: int, actor: str) -> Assignment:
    """MeshDB's NN assignment form for one install (idempotent: a second call changes nothing)."""
    lock_numbers(session)
    install = session.scalars(
        select(m.Install)
        .where(m.Install.install_number == install_number)
        .options(
            joinedload(m.Install.node).selectinload(m.Node.buildings),
            joinedload(m.Install.building).selectinload(m.Building.nodes),
            joinedload(m.Install.building).joinedload(m.Building.primary_node),
            selectinload(m.Install.additional_members),
        )
        .with_for_update(of=m.Install)
    ).first()
    if install is None:
        # MeshDB's words (meshapi/views/forms.py): the NN form shows them.
        raise NotFound("Install Number not found", field="install_number")
    if install.status in (InstallStatus.CLOSED, InstallStatus.NN_REASSIGNED):
        raise Conflict(
            "Invalid install status for NN Assignment. Re-submit the join form to create a "
            f"new install number (install {install_number} is {install.status})",
            field="install_number",
        )
    building = install.building
    if install.node is not None and install.node.network_number is not None:
        return Assignment(False, install.node.network_number, install, install.node, building)

    changes = _Changes(session, actor)
    changes.touch("installs", install)
    changes.touch("buildings", building)
    node = install.node
    if node is None and building.primary_node is not None:
        node = session.scalars(
            select(m.Node)
            .where(m.Node.id == building.primary_node_id)
            .options(selectinload(m.Node.buildings))
        ).one()
    if node is None:
        node = m.Node(
            status=NodeStatus.PLANNED,
            latitude=building.latitude,
            longitude=building.longitude,
            altitude=building.altitude,
            buildings=[],
        )
        session.add(node)
        changes.touch("nodes", node, new=True)
    else:
        changes.touch("nodes", node)

    if node.network_number is None:
        number = choose_nn_for_install(
            install.install_number,
            install.status,
            _node_numbers(session),
            _blocking_install_numbers(session),
        )
        node.network_number = number
        if number != install.install_number:
            reassign_donor(session, changes, number, keep=install)
    if node.status == NodeStatus.INACTIVE:
        node.status = NodeStatus.PLANNED
    install.node = node
    if install.status == InstallStatus.REQUEST_RECEIVED:
        install.status = InstallStatus.PENDING
    if building.primary_node_id is None:
        building.primary_node = node
    if all(b.id != building.id for b in node.buildings):
        node.buildings.append(building)
    changes.record()
    assert node.network_number is not None
    return Assignment(True, node.network_number, install, node, building)


def check_vanity(session: Session, node: m.Node, wanted: int, actor: str) -> None:
    """A hand-picked NN: no other node's, not an Active install's number (MeshDB's vanity rule)."""
    lock_numbers(session)
    holder = session.scalar(select(m.Node).where(m.Node.network_number == wanted))
    donor = session.scalars(
        select(m.Install)
        .where(m.Install.install_number == wanted)
        .options(selectinload(m.Install.additional_members))
    ).first()
    decision = vanity_check(
        wanted,
        node=node.id,
        holder_node=None if holder is None or holder is node else holder.id,
        donor_status=None if donor is None else donor.status,
        donor_node=None if donor is None else donor.node_id,
    )
    if decision.reassign_install is not None:
        changes = _Changes(session, actor)
        reassign_donor(session, changes, decision.reassign_install, keep=None)
        changes.record()


def number_for_active_node(session: Session, node: m.Node) -> None:
    """Setting a node Active without an NN gives it the next free number."""
    if node.status == NodeStatus.ACTIVE and node.network_number is None:
        lock_numbers(session)
        node.network_number = next_free_number(session)
