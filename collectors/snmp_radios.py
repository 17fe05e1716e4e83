"""Vendor radio MIBs a mesh runs: Ubiquiti airMAX, airFiber, LTU, AF60 and MikroTik RouterOS.

Each family names a probe (GETNEXT on it lands inside the subtree when the device has it),
the columns read as their first row only (per-radio tables: mesh radios have one radio), and
the station tables walked in full. OIDs were checked against the vendors' MIBs and against
the recordings in ../shared/data (which objects real firmware actually answers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.snmp_mibs import as_int, as_mac, as_text, first_in, mac_from_octets
from collectors.snmp_model import RadioObservation, StationObservation
from collectors.snmp_session import OID, Fetched, oid_of


@dataclass(frozen=True)
class Family:
    """How to detect, fetch and read one vendor radio MIB."""

    name: str
    probe: OID
    singles: tuple[OID, ...]
    tables: tuple[OID, ...]
    parse: Callable[[Fetched], tuple[list[RadioObservation], str | None]]
    rows_hint: int = 4
    # A column whose first row counts the stations: asked in the first round to size the walk.
    count: OID | None = None


def _o(base: str, *subs: int) -> tuple[OID, ...]:
    root = oid_of(base)
    return tuple((*root, sub) for sub in subs)


def _rows(fetched: Fetched, columns: dict[str, OID], key: Callable[[OID], Any]) -> dict[Any, dict]:
    """Join walked columns into rows keyed by key(index suffix), keeping agent order."""
    rows: dict[Any, dict[str, Any]] = {}
    for field_name, column in columns.items():
        for suffix, value in fetched.rows(column):
            index = key(suffix)
            if index is not None:
                rows.setdefault(index, {})[field_name] = value
    return rows


def _mac_key(offset: int) -> Callable[[OID], tuple[int, ...] | None]:
    # MacAddress in an INDEX is six sub-identifiers with no length prefix (fixed size).
    def key(suffix: OID) -> tuple[int, ...] | None:
        mac = suffix[offset : offset + 6]
        return (*suffix[:offset], *mac) if len(mac) == 6 and max(mac) < 256 else None

    return key


def _strongest(*values: int | None) -> int | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _seconds(ticks: Any) -> float | None:
    value = as_int(ticks)
    return value / 100 if value is not None else None


# --- Ubiquiti airMAX: UBNT-AirMAX-MIB 1.3.6.1.4.1.41112.1.4 -----------------------------------
AM = "1.3.6.1.4.1.41112.1.4"
AM_MODE, AM_FREQ = _o(AM + ".1.1", 2, 4)
AM_SSID, AM_SIGNAL, AM_CCQ, AM_NOISE, AM_WIDTH, AM_STACOUNT = _o(AM + ".5.1", 2, 5, 7, 8, 14, 15)
# IEEE802dot11-MIB dot11manufacturerProductVersion: where airOS puts its firmware string.
DOT11_PRODUCT_VERSION = oid_of("1.2.840.10036.3.1.2.1.4")
AM_STA = dict(
    zip(
        ("name", "signal", "noise", "distance", "ccq", "tx", "rx", "conn", "latency"),
        _o(AM + ".7.1", 2, 3, 4, 5, 6, 11, 12, 15, 21),
        strict=True,
    )
)
AM_MODES = {1: "sta", 2: "ap", 3: "aprepeater", 4: "apwds"}


def _airos_rate(value: Any) -> int | None:
    # airOS 5/6 report kbit/s and airOS 8 bit/s in the same objects (the MIB gives no unit);
    # no 802.11 rate is below 1 Mbit/s, so a value under 1,000,000 must be kbit/s.
    rate = as_int(value)
    if rate is None or rate <= 0:
        return None
    return rate * 1000 if rate < 1_000_000 else rate


def parse_airmax(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """ubntRadioTable/ubntWlStatTable first row plus ubntStaTable."""
    nx = fetched.nexts
    stations = []
    for key, row in _rows(fetched, AM_STA, _mac_key(1)).items():
        stations.append(
            StationObservation(
                mac=mac_from_octets(key[1:]),
                name=as_text(row.get("name")) or None,
                signal_dbm=as_int(row.get("signal")),
                noise_floor_dbm=as_int(row.get("noise")),
                ccq_pct=as_int(row.get("ccq")),
                latency_ms=as_int(row.get("latency")),
                tx_rate_bps=_airos_rate(row.get("tx")),
                rx_rate_bps=_airos_rate(row.get("rx")),
                distance_m=as_int(row.get("distance")),
                uptime_s=_seconds(row.get("conn")),
            )
        )
    radio = RadioObservation(
        family="airmax",
        mode=AM_MODES.get(as_int(first_in(nx, AM_MODE)) or 0),
        ssid=as_text(first_in(nx, AM_SSID)),
        frequency_mhz=as_int(first_in(nx, AM_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AM_WIDTH)),
        signal_dbm=as_int(first_in(nx, AM_SIGNAL)),
        noise_floor_dbm=as_int(first_in(nx, AM_NOISE)),
        ccq_pct=as_int(first_in(nx, AM_CCQ)),
        station_count=as_int(first_in(nx, AM_STACOUNT)),
        stations=tuple(stations),
    )
    return [radio], as_text(first_in(nx, DOT11_PRODUCT_VERSION))


# --- Ubiquiti airFiber: UBNT-AirFIBER-MIB 1.3.6.1.4.1.41112.1.3 (point to point) -------------
AF = "1.3.6.1.4.1.41112.1.3"
AF_LINK_MODE, AF_TX_FREQ, AF_TX_WIDTH = _o(AF + ".1.1", 3, 5, 28)
AF_DIST, AF_RX_CAP, AF_TX_CAP, AF_RX0, AF_RX1, AF_FW, AF_LINK_UP, AF_REMOTE = _o(
    AF + ".2.1", 4, 5, 6, 11, 14, 40, 44, 45
)
AF_MODES = {1: "master", 2: "slave", 3: "spectral"}


def _airfiber_mhz(value: Any) -> int | None:
    # The MIB says MHz, but airFiber 11/24 answer kHz (11485000 for 11.485 GHz).
    freq = as_int(value)
    if freq is None or freq <= 0:
        return None
    return freq // 1000 if freq > 100_000 else freq


def parse_airfiber(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """airFiberConfig/airFiberStatus first row; the far end is the one station."""
    nx = fetched.nexts
    signal = _strongest(as_int(first_in(nx, AF_RX0)), as_int(first_in(nx, AF_RX1)))
    remote = as_mac(first_in(nx, AF_REMOTE))
    stations: tuple[StationObservation, ...] = ()
    if remote:
        uptime = as_int(first_in(nx, AF_LINK_UP))
        stations = (
            StationObservation(
                mac=remote,
                signal_dbm=signal,
                distance_m=as_int(first_in(nx, AF_DIST)),
                uptime_s=float(uptime) if uptime is not None else None,
            ),
        )
    radio = RadioObservation(
        family="airfiber",
        mode=AF_MODES.get(as_int(first_in(nx, AF_LINK_MODE)) or 0),
        frequency_mhz=_airfiber_mhz(first_in(nx, AF_TX_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AF_TX_WIDTH)),
        signal_dbm=signal,
        tx_capacity_bps=as_int(first_in(nx, AF_TX_CAP)),
        rx_capacity_bps=as_int(first_in(nx, AF_RX_CAP)),
        station_count=len(stations),
        stations=stations,
    )
    return [radio], as_text(first_in(nx, AF_FW))


# --- Ubiquiti LTU: UBNT-AFLTU-MIB 1.3.6.1.4.1.41112.1.10 --------------------------------------
LTU = "1.3.6.1.4.1.41112.1.10.1"
LTU_ROLE, LTU_FREQ, LTU_WIDTH = _o(LTU + ".2", 1, 2, 4)
(LTU_FW,) = _o(LTU + ".3", 4)
LTU_STA = dict(
    zip(
        ("tx_cap", "rx_cap", "rx0", "rx1", "name", "latency", "distance", "conn"),
        _o(LTU + ".4.1", 3, 4, 5, 6, 13, 22, 23, 24),
        strict=True,
    )
)
ROLES = {0: "ap", 1: "cpe"}


def _kbps(value: Any) -> int | None:
    kbps = as_int(value)
    return kbps * 1000 if kbps is not None and kbps > 0 else None


def parse_ltu(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """afLTU config scalars plus afLTUStationTable (indexed by the remote MAC)."""
    nx = fetched.nexts
    stations = []
    for key, row in _rows(fetched, LTU_STA, _mac_key(0)).items():
        stations.append(
            StationObservation(
                mac=mac_from_octets(key),
                name=as_text(row.get("name")) or None,
                signal_dbm=_strongest(as_int(row.get("rx0")), as_int(row.get("rx1"))),
                latency_ms=as_int(row.get("latency")),
                # LTU gives capacity, not a PHY rate; it is the closest to one it has.
                tx_rate_bps=_kbps(row.get("tx_cap")),
                rx_rate_bps=_kbps(row.get("rx_cap")),
                # The MIB says km but firmware answers metres (10955 on a 11 km link).
                distance_m=as_int(row.get("distance")),
                uptime_s=_float(row.get("conn")),
            )
        )
    role = as_int(first_in(nx, LTU_ROLE))
    radio = RadioObservation(
        family="ltu",
        mode=ROLES.get(role) if role is not None else None,
        frequency_mhz=as_int(first_in(nx, LTU_FREQ)),
        channel_width_mhz=as_int(first_in(nx, LTU_WIDTH)),
        station_count=len(stations),
        stations=tuple(stations),
    )
    return [radio], as_text(first_in(nx, LTU_FW))


def _float(value: Any) -> float | None:
    number = as_int(value)
    return float(number) if number is not None else None


# --- Ubiquiti airFiber 60: UI-AF60-MIB 1.3.6.1.4.1.41112.1.11 ---------------------------------
AF60 = "1.3.6.1.4.1.41112.1.11.1"
AF60_ROLE, AF60_FREQ, AF60_WIDTH, AF60_SSID = _o(AF60 + ".1", 1, 2, 3, 4)
(AF60_FW,) = _o(AF60 + ".2", 4)
AF60_STA = dict(
    zip(
        ("rssi", "snr", "tx_cap", "rx_cap", "name", "distance", "conn"),
        _o(AF60 + ".3.1", 3, 4, 7, 8, 14, 15, 17),
        strict=True,
    )
)


def parse_af60(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """af60Config/af60Status plus af60StationTable."""
    nx = fetched.nexts
    stations = []
    # Firmware answers scalars as ".1" instead of ".0" and adds a sub-identifier after the
    # MAC in the station index, so every value is read as "first row" / "first six".
    for key, row in _rows(fetched, AF60_STA, _mac_key(0)).items():
        stations.append(
            StationObservation(
                mac=mac_from_octets(key),
                name=as_text(row.get("name")) or None,
                signal_dbm=as_int(row.get("rssi")),
                snr_db=as_int(row.get("snr")),
                tx_rate_bps=_kbps(row.get("tx_cap")),
                rx_rate_bps=_kbps(row.get("rx_cap")),
                distance_m=as_int(row.get("distance")),
                uptime_s=_seconds(row.get("conn")),
            )
        )
    role = as_int(first_in(nx, AF60_ROLE))
    radio = RadioObservation(
        family="af60",
        mode=ROLES.get(role) if role is not None else None,
        ssid=as_text(first_in(nx, AF60_SSID)),
        frequency_mhz=as_int(first_in(nx, AF60_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AF60_WIDTH)),
        signal_dbm=stations[0].signal_dbm if len(stations) == 1 else None,
        station_count=len(stations),
        stations=tuple(stations),
    )
    return [radio], as_text(first_in(nx, AF60_FW))


# --- MikroTik: MIKROTIK-MIB 1.3.6.1.4.1.14988.1.1.1 (mtxrWireless) ----------------------------
MT = "1.3.6.1.4.1.14988.1.1.1"
MT_ST_STRENGTH, MT_ST_SSID, MT_ST_FREQ, MT_ST_BAND, MT_ST_CCQ = _o(MT + ".1.1", 4, 5, 7, 8, 9)
MT_AP_SSID, MT_AP_CLIENTS, MT_AP_FREQ, MT_AP_BAND, MT_AP_NOISE, MT_AP_CCQ = _o(
    MT + ".3.1", 4, 6, 7, 8, 9, 10
)
MT_60_MODE, MT_60_SSID, MT_60_CONNECTED, MT_60_REMOTE, MT_60_FREQ, MT_60_RSSI = _o(
    MT + ".8.1", 2, 3, 4, 5, 6, 12
)
MT_RTAB = dict(
    zip(
        ("strength", "tx", "rx", "uptime", "snr", "name"),
        _o(MT + ".2.1", 3, 8, 9, 11, 12, 20),
        strict=True,
    )
)
MT_60_STA = dict(
    zip(("remote", "phy", "rssi", "distance"), _o(MT + ".9.1", 3, 8, 9, 10), strict=True)
)
MT_60_MODES = {0: "apBridge", 1: "stationBridge", 2: "sniff", 3: "bridge"}
# mtxrLicVersion: the RouterOS version string, on every RouterOS device.
ROS_VERSION = oid_of("1.3.6.1.4.1.14988.1.1.4.4")


def _rtab_key(suffix: OID) -> OID | None:
    return suffix[:7] if len(suffix) >= 7 and max(suffix[:6]) < 256 else None


def _band_width(band: str | None) -> int | None:
    # RouterOS bands read "5180/20/an" or "2412/20-Ce/gn": the width follows the first slash.
    match = re.match(r"\d+/(\d+)", band or "")
    return int(match.group(1)) if match else None


def _positive(value: Any) -> int | None:
    number = as_int(value)
    return number if number else None


def parse_mikrotik(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """mtxrWlApTable/mtxrWlStatTable/mtxrWl60GTable first rows plus both station tables."""
    nx = fetched.nexts
    registered = []
    # mtxrWlRtabEntry INDEX { mtxrWlRtabAddr, mtxrWlRtabIface }: six MAC octets, then ifIndex.
    for key, row in _rows(fetched, MT_RTAB, _rtab_key).items():
        registered.append(
            StationObservation(
                mac=mac_from_octets(key[:6]),
                name=as_text(row.get("name")) or None,
                signal_dbm=as_int(row.get("strength")),
                # mtxrWlRtabSignalToNoise: "if value does not exist it is indicated with 0".
                snr_db=_positive(row.get("snr")),
                tx_rate_bps=_positive(row.get("tx")),
                rx_rate_bps=_positive(row.get("rx")),
                uptime_s=_seconds(row.get("uptime")),
                interface_index=key[6] if len(key) > 6 else None,
            )
        )
    radios: list[RadioObservation] = []
    ap_band = as_text(first_in(nx, MT_AP_BAND))
    if first_in(nx, MT_AP_FREQ) is not None or first_in(nx, MT_AP_SSID) is not None:
        radios.append(
            RadioObservation(
                family="mikrotik",
                mode="ap",
                ssid=as_text(first_in(nx, MT_AP_SSID)),
                frequency_mhz=_positive(first_in(nx, MT_AP_FREQ)),
                channel_width_mhz=_band_width(ap_band),
                noise_floor_dbm=_positive(first_in(nx, MT_AP_NOISE)),
                ccq_pct=as_int(first_in(nx, MT_AP_CCQ)),
                station_count=as_int(first_in(nx, MT_AP_CLIENTS)),
                stations=tuple(registered),
            )
        )
        registered = []
    if first_in(nx, MT_ST_FREQ) is not None or first_in(nx, MT_ST_SSID) is not None:
        radios.append(
            RadioObservation(
                family="mikrotik",
                mode="station",
                ssid=as_text(first_in(nx, MT_ST_SSID)),
                frequency_mhz=_positive(first_in(nx, MT_ST_FREQ)),
                channel_width_mhz=_band_width(as_text(first_in(nx, MT_ST_BAND))),
                signal_dbm=_positive(first_in(nx, MT_ST_STRENGTH)),
                ccq_pct=as_int(first_in(nx, MT_ST_CCQ)),
                station_count=len(registered),
                stations=tuple(registered),
            )
        )
        registered = []
    if first_in(nx, MT_60_FREQ) is not None or first_in(nx, MT_60_MODE) is not None:
        radios.append(_mikrotik_60g(fetched))
    if registered:
        # A registration table without an AP/station row: keep the stations all the same.
        radios.append(
            RadioObservation(
                family="mikrotik",
                station_count=len(registered),
                stations=tuple(registered),
            )
        )
    return radios, None


def _mikrotik_60g(fetched: Fetched) -> RadioObservation:
    nx = fetched.nexts
    stations = []
    for _, row in _rows(fetched, MT_60_STA, lambda suffix: suffix).items():
        mac = as_mac(row.get("remote"))
        if mac:
            phy = _positive(row.get("phy"))
            stations.append(
                StationObservation(
                    mac=mac,
                    signal_dbm=as_int(row.get("rssi")),
                    # mtxrWl60GStaPhyRate is in Mbit/s.
                    tx_rate_bps=phy * 1_000_000 if phy else None,
                    distance_m=as_int(row.get("distance")),
                )
            )
    remote = as_mac(first_in(nx, MT_60_REMOTE))
    if not stations and remote and as_int(first_in(nx, MT_60_CONNECTED)) == 1:
        # A 60 GHz station has no station table: its one peer is the interface's remote.
        stations.append(StationObservation(mac=remote, signal_dbm=as_int(first_in(nx, MT_60_RSSI))))
    mode = as_int(first_in(nx, MT_60_MODE))
    return RadioObservation(
        family="mikrotik-60g",
        mode=MT_60_MODES.get(mode) if mode is not None else None,
        ssid=as_text(first_in(nx, MT_60_SSID)),
        frequency_mhz=_positive(first_in(nx, MT_60_FREQ)),
        signal_dbm=as_int(first_in(nx, MT_60_RSSI)),
        station_count=len(stations),
        stations=tuple(stations),
    )


def parse_routeros(fetched: Fetched) -> tuple[list[RadioObservation], str | None]:
    """Only the RouterOS version: radios come from the mikrotik family."""
    return [], as_text(first_in(fetched.nexts, ROS_VERSION))


FAMILIES: tuple[Family, ...] = (
    Family(
        "airmax",
        oid_of(AM),
        (AM_MODE, AM_FREQ, AM_SSID, AM_SIGNAL, AM_CCQ, AM_NOISE, AM_WIDTH, AM_STACOUNT)
        + (DOT11_PRODUCT_VERSION,),
        tuple(AM_STA.values()),
        parse_airmax,
        count=AM_STACOUNT,
    ),
    Family(
        "airfiber",
        oid_of(AF),
        (AF_LINK_MODE, AF_TX_FREQ, AF_TX_WIDTH, AF_DIST, AF_RX_CAP, AF_TX_CAP, AF_RX0, AF_RX1)
        + (AF_FW, AF_LINK_UP, AF_REMOTE),
        (),
        parse_airfiber,
    ),
    Family(
        "ltu",
        oid_of(LTU),
        (LTU_ROLE, LTU_FREQ, LTU_WIDTH, LTU_FW),
        tuple(LTU_STA.values()),
        parse_ltu,
    ),
    Family(
        "af60",
        oid_of(AF60),
        (AF60_ROLE, AF60_FREQ, AF60_WIDTH, AF60_SSID, AF60_FW),
        tuple(AF60_STA.values()),
        parse_af60,
    ),
    Family(
        "mikrotik",
        oid_of(MT),
        (MT_AP_SSID, MT_AP_CLIENTS, MT_AP_FREQ, MT_AP_BAND, MT_AP_NOISE, MT_AP_CCQ)
        + (MT_ST_STRENGTH, MT_ST_SSID, MT_ST_FREQ, MT_ST_BAND, MT_ST_CCQ)
        + (MT_60_MODE, MT_60_SSID, MT_60_CONNECTED, MT_60_REMOTE, MT_60_FREQ, MT_60_RSSI),
        tuple(MT_RTAB.values()) + tuple(MT_60_STA.values()),
        parse_mikrotik,
        count=MT_AP_CLIENTS,
    ),
    Family("routeros", ROS_VERSION, (ROS_VERSION,), (), parse_routeros),
)
