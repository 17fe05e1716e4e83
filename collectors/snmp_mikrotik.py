"""MikroTik RouterOS (MIKROTIK-MIB): every radio with its own stations, LTE modems, identity.

mtxrWireless (1.3.6.1.4.1.14988.1.1.1) has one row per wireless interface in each of its
per-radio tables (mtxrWlApTable, mtxrWlStatTable, mtxrWl60GTable, all INDEXed by ifIndex),
and one registration table for the whole device, mtxrWlRtabTable, INDEXed by
{ mtxrWlRtabAddr, mtxrWlRtabIface }: each registration belongs to the radio whose ifIndex
ends its index, so a router with several radios lists each radio's own clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from collectors.snmp_family import (
    Family,
    columns_of,
    if_index,
    join_rows,
    positive,
    seconds,
    text,
)
from collectors.snmp_mibs import as_int, as_mac, first_in, mac_from_octets
from collectors.snmp_model import LteObservation, RadioObservation, Reading, StationObservation
from collectors.snmp_session import OID, Fetched, oid_of

MT = "1.3.6.1.4.1.14988.1.1.1"
# mtxrWlStatTable (a station-mode radio): TxRate, RxRate (bit/s), Strength (dBm), Ssid,
# Freq (MHz), Band, TxCCQ, RxCCQ (%).
MT_STAT_TABLE = oid_of(MT + ".1")
MT_STAT = dict(
    zip(
        ("tx", "rx", "strength", "ssid", "freq", "band", "tx_ccq", "rx_ccq"),
        columns_of(MT + ".1.1", 2, 3, 4, 5, 7, 8, 9, 10),
        strict=True,
    )
)
# mtxrWlApTable (an AP-mode radio): Ssid, ClientCount, Freq, Band, NoiseFloor (dBm),
# OverallTxCCQ (%). Its TxRate/RxRate are not read: the MIB does not say whose rate they are
# (RouterOS 6.40 answers 0 on every AP row), and the registration table has each client's.
MT_AP_TABLE = oid_of(MT + ".3")
MT_AP = dict(
    zip(
        ("ssid", "clients", "freq", "band", "noise", "ccq"),
        columns_of(MT + ".3.1", 4, 6, 7, 8, 9, 10),
        strict=True,
    )
)
# mtxrWl60GTable: Mode, Ssid, Connected, Remote, Freq (MHz), Signal (link quality, %),
# Rssi (dBm), PhyRate (Mbit/s).
MT_60_TABLE = oid_of(MT + ".8")
MT_60 = dict(
    zip(
        ("mode", "ssid", "connected", "remote", "freq", "quality", "rssi", "phy"),
        columns_of(MT + ".8.1", 2, 3, 4, 5, 6, 8, 12, 13),
        strict=True,
    )
)
# mtxrWl60GStaTable: Remote, Signal (%), PhyRate (Mbit/s), Rssi (dBm), Distance.
MT_60_STA = dict(
    zip(
        ("remote", "quality", "phy", "rssi", "distance"),
        columns_of(MT + ".9.1", 3, 5, 8, 9, 10),
        strict=True,
    )
)
# mtxrWlRtabTable: Strength (dBm), TxRate, RxRate (bit/s), Uptime, SignalToNoise, RadioName.
MT_RTAB = dict(
    zip(
        ("strength", "tx", "rx", "uptime", "snr", "name"),
        columns_of(MT + ".2.1", 3, 8, 9, 11, 12, 20),
        strict=True,
    )
)
# mtxrWlRtabEntryCount: sizes the registration table walk.
MT_RTAB_COUNT = oid_of(MT + ".4")
MT_60_MODES = {0: "apBridge", 1: "stationBridge", 2: "sniff", 3: "bridge"}

# mtxrLicense / mtxrSystem: RouterOS version, licence level, serial number, board name.
ROS_VERSION = oid_of("1.3.6.1.4.1.14988.1.1.4.4")
ROS_LICENCE = oid_of("1.3.6.1.4.1.14988.1.1.4.3")
ROS_SERIAL = oid_of("1.3.6.1.4.1.14988.1.1.7.3")
ROS_BOARD = oid_of("1.3.6.1.4.1.14988.1.1.7.9")
# mtxrLTEModemTable (INDEX ifIndex): SignalRSSI (dBm), SignalRSRQ (dB), SignalRSRP (dBm),
# SignalSINR (dB), as the MIB's DESCRIPTIONs give them.
LTE_TABLE = oid_of("1.3.6.1.4.1.14988.1.1.16.1")
LTE = dict(
    zip(
        ("rssi", "rsrq", "rsrp", "sinr"),
        columns_of("1.3.6.1.4.1.14988.1.1.16.1.1", 2, 3, 4, 7),
        strict=True,
    )
)
MIKROTIK_ENTERPRISE = "1.3.6.1.4.1.14988."

# mtxrWl60GStaDistance is an Integer32 with an empty DESCRIPTION (no unit). Read as metres,
# the recorded 2570 and 18545 would be 2.6 km and 18.5 km links, which 802.11ad radios
# (wAP 60G, LHG 60G: rated to about 1.5 km at best; oxygen absorbs ~15 dB/km at 60 GHz)
# cannot make, while carrying 2310 Mbit/s at MCS 8 and -54 dBm. As centimetres they are
# 25.7 m and 185 m, which fit. LibreNMS reached the same reading (PR #14300: divisor
# 100000 into km). So: centimetres.
CM_PER_M = 100


def _band_width(band: str | None) -> int | None:
    # RouterOS bands read "5180/20/an" or "2412/20-Ce/gn": the width follows the first slash.
    match = re.match(r"\d+/(\d+)", band or "")
    return int(match.group(1)) if match else None


def _rtab_key(suffix: OID) -> OID | None:
    return suffix[:7] if len(suffix) >= 7 and max(suffix[:6]) < 256 else None


def _registrations(fetched: Fetched) -> dict[int | None, list[StationObservation]]:
    """mtxrWlRtabTable rows grouped by the ifIndex of the radio they are registered on."""
    by_radio: dict[int | None, list[StationObservation]] = {}
    for key, row in join_rows(fetched, MT_RTAB, _rtab_key).items():
        iface = key[6] if len(key) > 6 else None
        by_radio.setdefault(iface, []).append(
            StationObservation(
                mac=mac_from_octets(key[:6]),
                name=text(row.get("name")),
                signal_dbm=as_int(row.get("strength")),
                # mtxrWlRtabSignalToNoise: "if value does not exist it is indicated with 0".
                snr_db=positive(row.get("snr")),
                tx_rate_bps=positive(row.get("tx")),
                rx_rate_bps=positive(row.get("rx")),
                uptime_s=seconds(row.get("uptime")),
                interface_index=iface,
            )
        )
    return by_radio


def _ap_radio(index: int, row: dict[str, Any], stations: list[StationObservation]) -> Any:
    return RadioObservation(
        family="mikrotik",
        mode="ap",
        interface_index=index,
        ssid=text(row.get("ssid")),
        frequency_mhz=positive(row.get("freq")),
        channel_width_mhz=_band_width(text(row.get("band"))),
        # 0 is what a virtual AP (no radio of its own) answers for its noise floor.
        noise_floor_dbm=positive(row.get("noise")),
        ccq_pct=as_int(row.get("ccq")),
        station_count=as_int(row.get("clients")),
        stations=tuple(stations),
    )


def _station_radio(index: int, row: dict[str, Any], stations: list[StationObservation]) -> Any:
    return RadioObservation(
        family="mikrotik",
        mode="station",
        interface_index=index,
        ssid=text(row.get("ssid")),
        frequency_mhz=positive(row.get("freq")),
        channel_width_mhz=_band_width(text(row.get("band"))),
        signal_dbm=positive(row.get("strength")),
        ccq_pct=as_int(row.get("tx_ccq")),
        rx_ccq_pct=as_int(row.get("rx_ccq")),
        tx_rate_bps=positive(row.get("tx")),
        rx_rate_bps=positive(row.get("rx")),
        station_count=len(stations),
        stations=tuple(stations),
    )


def _mbps(value: Any) -> int | None:
    rate = positive(value)
    return rate * 1_000_000 if rate else None


def _sixty_stations(fetched: Fetched) -> dict[int, StationObservation]:
    found = {}
    for index, row in join_rows(fetched, MT_60_STA, if_index).items():
        mac = as_mac(row.get("remote"))
        distance = as_int(row.get("distance"))
        if mac:
            found[index] = StationObservation(
                mac=mac,
                signal_dbm=as_int(row.get("rssi")),
                signal_quality_pct=as_int(row.get("quality")),
                tx_rate_bps=_mbps(row.get("phy")),
                distance_m=distance / CM_PER_M if distance is not None else None,
            )
    return found


def _sixty_radios(fetched: Fetched) -> list[RadioObservation]:
    rows = join_rows(fetched, MT_60, if_index)
    peers = _sixty_stations(fetched)
    radios = []
    for index, row in rows.items():
        # A station row carries the ifIndex of its own (station) interface, not the radio's:
        # with one 60 GHz radio every station is its; with several, only a matching index is.
        mine = list(peers.values()) if len(rows) == 1 else [peers[index]] if index in peers else []
        remote = as_mac(row.get("remote"))
        if not mine and remote and as_int(row.get("connected")) == 1:
            # A 60 GHz station may list no station row: its one peer is the interface's remote.
            mine = [StationObservation(mac=remote, signal_dbm=as_int(row.get("rssi")))]
        mode = as_int(row.get("mode"))
        radios.append(
            RadioObservation(
                family="mikrotik-60g",
                mode=MT_60_MODES.get(mode) if mode is not None else None,
                # mtxrWl60GIndex is not an ifIndex (a router's first 60 GHz radio is 1 while
                # ifIndex 1 is its wlan1), so the radio is not tied to an interface row.
                ssid=text(row.get("ssid")),
                frequency_mhz=positive(row.get("freq")),
                signal_dbm=as_int(row.get("rssi")),
                signal_quality_pct=as_int(row.get("quality")),
                tx_rate_bps=_mbps(row.get("phy")),
                station_count=len(mine),
                stations=tuple(mine),
            )
        )
    return radios


def parse_mikrotik(fetched: Fetched) -> Reading:
    """Every row of the AP, station and 60 GHz tables, each radio with its own registrations."""
    registered = _registrations(fetched)
    radios: list[RadioObservation] = []
    for index, row in join_rows(fetched, MT_AP, if_index).items():
        radios.append(_ap_radio(index, row, registered.pop(index, [])))
    for index, row in join_rows(fetched, MT_STAT, if_index).items():
        radios.append(_station_radio(index, row, registered.pop(index, [])))
    radios.extend(_sixty_radios(fetched))
    for index, stations in registered.items():
        # Registrations on an interface with no AP/station row: kept, on a radio of their own.
        radios.append(
            RadioObservation(
                family="mikrotik",
                interface_index=index,
                station_count=len(stations),
                stations=tuple(stations),
            )
        )
    return Reading(radios=tuple(radios))


def parse_routeros(fetched: Fetched) -> Reading:
    """RouterOS version, licence level, serial, board name and LTE modems."""
    nx = fetched.nexts
    board = text(first_in(nx, ROS_BOARD))
    licence = as_int(first_in(nx, ROS_LICENCE))
    lte = tuple(
        LteObservation(
            interface_index=index,
            rssi_dbm=as_int(row.get("rssi")),
            rsrp_dbm=as_int(row.get("rsrp")),
            rsrq_db=as_int(row.get("rsrq")),
            sinr_db=as_int(row.get("sinr")),
        )
        for index, row in join_rows(fetched, LTE, if_index).items()
    )
    return Reading(
        lte=lte,
        firmware=text(first_in(nx, ROS_VERSION)),
        model=board,
        model_source="MIKROTIK-MIB::mtxrBoardName" if board else None,
        serial=text(first_in(nx, ROS_SERIAL)),
        # mtxrLicLevel: the RouterOS licence level (0-6), shown as RouterOS names it.
        licence=f"Level {licence}" if licence is not None else None,
    )


def model_from_sys_descr(sys_descr: str | None, sys_object_id: str | None) -> str | None:
    """RouterOS writes "RouterOS <board>" into sysDescr: the board when nothing else names it."""
    if not sys_descr or not (sys_object_id or "").startswith(MIKROTIK_ENTERPRISE):
        return None
    match = re.fullmatch(r"RouterOS (\S+)", sys_descr.strip())
    return match.group(1) if match else None


def _columns(*tables: dict[str, OID]) -> Iterable[OID]:
    return (column for table in tables for column in table.values())


MIKROTIK = Family(
    "mikrotik",
    oid_of(MT),
    (),
    tuple(MT_RTAB.values()),
    parse_mikrotik,
    count=MT_RTAB_COUNT,
    # One row each fits the first request; a router with several radios takes one more.
    radio_rows_hint=1,
    radio_tables=(
        (MT_AP_TABLE, tuple(MT_AP.values())),
        (MT_STAT_TABLE, tuple(MT_STAT.values())),
        # A 60 GHz station table only comes with a 60 GHz interface table: one probe for both.
        (MT_60_TABLE, tuple(_columns(MT_60, MT_60_STA))),
    ),
)
ROUTEROS = Family(
    "routeros",
    ROS_VERSION,
    (ROS_VERSION, ROS_LICENCE, ROS_SERIAL, ROS_BOARD),
    (),
    parse_routeros,
    radio_tables=((LTE_TABLE, tuple(LTE.values())),),
    radio_rows_hint=1,
)
