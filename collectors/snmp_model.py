"""What the SNMP collector is asked for and what it answers: frozen dataclasses only."""

from __future__ import annotations

from dataclasses import dataclass, field

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES128", "AES192", "AES256")


@dataclass(frozen=True)
class SnmpV3Credentials:
    """An SNMPv3 USM user for authPriv (RFC 3414 / RFC 3826); keys never appear in repr."""

    user: str
    auth_key: str = field(repr=False)
    priv_key: str = field(repr=False)
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context_name: str = ""

    def __post_init__(self) -> None:
        if self.auth_protocol.upper() not in AUTH_PROTOCOLS:
            raise ValueError(f"auth_protocol must be one of {AUTH_PROTOCOLS}")
        if self.priv_protocol.upper() not in PRIV_PROTOCOLS:
            raise ValueError(f"priv_protocol must be one of {PRIV_PROTOCOLS}")
        # RFC 3414 section 11.2: passphrases shorter than 8 octets are not allowed.
        if len(self.auth_key) < 8 or len(self.priv_key) < 8:
            raise ValueError("SNMPv3 auth and priv keys must be at least 8 characters")


@dataclass(frozen=True)
class SnmpTarget:
    """One device to poll: address, UDP port and either a v2c community or v3 credentials."""

    address: str
    port: int = 161
    community: str | None = field(default=None, repr=False)
    v3: SnmpV3Credentials | None = None

    def __post_init__(self) -> None:
        if (self.community is None) == (self.v3 is None):
            raise ValueError("an SnmpTarget needs exactly one of community (v2c) or v3")
        if not 0 < self.port < 65536:
            raise ValueError(f"port out of range: {self.port}")

    @property
    def version(self) -> str:
        """'2c' or '3'."""
        return "3" if self.v3 is not None else "2c"


@dataclass(frozen=True)
class InterfaceObservation:
    """One row of ifTable/ifXTable (RFC 2863)."""

    index: int
    name: str
    oper_status: str
    speed_bps: int | None
    in_octets: int | None
    out_octets: int | None
    # 64 when the octets came from ifHCInOctets/ifHCOutOctets, 32 from ifInOctets/ifOutOctets:
    # the width a consumer needs to tell a counter wrap from a reset when it takes deltas.
    counter_bits: int | None


@dataclass(frozen=True)
class StationObservation:
    """A remote radio seen by this one: an airMAX/LTU/AF60 station or a RouterOS registration."""

    mac: str
    name: str | None = None
    signal_dbm: int | None = None
    noise_floor_dbm: int | None = None
    snr_db: int | None = None
    ccq_pct: int | None = None
    latency_ms: int | None = None
    tx_rate_bps: int | None = None
    rx_rate_bps: int | None = None
    distance_m: int | None = None
    uptime_s: float | None = None
    interface_index: int | None = None


@dataclass(frozen=True)
class RadioObservation:
    """Vendor radio state: one radio of the device and the stations it sees."""

    family: str
    mode: str | None = None
    ssid: str | None = None
    frequency_mhz: int | None = None
    channel_width_mhz: int | None = None
    signal_dbm: int | None = None
    noise_floor_dbm: int | None = None
    ccq_pct: int | None = None
    station_count: int | None = None
    tx_capacity_bps: int | None = None
    rx_capacity_bps: int | None = None
    stations: tuple[StationObservation, ...] = ()


@dataclass(frozen=True)
class SnmpObservation:
    """What one poll of one device saw; error says why it is empty or partial."""

    address: str
    port: int
    error: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_name: str | None = None
    uptime_s: float | None = None
    uptime_source: str | None = None
    sys_uptime_ticks: int | None = None
    firmware: str | None = None
    interfaces: tuple[InterfaceObservation, ...] = ()
    radios: tuple[RadioObservation, ...] = ()
    truncated: bool = False
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the whole poll succeeded."""
        return self.error is None
