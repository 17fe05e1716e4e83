"""Every status and type as a StrEnum, values exactly as MeshDB's users see them."""

from enum import StrEnum


class InstallStatus(StrEnum):
    """Where an install request stands (MeshDB "Install Status")."""

    REQUEST_RECEIVED = "Request Received"
    PENDING = "Pending"
    BLOCKED = "Blocked"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    CLOSED = "Closed"
    NN_REASSIGNED = "NN Reassigned"


class NodeStatus(StrEnum):
    """Recorded state of a node (a network number's site)."""

    PLANNED = "Planned"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class NodeType(StrEnum):
    """What role a node plays in the mesh."""

    STANDARD = "Standard"
    HUB = "Hub"
    SUPERNODE = "Supernode"
    POP = "POP"
    AP = "AP"
    REMOTE = "Remote"


class NodePlacement(StrEnum):
    """Where on the building the node's equipment sits (MeshDB's values: lowercase, "None")."""

    ROOFTOP = "rooftop"
    BALCONY = "balcony"
    WINDOW = "window"
    INDOOR = "indoor"
    UNKNOWN = "None"


class AddressTruthSource(StrEnum):
    """Where a building's address came from (MeshDB's AddressTruthSource, by name)."""

    OSM_NOMINATIM = "OSMNominatim"
    OSM_NOMINATIM_ZIP_ONLY = "OSMNominatimZIPOnly"
    NYC_PLANNING_LABS = "NYCPlanningLabs"
    PELIAS_STRING_PARSING = "PeliasStringParsing"
    REVERSE_GEOCODE_FROM_COORDINATES = "ReverseGeocodeFromCoordinates"
    HUMAN_ENTRY = "HumanEntry"


class BillingStatus(StrEnum):
    """Whether an install's fee was billed to the organisation paying it (MeshDB's)."""

    TO_BE_BILLED = "ToBeBilled"
    BILLED = "Billed"
    NOT_BILLING_DUPLICATE = "NotBillingDuplicate"
    NOT_BILLING_OTHER = "NotBillingOther"


class PaymentPreference(StrEnum):
    """How a member pays (MeshDB's payment_preference_choices; null when unknown)."""

    CASH = "cash"
    STRIPE = "stripe"


class DeviceStatus(StrEnum):
    """Recorded state of a device."""

    POTENTIAL = "Potential"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class LinkStatus(StrEnum):
    """Recorded state of a link."""

    PLANNED = "Planned"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class LinkType(StrEnum):
    """The medium a link runs over."""

    FIVE_GHZ = "5 GHz"
    FIVE_GHZ_AIRMAX = "5 GHz Airmax"
    FIVE_GHZ_WDS = "5 GHz WDS"
    FIVE_GHZ_WLAN4 = "5 GHz Wlan4"
    SIX_GHZ = "6 GHz"
    TWENTYFOUR_GHZ = "24 GHz"
    SIXTY_GHZ = "60 GHz"
    SEVENTY_EIGHTY_GHZ = "70-80 GHz"
    VPN = "VPN"
    FIBER = "Fiber"
    ETHERNET = "Ethernet"


class LOSSource(StrEnum):
    """Who says two buildings can see each other."""

    HUMAN_ANNOTATED = "Human Annotated"
    EXISTING_LINK = "Existing Link"


class DeviceKind(StrEnum):
    """Which table extends a device row (MeshDB's model inheritance)."""

    DEVICE = "device"
    SECTOR = "sector"
    ACCESS_POINT = "accesspoint"


class TokenRole(StrEnum):
    """What an API token may do; each role includes the one before it."""

    READ_ONLY = "read_only"
    INSTALLER = "installer"
    ADMIN = "admin"


class ObservedStatus(StrEnum):
    """What polling saw (nodewatcher's monitoring states), never an admin's word."""

    PENDING = "pending"
    UP = "up"
    VISIBLE = "visible"
    DUPED = "duped"
    DOWN = "down"
    UNKNOWN = "unknown"


class SubnetStatus(StrEnum):
    """What the routing table says of a prefix (nodewatcher's subnet states)."""

    ANNOUNCED_OK = "announced_ok"
    NOT_ANNOUNCED = "not_announced"
    NOT_ALLOCATED = "not_allocated"
    SUBSET = "subset"
    HIJACKED = "hijacked"


class Subject(StrEnum):
    """What an outage, an availability figure or a monitoring start is about."""

    NODE = "node"
    DEVICE = "device"
    LINK = "link"


class SilenceScope(StrEnum):
    """What a silence quiets: a node, a device or an incident."""

    NODE = "node"
    DEVICE = "device"
    INCIDENT = "incident"
