"""Request and response shapes for nodes, devices, sectors, access points, links and LOS."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from api.schemas.common import (
    Altitude,
    InstallRef,
    IpAddress,
    KeyedRef,
    Latitude,
    Longitude,
    Name,
    NetworkNumber,
    NodeRef,
    Notes,
    RecordIn,
    RecordOut,
    Ref,
    Ref_,
    Short,
    partial,
)
from ipam.enums import (
    DeviceStatus,
    LinkStatus,
    LinkType,
    LOSSource,
    NodePlacement,
    NodeStatus,
    NodeType,
)

Degrees = Annotated[int, Field(ge=0, le=360)]


def _placement(value: Any) -> Any:
    """MeshDB's spelling: lowercase, "None" for unknown (the old capitalised words still read)."""
    if value is None:
        return NodePlacement.UNKNOWN.value  # MeshDB's UNKNOWN is None, served as "None"
    if isinstance(value, str):
        lowered = value.strip().lower()
        return NodePlacement.UNKNOWN.value if lowered in ("unknown", "none") else lowered
    return value


Placement = Annotated[NodePlacement, BeforeValidator(_placement)]


class NodeIn(RecordIn):
    """A node as clients write it; its network number is immutable once set."""

    network_number: NetworkNumber | None = None
    name: Name | None = None
    # Required, as MeshDB's Node model has them (no default, not null: meshapi/models/node.py)
    # and so its NodeSerializer does. meshkeeper's own paths (imports, the join form, NN
    # assignment) write through ipam/records and may still make a node without a place.
    status: NodeStatus
    type: NodeType = NodeType.STANDARD
    placement: Placement = NodePlacement.UNKNOWN
    latitude: Latitude
    longitude: Longitude
    altitude: Altitude | None = None
    install_date: date | None = None
    abandon_date: date | None = None
    notes: Notes | None = None
    poller_group: Short | None = None
    buildings: list[Ref] = Field(default_factory=list, max_length=500)


class NodeOut(RecordOut):
    """A node as the API shows it."""

    network_number: int | None
    name: str | None
    status: NodeStatus
    type: NodeType
    placement: NodePlacement
    latitude: float | None
    longitude: float | None
    altitude: float | None
    install_date: date | None
    abandon_date: date | None
    notes: str | None
    poller_group: str | None = None
    buildings: list[Ref_]
    installs: list[InstallRef]
    devices: list[Ref_]
    observed: dict[str, Any] | None = None


class DeviceIn(RecordIn):
    """A device as clients write it."""

    node: KeyedRef
    name: Name | None = None
    status: DeviceStatus = DeviceStatus.ACTIVE
    install_date: date | None = None
    abandon_date: date | None = None
    notes: Notes | None = None
    uisp_id: Short | None = None
    management_address: IpAddress | None = None
    poller_group: Short | None = None


class SectorIn(DeviceIn):
    """A sector: a device plus its coverage wedge."""

    radius: float = Field(ge=0, le=100, description="km")
    azimuth: Degrees
    width: Degrees


class AccessPointIn(DeviceIn):
    """An access point: a device at its own location."""

    latitude: Latitude
    longitude: Longitude
    altitude: Altitude | None = None


class DeviceOut(RecordOut):
    """A device as the API shows it (sectors and access points add their fields)."""

    kind: str
    node: NodeRef
    name: str | None
    status: DeviceStatus
    install_date: date | None
    abandon_date: date | None
    notes: str | None
    uisp_id: str | None
    management_address: str | None
    poller_group: str | None = None
    observed: dict[str, Any] | None = None
    # Read through from the node (MeshDB's DeviceSerializer); an access point has its own.
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    links_from: list[Ref_] = Field(default_factory=list)
    links_to: list[Ref_] = Field(default_factory=list)


class SectorOut(DeviceOut):
    """A sector as the API shows it."""

    radius: float
    azimuth: int
    width: int


class AccessPointOut(DeviceOut):
    """An access point as the API shows it."""

    latitude: float
    longitude: float
    altitude: float | None


class LinkIn(RecordIn):
    """A link as clients write it: two different devices."""

    from_device: Ref
    to_device: Ref
    status: LinkStatus
    type: LinkType | None = None
    install_date: date | None = None
    abandon_date: date | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    notes: Notes | None = None
    uisp_id: Short | None = None


class LinkOut(RecordOut):
    """A link as the API shows it."""

    from_device: Ref_
    to_device: Ref_
    status: LinkStatus
    type: LinkType | None
    install_date: date | None
    abandon_date: date | None
    description: str | None
    notes: str | None
    uisp_id: str | None


class LOSIn(RecordIn):
    """A line of sight as clients write it: two different buildings."""

    from_building: Ref
    to_building: Ref
    source: LOSSource
    analysis_date: date | None = None
    notes: Notes | None = None


class LOSOut(RecordOut):
    """A line of sight as the API shows it."""

    from_building: Ref_
    to_building: Ref_
    source: LOSSource
    analysis_date: date | None
    notes: str | None


NodePatch = partial(NodeIn, "NodePatch")
DevicePatch = partial(DeviceIn, "DevicePatch")
SectorPatch = partial(SectorIn, "SectorPatch")
AccessPointPatch = partial(AccessPointIn, "AccessPointPatch")
LinkPatch = partial(LinkIn, "LinkPatch")
LOSPatch = partial(LOSIn, "LOSPatch")
