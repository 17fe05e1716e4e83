"""SQLAlchemy 2 ORM: every table of meshkeeper lives here."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import (
    ARRAY,
    CIDR,
    DOUBLE_PRECISION,
    INET,
    JSONB,
    UUID,
    ExcludeConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ipam.enums import (
    BillingStatus,
    DeviceKind,
    DeviceStatus,
    InstallStatus,
    NodePlacement,
    NodeStatus,
    NodeType,
    ObservedStatus,
)
from ipam.observed.series_rules import METRICS

# Stable constraint names so Alembic migrations never depend on the database's guesses.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NN_MIN = 1
NN_MAX = 8000


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Record(Base):
    """A table of records with a UUID id: what history, events and references point at."""

    __abstract__ = True
    if TYPE_CHECKING:
        # Each table maps its own id (Sector's and AccessPoint's are foreign keys to Device's);
        # this only tells the type checker that every record has one.
        id: Mapped[uuid.UUID]


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


def _text_list() -> Mapped[list[str]]:
    return mapped_column(ARRAY(String(254)), nullable=False, server_default="{}", default=list)


node_building = Table(
    "node_building",
    Base.metadata,
    Column("node_id", ForeignKey("node.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("building.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_node_building_building_id", "building_id"),
)

install_additional_member = Table(
    "install_additional_member",
    Base.metadata,
    Column("install_id", ForeignKey("install.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_install_additional_member_member_id", "member_id"),
)


class Member(Record):
    """A person in the mesh, across all the installs they have had."""

    __tablename__ = "member"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    primary_email_address: Mapped[str | None] = mapped_column(String(254), index=True)
    stripe_email_address: Mapped[str | None] = mapped_column(String(254))
    additional_email_addresses: Mapped[list[str]] = _text_list()
    phone_number: Mapped[str | None] = mapped_column(String(40))
    additional_phone_numbers: Mapped[list[str]] = _text_list()
    slack_handle: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    payment_preference: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    installs: Mapped[list[Install]] = relationship(
        back_populates="member", lazy="raise", foreign_keys="Install.member_id"
    )


class Building(Record):
    """One street address (a physical structure may have several)."""

    __tablename__ = "building"

    id: Mapped[uuid.UUID] = _uuid_pk()
    bin: Mapped[int | None] = mapped_column(Integer, index=True)
    street_address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    address_truth_sources: Mapped[list[str]] = _text_list()
    primary_node_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("node.id", ondelete="RESTRICT"), index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)
    panoramas: Mapped[list[str]] = mapped_column(
        ARRAY(String(500)), nullable=False, server_default="{}", default=list
    )
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    primary_node: Mapped[Node | None] = relationship(lazy="raise", foreign_keys=[primary_node_id])
    nodes: Mapped[list[Node]] = relationship(
        secondary=node_building, back_populates="buildings", lazy="raise"
    )
    installs: Mapped[list[Install]] = relationship(back_populates="building", lazy="raise")

    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
    )


class Node(Record):
    """A site: a set of devices that share one network number."""

    __tablename__ = "node"

    id: Mapped[uuid.UUID] = _uuid_pk()
    network_number: Mapped[int | None] = mapped_column(Integer, unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=NodeStatus.PLANNED)
    type: Mapped[str] = mapped_column(String(20), default=NodeType.STANDARD)
    placement: Mapped[str] = mapped_column(String(20), default=NodePlacement.UNKNOWN)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    install_date: Mapped[date | None] = mapped_column(Date)
    abandon_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    # Polled only by the daemons of this group (MESHKEEPER_POLLER_GROUP); None: the default.
    poller_group: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    buildings: Mapped[list[Building]] = relationship(
        secondary=node_building, back_populates="nodes", lazy="raise"
    )
    installs: Mapped[list[Install]] = relationship(back_populates="node", lazy="raise")
    devices: Mapped[list[Device]] = relationship(back_populates="node", lazy="raise")

    __table_args__ = (
        CheckConstraint(f"network_number BETWEEN {NN_MIN} AND {NN_MAX}", name="nn_range"),
    )


class Install(Record):
    """One household's request to join, and its connection if it happens."""

    __tablename__ = "install"

    id: Mapped[uuid.UUID] = _uuid_pk()
    install_number: Mapped[int] = mapped_column(Integer, Identity(start=1), unique=True)
    status: Mapped[str] = mapped_column(
        String(20), default=InstallStatus.REQUEST_RECEIVED, index=True
    )
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), index=True
    )
    building_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("building.id", ondelete="RESTRICT"), index=True
    )
    node_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("node.id", ondelete="RESTRICT"), index=True
    )
    unit: Mapped[str | None] = mapped_column(String(100))
    roof_access: Mapped[bool] = mapped_column(Boolean, default=False)
    request_date: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    install_date: Mapped[date | None] = mapped_column(Date)
    abandon_date: Mapped[date | None] = mapped_column(Date)
    diy: Mapped[bool | None] = mapped_column(Boolean)
    referral: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    ticket_number: Mapped[str | None] = mapped_column(String(100))
    # MeshDB's Stripe subscription ("sub_" and 24-254 word characters; checked by the API).
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(260))
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    member: Mapped[Member] = relationship(
        back_populates="installs", lazy="raise", foreign_keys=[member_id]
    )
    additional_members: Mapped[list[Member]] = relationship(
        secondary=install_additional_member, lazy="raise"
    )
    building: Mapped[Building] = relationship(back_populates="installs", lazy="raise")
    node: Mapped[Node | None] = relationship(back_populates="installs", lazy="raise")


class Device(Record):
    """A radio, router or switch; sectors and access points extend it."""

    __tablename__ = "device"

    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(String(20), default=DeviceKind.DEVICE)
    node_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("node.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DeviceStatus.ACTIVE)
    install_date: Mapped[date | None] = mapped_column(Date)
    abandon_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    uisp_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    management_address: Mapped[str | None] = mapped_column(INET)
    # Overrides its node's poller group when set.
    poller_group: Mapped[str | None] = mapped_column(String(100))
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    node: Mapped[Node] = relationship(back_populates="devices", lazy="raise")

    # Always join the subclass tables: device lists show sectors and access points in full.
    __mapper_args__ = {
        "polymorphic_on": "kind",
        "polymorphic_identity": DeviceKind.DEVICE,
        "with_polymorphic": "*",
    }


class Sector(Device):
    """A device whose coverage wedge is drawn on the map."""

    __tablename__ = "sector"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    radius: Mapped[float] = mapped_column(Float)
    azimuth: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"polymorphic_identity": DeviceKind.SECTOR}
    __table_args__ = (
        CheckConstraint("azimuth BETWEEN 0 AND 360", name="azimuth_range"),
        CheckConstraint("width BETWEEN 0 AND 360", name="width_range"),
        CheckConstraint("radius >= 0", name="radius_positive"),
    )


class AccessPoint(Device):
    """A device shown at its own location (e.g. a courtyard light pole)."""

    __tablename__ = "access_point"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)

    __mapper_args__ = {"polymorphic_identity": DeviceKind.ACCESS_POINT}


class InstallFeeBillingDatum(Record):
    """Who bills an install's fee to an organisation paying for it (MeshDB's billing.py)."""

    __tablename__ = "install_fee_billing_datum"

    id: Mapped[uuid.UUID] = _uuid_pk()
    install_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("install.id", ondelete="RESTRICT"), unique=True
    )
    status: Mapped[str] = mapped_column(String(30), default=BillingStatus.TO_BE_BILLED)
    billing_date: Mapped[date | None] = mapped_column(Date)
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()


class Link(Record):
    """A cable or radio path between two devices."""

    __tablename__ = "link"

    id: Mapped[uuid.UUID] = _uuid_pk()
    from_device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), index=True
    )
    to_device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    type: Mapped[str | None] = mapped_column(String(20))
    install_date: Mapped[date | None] = mapped_column(Date)
    abandon_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    uisp_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    from_device: Mapped[Device] = relationship(foreign_keys=[from_device_id], lazy="raise")
    to_device: Mapped[Device] = relationship(foreign_keys=[to_device_id], lazy="raise")

    __table_args__ = (CheckConstraint("from_device_id <> to_device_id", name="distinct_ends"),)


class LOS(Record):
    """Two buildings that can see each other: a potential link."""

    __tablename__ = "los"

    id: Mapped[uuid.UUID] = _uuid_pk()
    from_building_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("building.id", ondelete="RESTRICT"), index=True
    )
    to_building_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("building.id", ondelete="RESTRICT"), index=True
    )
    source: Mapped[str] = mapped_column(String(30))
    analysis_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    from_building: Mapped[Building] = relationship(foreign_keys=[from_building_id], lazy="raise")
    to_building: Mapped[Building] = relationship(foreign_keys=[to_building_id], lazy="raise")

    __table_args__ = (CheckConstraint("from_building_id <> to_building_id", name="distinct_ends"),)


class Person(Base):
    """A volunteer who signs in to the console: a username, a password hash and a role."""

    __tablename__ = "person"

    id: Mapped[uuid.UUID] = _uuid_pk()
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created: Mapped[datetime] = _created()


class ConsoleSession(Base):
    """A signed-in browser: only a hash of its cookie is stored, with its CSRF token."""

    __tablename__ = "console_session"

    id: Mapped[uuid.UUID] = _uuid_pk()
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created: Mapped[datetime] = _created()


class ApiToken(Base):
    """An API credential; only a hash of the secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class History(Base):
    """One create, update, delete or revert of a record, with both versions."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    resource: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (Index("ix_history_resource_record", "resource", "record_id"),)


# The events of record changes (ipam/records/versions.py): cached record answers follow them.
RECORD_EVENTS = (
    "resource <> 'incidents' "
    "AND (type LIKE '%.created' OR type LIKE '%.updated' OR type LIKE '%.deleted')"
)


class Event(Base):
    """The transactional outbox: every change, in commit order, for alerting systems."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resource: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64))
    network_number: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (Index("ix_event_record_changes", "id", postgresql_where=text(RECORD_EVENTS)),)


class Prefix(Record):
    """A static address range (supernodes, VPN, point-to-point links, loopbacks, anycast)."""

    __tablename__ = "prefix"

    id: Mapped[uuid.UUID] = _uuid_pk()
    cidr: Mapped[str] = mapped_column(CIDR, unique=True)
    role: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="Active")
    # The prefix length this pool hands out (e.g. 31 for point-to-point links); None: /32.
    allocate_prefixlen: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    __table_args__ = (
        Index(
            "ix_prefix_cidr_gist",
            "cidr",
            postgresql_using="gist",
            postgresql_ops={"cidr": "inet_ops"},
        ),
    )


class IpAllocation(Record):
    """An address or sub-prefix taken from a prefix, optionally for a device or a link."""

    __tablename__ = "ip_allocation"

    id: Mapped[uuid.UUID] = _uuid_pk()
    prefix_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("prefix.id", ondelete="RESTRICT"), index=True
    )
    address: Mapped[str] = mapped_column(CIDR)
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), index=True
    )
    link_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("link.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(500))
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()

    __table_args__ = (
        # Two allocations may never overlap: PostgreSQL enforces it, whoever writes.
        ExcludeConstraint(
            ("address", "&&"), name="no_overlap", using="gist", ops={"address": "inet_ops"}
        ),
    )


class DeviceObservation(Base):
    """What polling last saw of a device (nodewatcher's monitoring state), beside its record."""

    __tablename__ = "device_observation"

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ObservedStatus.PENDING, index=True)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(INET)
    rtt_min_ms: Mapped[float | None] = mapped_column(Float)
    rtt_avg_ms: Mapped[float | None] = mapped_column(Float)
    rtt_max_ms: Mapped[float | None] = mapped_column(Float)
    packet_loss: Mapped[float | None] = mapped_column(Float)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    uptime_s: Mapped[int | None] = mapped_column(BigInteger)
    firmware: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    radio: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    icmp_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snmp_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uisp_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uisp_status: Mapped[str | None] = mapped_column(String(30))
    uisp_address: Mapped[str | None] = mapped_column(INET)
    uisp_last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NodeObservation(Base):
    """A node's observed state, which follows from its devices'."""

    __tablename__ = "node_observation"

    node_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("node.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ObservedStatus.PENDING, index=True)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rtt_min_ms: Mapped[float | None] = mapped_column(Float)
    rtt_avg_ms: Mapped[float | None] = mapped_column(Float)
    rtt_max_ms: Mapped[float | None] = mapped_column(Float)
    packet_loss: Mapped[float | None] = mapped_column(Float)
    drift_reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The routing table as a witness: null until a routing source has been read.
    routing_visible: Mapped[bool | None] = mapped_column(Boolean)
    routing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LinkObservation(Base):
    """A link's observed state, from its two ends and from UISP's data-link state."""

    __tablename__ = "link_observation"

    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("link.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), default=ObservedStatus.PENDING)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    uisp_state: Mapped[str | None] = mapped_column(String(30))
    uisp_last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    routing_state: Mapped[str | None] = mapped_column(String(20))  # up / down / absent
    routing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RoutingRouter(Base):
    """A router of the link-state database, the node it maps to (or none) and its visibility."""

    __tablename__ = "routing_router"

    router_id: Mapped[str] = mapped_column(INET, primary_key=True)
    network_number: Mapped[int | None] = mapped_column(Integer, index=True)
    mapped_by: Mapped[str | None] = mapped_column(String(20))
    visible: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoutingAdjacency(Base):
    """An OSPF adjacency between two nodes (a < b) with its cost each way, present or gone."""

    __tablename__ = "routing_adjacency"

    nn_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    nn_b: Mapped[int] = mapped_column(Integer, primary_key=True)
    cost_ab: Mapped[int] = mapped_column(Integer)
    cost_ba: Mapped[int] = mapped_column(Integer)
    present: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoutingHop(Base):
    """One directed edge of the OSPF graph: router (`r:<id>`) or transit network (`n:<prefix>`)
    to the next, with the cost OSPF routes by; topology's `weight=ospf` reads these."""

    __tablename__ = "routing_hop"

    source: Mapped[str] = mapped_column(String(24), primary_key=True)
    target: Mapped[str] = mapped_column(String(24), primary_key=True)
    cost: Mapped[int] = mapped_column(Integer)


class SubnetState(Base):
    """An announced (or missing) prefix's state against the plan and the allocation records."""

    __tablename__ = "subnet_state"

    prefix: Mapped[str] = mapped_column(CIDR, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    network_number: Mapped[int | None] = mapped_column(Integer, index=True)
    announced_by: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    routers: Mapped[list[str]] = mapped_column(ARRAY(String(15)), default=list)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DriftFinding(Base):
    """A disagreement between the records and the network, reported once while it lasts."""

    __tablename__ = "drift_finding"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    network_number: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("uq_drift_finding_kind_subject", "kind", "subject", unique=True),)


class DeliveryState:
    """Where a subscriber (webhook or notification channel) stands in the outbox."""

    # The last event id it has been sent (or skipped as not matching).
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt:
    """One attempt to send one event to one subscriber, as its log keeps it."""

    event_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[float | None] = mapped_column(Float)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)


class Webhook(DeliveryState, Base):
    """A subscription: events of these types POSTed, signed, to this URL, in order."""

    __tablename__ = "webhook"

    id: Mapped[uuid.UUID] = _uuid_pk()
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(60)), nullable=False, server_default="{}", default=list
    )
    secret: Mapped[str] = mapped_column(String(200))
    # "meshkeeper" ({"event", "data"}) or "meshdb" (drf-hooks' {"hook", "data"}), and extra
    # request headers (MeshDB's receivers expect their auth headers this way).
    format: Mapped[str] = mapped_column(String(20), server_default="meshkeeper")
    headers: Mapped[dict[str, str]] = mapped_column(
        JSONB, nullable=False, server_default="{}", default=dict
    )
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()


class WebhookDelivery(DeliveryAttempt, Base):
    """One attempt to deliver one event to one subscription."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )


class CollectorState(Base):
    """How each collector's last runs went, for /metrics and operators, whichever process ran it."""

    __tablename__ = "collector_state"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    last_started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    runs_total: Mapped[int] = mapped_column(BigInteger, default=0)
    errors_total: Mapped[int] = mapped_column(BigInteger, default=0)
    targets: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class ObservedVersion(Base):
    """A counter bumped in every transaction that changes observed state.

    Observed measurements (RTT, last seen) change on every poll without an event; caches of
    answers that show them are valid while this counter and the latest event id both stand.
    """

    __tablename__ = "observed_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class Monitored(Base):
    """When monitoring of a node, device or link began, and whether it flaps (issue 15).

    Availability counts only time after `since`; time before it is reported apart.
    """

    __tablename__ = "monitored"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # ipam.enums.Subject
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flapping_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_transition: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Incident(Base):
    """Outages explained by one failure: a down node, or a bridge link, and what it cut off."""

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    cause_kind: Mapped[str] = mapped_column(String(10))  # ipam.enums.Subject: node or link
    cause_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    cause_label: Mapped[str] = mapped_column(String(200))
    # The node a message leads with: the cause node, or a cut link's far end.
    headline: Mapped[str] = mapped_column(String(200))
    network_number: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    affected_node_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), nullable=False, server_default="{}", default=list
    )
    affected_nns: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, server_default="{}", default=list
    )
    peak_nodes: Mapped[int] = mapped_column(Integer, default=0)
    installs: Mapped[int] = mapped_column(Integer, default=0)
    members: Mapped[int] = mapped_column(Integer, default=0)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_incident_open", "ended_at"),
        Index("ix_incident_cause", "cause_kind", "cause_id"),
    )


class Outage(Base):
    """One interval a node, device or link spent down, opened and closed with its transition."""

    __tablename__ = "outage"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # ipam.enums.Subject
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # A node's or device's NN, or both ends' NNs for a link: listed under each.
    network_numbers: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, server_default="{}", default=list
    )
    status: Mapped[str] = mapped_column(String(20))  # the observed status that opened it
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        Index("ix_outage_subject", "kind", "subject_id", "started_at"),
        Index("ix_outage_network_numbers", "network_numbers", postgresql_using="gin"),
        # At most one open outage per subject: a second open is a bug, not a fact.
        Index(
            "uq_outage_open",
            "kind",
            "subject_id",
            unique=True,
            postgresql_where="ended_at IS NULL",
        ),
    )


class Silence(Base):
    """Changes of a node, device or incident recorded but notified to nobody until `until`."""

    __tablename__ = "silence"

    id: Mapped[uuid.UUID] = _uuid_pk()
    scope: Mapped[str] = mapped_column(String(10))  # ipam.enums.SilenceScope
    subject_id: Mapped[str] = mapped_column(String(64))  # node/device UUID or incident id
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_silence_subject", "scope", "subject_id", "until"),)


class NotificationChannel(DeliveryState, Base):
    """An Apprise URL that gets readable messages about the events its filter lets through."""

    __tablename__ = "notification_channel"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(60)), nullable=False, server_default="{}", default=list
    )
    network_numbers: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), nullable=False, server_default="{}", default=list
    )
    incidents_only: Mapped[bool] = mapped_column(Boolean, default=True)
    min_size: Mapped[int] = mapped_column(Integer, default=1)
    daily_summary: Mapped[bool] = mapped_column(Boolean, default=False)
    # "api" or "file": channels from MESHKEEPER_NOTIFICATIONS_FILE are replaced at each start.
    source: Mapped[str] = mapped_column(String(10), default="api")
    created: Mapped[datetime] = _created()
    updated: Mapped[datetime] = _updated()


class NotificationDelivery(DeliveryAttempt, Base):
    """One attempt to send one event's message to one channel."""

    __tablename__ = "notification_delivery"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE"), index=True
    )


# --- Measurement history (why BRIN-indexed tables and no foreign key: ipam/observed/history.py) ---


def _history_type(metric: str) -> Any:
    # Uptime needs whole seconds over years (REAL has 24 bits); the rest are radio and ping
    # figures where REAL's 7 digits are more than the instruments give.
    return BigInteger() if metric == "uptime_s" else REAL()


device_sample = Table(
    "device_sample",
    Base.metadata,
    Column("device_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    *(Column(name, _history_type(name)) for name in METRICS),
    Index("ix_device_sample_device_id_at", "device_id", "at"),
    Index("ix_device_sample_at_brin", "at", postgresql_using="brin"),
)


def _rollup_table(name: str) -> Table:
    """One rollup table: per device and bucket, min/avg/max and the sample count per metric."""
    columns: list[Column[Any]] = []
    for metric in METRICS:
        wide: Any = DOUBLE_PRECISION() if metric == "uptime_s" else REAL()
        columns += [
            Column(f"{metric}_min", wide),
            Column(f"{metric}_avg", wide),
            Column(f"{metric}_max", wide),
            Column(f"{metric}_n", Integer),
        ]
    return Table(
        name,
        Base.metadata,
        Column("device_id", UUID(as_uuid=True), primary_key=True),
        Column("bucket", DateTime(timezone=True), primary_key=True),
        *columns,
        Index(f"ix_{name}_bucket_brin", "bucket", postgresql_using="brin"),
    )


device_rollup_5m = _rollup_table("device_rollup_5m")
device_rollup_1h = _rollup_table("device_rollup_1h")


class HistoryRollup(Base):
    """How far each rollup tier has been computed (its watermark), for the job and the reads."""

    __tablename__ = "history_rollup"

    tier: Mapped[str] = mapped_column(String(20), primary_key=True)
    done_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Poller(Base):
    """A daemon process that polls a share of the targets (ipam/pollers/leases.py)."""

    __tablename__ = "poller"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    poller_group: Mapped[str | None] = mapped_column(String(100))
    networks: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_cycle_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_cycle_s: Mapped[float | None] = mapped_column(Float)
    last_cycle_targets: Mapped[int | None] = mapped_column(Integer)


class PollLease(Base):
    """One collector's target held by one poller until a time (renewed each of its cycles)."""

    __tablename__ = "poll_lease"

    collector: Mapped[str] = mapped_column(String(30), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    poller: Mapped[str] = mapped_column(String(200), index=True)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
