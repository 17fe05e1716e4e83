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
    """A remote radio seen by this one: an airMAX/LTU/AF60 station or a RouterOS registration.

    Units: dBm for signals, dB for SNR, percent for CCQ and quality, bit/s for rates, metres
    for distance, seconds for uptime. Per-chain tuples are in chain order (chain 0 first).
    """

    mac: str
    name: str | None = None
    signal_dbm: int | None = None
    noise_floor_dbm: int | None = None
    snr_db: int | None = None
    ccq_pct: int | None = None
    latency_ms: int | None = None
    tx_rate_bps: int | None = None
    rx_rate_bps: int | None = None
    distance_m: float | None = None
    uptime_s: float | None = None
    interface_index: int | None = None
    # What the far end hears of us (AF60 reports both ends).
    remote_signal_dbm: int | None = None
    remote_snr_db: int | None = None
    chain_signal_dbm: tuple[int, ...] = ()
    # LTU: the receive power the link budget predicts per chain, and its level in percent.
    chain_ideal_dbm: tuple[int, ...] = ()
    chain_level_pct: tuple[int, ...] = ()
    signal_quality_pct: int | None = None


@dataclass(frozen=True)
class RadioObservation:
    """Vendor radio state: one radio (wireless interface) of the device and the stations it sees.

    Same units as StationObservation; tx_power_dbm is what the device calls its transmit
    power (EIRP on airFiber and LTU, conducted on airMAX and MikroTik).
    """

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
    interface_index: int | None = None
    name: str | None = None
    tx_power_dbm: int | None = None
    rx_frequency_mhz: int | None = None
    rx_ccq_pct: int | None = None
    tx_rate_bps: int | None = None
    rx_rate_bps: int | None = None
    snr_db: int | None = None
    signal_quality_pct: int | None = None
    distance_m: float | None = None
    # airMAX: RSSI as the chipset reports it (dB above its own reference, not dBm).
    rssi: int | None = None
    chain_rssi: tuple[int, ...] = ()
    chain_signal_dbm: tuple[int, ...] = ()
    airmax_quality_pct: int | None = None
    airmax_capacity_pct: int | None = None
    airtime_pct: float | None = None
    # airFiber: octets its data port carried (Counter64), which its IF-MIB answers as 0.
    rx_octets: int | None = None
    tx_octets: int | None = None
    # Figures a device reports as min/avg/max (OpenWrt's extend scripts): the avg is the
    # field itself, the spread is kept here as {"snr_db": {"min": 15, "max": 25}, ...}.
    spread: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LteObservation:
    """One LTE modem interface (MIKROTIK-MIB mtxrLTEModemTable): dBm for RSSI/RSRP, dB else."""

    interface_index: int
    name: str | None = None
    rssi_dbm: int | None = None
    rsrp_dbm: int | None = None
    rsrq_db: int | None = None
    sinr_db: int | None = None


@dataclass(frozen=True)
class Reading:
    """What one vendor family's objects say: radios, modems and the device's own identity."""

    radios: tuple[RadioObservation, ...] = ()
    lte: tuple[LteObservation, ...] = ()
    firmware: str | None = None
    model: str | None = None
    # The MIB object the model was read from, e.g. "UBNT-AFLTU-MIB::afLTUDevModel".
    model_source: str | None = None
    serial: str | None = None
    licence: str | None = None


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
    model: str | None = None
    model_source: str | None = None
    serial: str | None = None
    licence: str | None = None
    interfaces: tuple[InterfaceObservation, ...] = ()
    radios: tuple[RadioObservation, ...] = ()
    lte: tuple[LteObservation, ...] = ()
    truncated: bool = False
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the whole poll succeeded."""
        return self.error is None
