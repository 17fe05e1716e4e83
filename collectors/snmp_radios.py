"""Ubiquiti radio MIBs a mesh runs (airMAX, airFiber, LTU, AF60), and every family in order.

Each family names a probe (GETNEXT on it lands inside the subtree when the device has it),
the objects read as their first row (one radio per device on these), and the station tables
walked in full. OIDs and units come from the vendors' MIBs (UBNT-AirMAX-MIB,
UBNT-AirFIBER-MIB, UBNT-AFLTU-MIB, UI-AF60-MIB) and were checked against recordings of real
firmware (which objects it actually answers, and where it departs from its MIB).
"""

from __future__ import annotations

from typing import Any

from collectors.snmp_extend import EXTEND
from collectors.snmp_family import (
    Family,
    as_float,
    columns_of,
    join_rows,
    kbps,
    known,
    mac_key,
    row_after,
    seconds,
    strongest,
    text,
)
from collectors.snmp_mibs import as_int, as_mac, first_in, mac_from_octets
from collectors.snmp_mikrotik import MIKROTIK, ROUTEROS
from collectors.snmp_model import RadioObservation, Reading, StationObservation
from collectors.snmp_session import OID, Fetched, VarBind, oid_of

# --- Ubiquiti airMAX: UBNT-AirMAX-MIB 1.3.6.1.4.1.41112.1.4 -----------------------------------
AM = "1.3.6.1.4.1.41112.1.4"
# ubntRadioTable: Mode, Freq (MHz), TxPower (dBm), Distance (the ACK distance set, metres).
AM_MODE, AM_FREQ, AM_TX_POWER, AM_DISTANCE = columns_of(AM + ".1.1", 2, 4, 6, 7)
# ubntWlStatTable: Ssid, Signal (dBm), Rssi, Ccq (%), NoiseFloor (dBm), TxRate, RxRate,
# ChanWidth (MHz), StaCount.
AM_SSID, AM_SIGNAL, AM_RSSI, AM_CCQ, AM_NOISE, AM_TX_RATE, AM_RX_RATE, AM_WIDTH, AM_STACOUNT = (
    columns_of(AM + ".5.1", 2, 5, 6, 7, 8, 9, 10, 14, 15)
)
# ubntAirMaxTable: Quality (%), Capacity (%), Airtime (tenths of a percent: airOS 8 answers
# 699 where its own page shows 69.9 %).
AM_QUALITY, AM_CAPACITY, AM_AIRTIME = columns_of(AM + ".6.1", 3, 4, 7)
# ubntRadioRssi, INDEX { ubntRadioIndex, ubntRadioRssiIndex }: one row per receive chain.
(AM_CHAIN_RSSI,) = columns_of(AM + ".2.1", 2)
AM_CHAINS = 3  # airMAX radios have at most 3x3 chains
AM_CHAIN_NEXTS = (AM_CHAIN_RSSI, *((*AM_CHAIN_RSSI, 1, n) for n in range(1, AM_CHAINS)))
# IEEE802dot11-MIB dot11ResourceInfoTable: airOS puts its model in dot11manufacturerProductName
# and its firmware string in dot11manufacturerProductVersion.
DOT11_PRODUCT_NAME = oid_of("1.2.840.10036.3.1.2.1.3")
DOT11_PRODUCT_VERSION = oid_of("1.2.840.10036.3.1.2.1.4")
AM_STA = dict(
    zip(
        ("name", "signal", "noise", "distance", "ccq", "tx", "rx", "conn", "latency"),
        columns_of(AM + ".7.1", 2, 3, 4, 5, 6, 11, 12, 15, 21),
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


def _chains(nexts: dict[OID, VarBind | None]) -> tuple[int, ...]:
    # GETNEXT(column), GETNEXT(column.1.1), ... land on chains 1, 2, 3 of radio 1 when present.
    values = (
        row_after(nexts, asked, (*AM_CHAIN_RSSI, 1, chain))
        for chain, asked in enumerate(AM_CHAIN_NEXTS, start=1)
    )
    return known(*values)


def parse_airmax(fetched: Fetched) -> Reading:
    """ubntRadioTable/ubntWlStatTable/ubntAirMaxTable first rows plus ubntStaTable."""
    nx = fetched.nexts
    stations = []
    for key, row in join_rows(fetched, AM_STA, mac_key(1)).items():
        stations.append(
            StationObservation(
                mac=mac_from_octets(key[1:]),
                name=text(row.get("name")),
                signal_dbm=as_int(row.get("signal")),
                noise_floor_dbm=as_int(row.get("noise")),
                ccq_pct=as_int(row.get("ccq")),
                latency_ms=as_int(row.get("latency")),
                tx_rate_bps=_airos_rate(row.get("tx")),
                rx_rate_bps=_airos_rate(row.get("rx")),
                distance_m=as_float(row.get("distance")),
                uptime_s=seconds(row.get("conn")),
            )
        )
    airtime = as_int(first_in(nx, AM_AIRTIME))
    radio = RadioObservation(
        family="airmax",
        mode=AM_MODES.get(as_int(first_in(nx, AM_MODE)) or 0),
        ssid=text(first_in(nx, AM_SSID)),
        frequency_mhz=as_int(first_in(nx, AM_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AM_WIDTH)),
        signal_dbm=as_int(first_in(nx, AM_SIGNAL)),
        noise_floor_dbm=as_int(first_in(nx, AM_NOISE)),
        ccq_pct=as_int(first_in(nx, AM_CCQ)),
        station_count=as_int(first_in(nx, AM_STACOUNT)),
        stations=tuple(stations),
        tx_power_dbm=as_int(first_in(nx, AM_TX_POWER)),
        tx_rate_bps=_airos_rate(first_in(nx, AM_TX_RATE)),
        rx_rate_bps=_airos_rate(first_in(nx, AM_RX_RATE)),
        distance_m=as_float(first_in(nx, AM_DISTANCE)),
        rssi=as_int(first_in(nx, AM_RSSI)),
        chain_rssi=_chains(nx),
        airmax_quality_pct=as_int(first_in(nx, AM_QUALITY)),
        airmax_capacity_pct=as_int(first_in(nx, AM_CAPACITY)),
        airtime_pct=airtime / 10 if airtime is not None else None,
    )
    model = text(first_in(nx, DOT11_PRODUCT_NAME))
    return Reading(
        radios=(radio,),
        firmware=text(first_in(nx, DOT11_PRODUCT_VERSION)),
        model=model,
        model_source="IEEE802dot11-MIB::dot11manufacturerProductName" if model else None,
    )


# --- Ubiquiti airFiber: UBNT-AirFIBER-MIB 1.3.6.1.4.1.41112.1.3 (point to point) -------------
AF = "1.3.6.1.4.1.41112.1.3"
# airFiberConfigTable: linkMode, txFrequency, rxFrequency, txPower (dBm EIRP), channelWidth.
AF_LINK_MODE, AF_TX_FREQ, AF_RX_FREQ, AF_TX_POWER, AF_TX_WIDTH = columns_of(
    AF + ".1.1", 3, 5, 6, 9, 28
)
AF_DIST, AF_RX_CAP, AF_TX_CAP, AF_RX0, AF_RX1, AF_FW, AF_LINK_UP, AF_REMOTE = columns_of(
    AF + ".2.1", 4, 5, 6, 11, 14, 40, 44, 45
)
# airFiberStatisticsTable txOctetsOK / rxOctetsOK: the data port's MAC counters (Counter64);
# this firmware answers 0 for every ifTable octet counter, so these are the link's traffic.
AF_TX_OCTETS, AF_RX_OCTETS = columns_of(AF + ".3.1", 6, 7)
AF_MODES = {1: "master", 2: "slave", 3: "spectral"}


def _airfiber_mhz(value: Any) -> int | None:
    # The MIB says MHz, but airFiber 11/24 answer kHz (11485000 for 11.485 GHz).
    freq = as_int(value)
    if freq is None or freq <= 0:
        return None
    return freq // 1000 if freq > 100_000 else freq


def parse_airfiber(fetched: Fetched) -> Reading:
    """airFiberConfig/airFiberStatus first row; the far end is the one station."""
    nx = fetched.nexts
    chains = known(first_in(nx, AF_RX0), first_in(nx, AF_RX1))
    signal = strongest(*chains)
    remote = as_mac(first_in(nx, AF_REMOTE))
    # airFiberStatusRemoteDistance is in metres (11450 on an 11.5 km link): the link's length,
    # kept on the radio too, as a point-to-point radio has one link even when the far end's
    # MAC is not answered.
    distance = as_float(first_in(nx, AF_DIST))
    stations: tuple[StationObservation, ...] = ()
    if remote:
        uptime = as_int(first_in(nx, AF_LINK_UP))
        stations = (
            StationObservation(
                mac=remote,
                signal_dbm=signal,
                distance_m=distance,
                uptime_s=float(uptime) if uptime is not None else None,
                chain_signal_dbm=chains,
            ),
        )
    radio = RadioObservation(
        family="airfiber",
        mode=AF_MODES.get(as_int(first_in(nx, AF_LINK_MODE)) or 0),
        frequency_mhz=_airfiber_mhz(first_in(nx, AF_TX_FREQ)),
        rx_frequency_mhz=_airfiber_mhz(first_in(nx, AF_RX_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AF_TX_WIDTH)),
        signal_dbm=signal,
        chain_signal_dbm=chains,
        distance_m=distance,
        tx_power_dbm=as_int(first_in(nx, AF_TX_POWER)),
        tx_capacity_bps=as_int(first_in(nx, AF_TX_CAP)),
        rx_capacity_bps=as_int(first_in(nx, AF_RX_CAP)),
        rx_octets=as_int(first_in(nx, AF_RX_OCTETS)),
        tx_octets=as_int(first_in(nx, AF_TX_OCTETS)),
        station_count=len(stations),
        stations=stations,
    )
    return Reading(radios=(radio,), firmware=text(first_in(nx, AF_FW)))


# --- Ubiquiti LTU: UBNT-AFLTU-MIB 1.3.6.1.4.1.41112.1.10 --------------------------------------
LTU = "1.3.6.1.4.1.41112.1.10.1"
# afLTUConfig: Role, Frequency (MHz), Bandwidth (MHz), TxEIRP (dBm).
LTU_ROLE, LTU_FREQ, LTU_WIDTH, LTU_EIRP = columns_of(LTU + ".2", 1, 2, 4, 6)
# afLTUStatus: DevModel, FirmwareVersion.
LTU_MODEL, LTU_FW = columns_of(LTU + ".3", 2, 4)
# afLTUStationTable: capacities in kbit/s, RxPower0/1 and IdealRxPower0/1 in dBm,
# RxPowerLevel0/1 in percent.
LTU_STA = dict(
    zip(
        ("tx_cap", "rx_cap", "rx0", "rx1", "ideal0", "ideal1", "level0", "level1")
        + ("name", "latency", "distance", "conn"),
        columns_of(LTU + ".4.1", 3, 4, 5, 6, 7, 8, 9, 10, 13, 22, 23, 24),
        strict=True,
    )
)
ROLES = {0: "ap", 1: "cpe"}


def parse_ltu(fetched: Fetched) -> Reading:
    """afLTU config and status scalars plus afLTUStationTable (indexed by the remote MAC)."""
    nx = fetched.nexts
    stations = []
    for key, row in join_rows(fetched, LTU_STA, mac_key(0)).items():
        chains = known(row.get("rx0"), row.get("rx1"))
        stations.append(
            StationObservation(
                mac=mac_from_octets(key),
                name=text(row.get("name")),
                signal_dbm=strongest(*chains),
                latency_ms=as_int(row.get("latency")),
                # LTU gives capacity, not a PHY rate; it is the closest to one it has.
                tx_rate_bps=kbps(row.get("tx_cap")),
                rx_rate_bps=kbps(row.get("rx_cap")),
                # The MIB says km but firmware answers metres (10955 on a 11 km link).
                distance_m=as_float(row.get("distance")),
                uptime_s=as_float(row.get("conn")),
                chain_signal_dbm=chains,
                chain_ideal_dbm=known(row.get("ideal0"), row.get("ideal1")),
                chain_level_pct=known(row.get("level0"), row.get("level1")),
            )
        )
    role = as_int(first_in(nx, LTU_ROLE))
    radio = RadioObservation(
        family="ltu",
        mode=ROLES.get(role) if role is not None else None,
        frequency_mhz=as_int(first_in(nx, LTU_FREQ)),
        channel_width_mhz=as_int(first_in(nx, LTU_WIDTH)),
        tx_power_dbm=as_int(first_in(nx, LTU_EIRP)),
        station_count=len(stations),
        stations=tuple(stations),
    )
    model = text(first_in(nx, LTU_MODEL))
    return Reading(
        radios=(radio,),
        firmware=text(first_in(nx, LTU_FW)),
        model=model,
        model_source="UBNT-AFLTU-MIB::afLTUDevModel" if model else None,
    )


# --- Ubiquiti airFiber 60: UI-AF60-MIB 1.3.6.1.4.1.41112.1.11 ---------------------------------
AF60 = "1.3.6.1.4.1.41112.1.11.1"
AF60_ROLE, AF60_FREQ, AF60_WIDTH, AF60_SSID = columns_of(AF60 + ".1", 1, 2, 3, 4)
# af60Status: the device model and the firmware version.
AF60_MODEL, AF60_FW = columns_of(AF60 + ".2", 2, 4)
# af60StationTable: local RSSI (dBm) and SNR (dB), capacities in kbit/s, distance in metres,
# and what the far end reports of us (remote RSSI and SNR).
AF60_STA = dict(
    zip(
        ("rssi", "snr", "tx_cap", "rx_cap", "name", "distance", "conn", "rrssi", "rsnr"),
        columns_of(AF60 + ".3.1", 3, 4, 7, 8, 14, 15, 17, 18, 19),
        strict=True,
    )
)


def parse_af60(fetched: Fetched) -> Reading:
    """af60Config/af60Status plus af60StationTable."""
    nx = fetched.nexts
    stations = []
    # Firmware answers scalars as ".1" instead of ".0" and adds a sub-identifier after the
    # MAC in the station index, so every value is read as "first row" / "first six".
    for key, row in join_rows(fetched, AF60_STA, mac_key(0)).items():
        stations.append(
            StationObservation(
                mac=mac_from_octets(key),
                name=text(row.get("name")),
                signal_dbm=as_int(row.get("rssi")),
                snr_db=as_int(row.get("snr")),
                tx_rate_bps=kbps(row.get("tx_cap")),
                rx_rate_bps=kbps(row.get("rx_cap")),
                distance_m=as_float(row.get("distance")),
                uptime_s=seconds(row.get("conn")),
                remote_signal_dbm=as_int(row.get("rrssi")),
                remote_snr_db=as_int(row.get("rsnr")),
            )
        )
    role = as_int(first_in(nx, AF60_ROLE))
    one = stations[0] if len(stations) == 1 else None
    radio = RadioObservation(
        family="af60",
        mode=ROLES.get(role) if role is not None else None,
        ssid=text(first_in(nx, AF60_SSID)),
        frequency_mhz=as_int(first_in(nx, AF60_FREQ)),
        channel_width_mhz=as_int(first_in(nx, AF60_WIDTH)),
        signal_dbm=one.signal_dbm if one else None,
        snr_db=one.snr_db if one else None,
        station_count=len(stations),
        stations=tuple(stations),
    )
    model = text(first_in(nx, AF60_MODEL))
    return Reading(
        radios=(radio,),
        firmware=text(first_in(nx, AF60_FW)),
        model=model,
        model_source="UI-AF60-MIB::af60DevModel" if model else None,
    )


FAMILIES: tuple[Family, ...] = (
    Family(
        "airmax",
        oid_of(AM),
        (AM_MODE, AM_FREQ, AM_TX_POWER, AM_DISTANCE)
        + (AM_SSID, AM_SIGNAL, AM_RSSI, AM_CCQ, AM_NOISE, AM_TX_RATE, AM_RX_RATE, AM_WIDTH)
        + (AM_STACOUNT, AM_QUALITY, AM_CAPACITY, AM_AIRTIME, *AM_CHAIN_NEXTS)
        + (DOT11_PRODUCT_NAME, DOT11_PRODUCT_VERSION),
        tuple(AM_STA.values()),
        parse_airmax,
        count=AM_STACOUNT,
    ),
    Family(
        "airfiber",
        oid_of(AF),
        (AF_LINK_MODE, AF_TX_FREQ, AF_RX_FREQ, AF_TX_POWER, AF_TX_WIDTH, AF_DIST, AF_RX_CAP)
        + (AF_TX_CAP, AF_RX0, AF_RX1, AF_FW, AF_LINK_UP, AF_REMOTE, AF_TX_OCTETS, AF_RX_OCTETS),
        (),
        parse_airfiber,
    ),
    Family(
        "ltu",
        oid_of(LTU),
        (LTU_ROLE, LTU_FREQ, LTU_WIDTH, LTU_EIRP, LTU_MODEL, LTU_FW),
        tuple(LTU_STA.values()),
        parse_ltu,
    ),
    Family(
        "af60",
        oid_of(AF60),
        (AF60_ROLE, AF60_FREQ, AF60_WIDTH, AF60_SSID, AF60_MODEL, AF60_FW),
        tuple(AF60_STA.values()),
        parse_af60,
    ),
    MIKROTIK,
    ROUTEROS,
    EXTEND,
)
