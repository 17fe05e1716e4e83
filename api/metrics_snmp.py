"""/metrics families for what SNMP read: interfaces, radios, stations and LTE modems.

Read from each device's observed SNMP JSON at scrape time. Only numbers worth a time series
are exported; names and identities stay in the health answer. Labels are bounded by the
network itself (devices x interfaces, radios, stations).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

DEVICE_LABELS = ["device_id", "name", "network_number"]

# field in the JSON -> (metric name suffix, help); units are in the names.
INTERFACE_GAUGES = {
    "speed_bps": ("interface_speed_bps", "Interface speed the device reports, bit/s"),
    "in_bps": ("interface_in_bps", "Bits received per second between the last two polls"),
    "out_bps": ("interface_out_bps", "Bits sent per second between the last two polls"),
}
INTERFACE_COUNTERS = {
    "in_octets": ("interface_in_octets", "ifHCInOctets (or ifInOctets: see counter_bits)"),
    "out_octets": ("interface_out_octets", "ifHCOutOctets (or ifOutOctets)"),
}
RADIO_GAUGES = {
    "frequency_mhz": ("radio_frequency_mhz", "Radio (transmit) frequency, MHz"),
    "rx_frequency_mhz": ("radio_rx_frequency_mhz", "Receive frequency where apart, MHz"),
    "channel_width_mhz": ("radio_channel_width_mhz", "Channel width, MHz"),
    "signal_dbm": ("radio_signal_dbm", "Received signal, dBm"),
    "noise_floor_dbm": ("radio_noise_floor_dbm", "Noise floor, dBm"),
    "snr_db": ("radio_snr_db", "Signal to noise, dB"),
    "ccq_pct": ("radio_ccq_percent", "Transmit CCQ, percent"),
    "rx_ccq_pct": ("radio_rx_ccq_percent", "Receive CCQ, percent"),
    "tx_power_dbm": ("radio_tx_power_dbm", "Transmit power (EIRP on airFiber/LTU), dBm"),
    "station_count": ("radio_stations", "Stations (clients) associated"),
    "tx_rate_bps": ("radio_tx_rate_bps", "Transmit rate, bit/s"),
    "rx_rate_bps": ("radio_rx_rate_bps", "Receive rate, bit/s"),
    "tx_capacity_bps": ("radio_tx_capacity_bps", "Transmit capacity, bit/s"),
    "rx_capacity_bps": ("radio_rx_capacity_bps", "Receive capacity, bit/s"),
    "signal_quality_pct": ("radio_signal_quality_percent", "Link quality (60 GHz), percent"),
    "airmax_quality_pct": ("radio_airmax_quality_percent", "airMAX quality, percent"),
    "airmax_capacity_pct": ("radio_airmax_capacity_percent", "airMAX capacity, percent"),
    "airtime_pct": ("radio_airtime_percent", "Airtime in use, percent"),
}
STATION_GAUGES = {
    "signal_dbm": ("station_signal_dbm", "Signal received from the station, dBm"),
    "remote_signal_dbm": ("station_remote_signal_dbm", "Signal the station receives, dBm"),
    "snr_db": ("station_snr_db", "Signal to noise, dB"),
    "remote_snr_db": ("station_remote_snr_db", "Signal to noise at the station, dB"),
    "ccq_pct": ("station_ccq_percent", "CCQ, percent"),
    "tx_rate_bps": ("station_tx_rate_bps", "Rate towards the station, bit/s"),
    "rx_rate_bps": ("station_rx_rate_bps", "Rate from the station, bit/s"),
    "distance_m": ("station_distance_meters", "Distance to the station, metres"),
    "latency_ms": ("station_latency_ms", "Latency to the station, milliseconds"),
    "signal_quality_pct": ("station_signal_quality_percent", "Link quality, percent"),
}
RADIO_COUNTERS = {
    "rx_octets": ("radio_rx_octets", "Octets the radio's data port received (airFiber)"),
    "tx_octets": ("radio_tx_octets", "Octets the radio's data port sent (airFiber)"),
}
CHAINS = {
    "chain_signal_dbm": ("radio_chain_signal_dbm", "Received signal per chain, dBm"),
    "chain_rssi": ("radio_chain_rssi", "airMAX RSSI per chain (chipset units, not dBm)"),
}
LTE_GAUGES = {
    "rssi_dbm": ("lte_rssi_dbm", "LTE RSSI, dBm"),
    "rsrp_dbm": ("lte_rsrp_dbm", "LTE RSRP, dBm"),
    "rsrq_db": ("lte_rsrq_db", "LTE RSRQ, dB"),
    "sinr_db": ("lte_sinr_db", "LTE SINR, dB"),
}


def _families(
    table: dict[str, tuple[str, str]], labels: list[str], kind: type = GaugeMetricFamily
) -> dict[str, Any]:
    return {
        field: kind(f"meshkeeper_{name}", text, labels=DEVICE_LABELS + labels)
        for field, (name, text) in table.items()
    }


def _fill(families: dict[str, Any], row: dict[str, Any], labels: list[str]) -> None:
    for field, family in families.items():
        value = row.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            family.add_metric(labels, value)


def snmp_families(devices: Iterable[tuple[list[str], dict[str, Any] | None]]) -> list[Metric]:
    """Every SNMP family, from (device label values, observed SNMP JSON) pairs."""
    if_labels = ["interface"]
    radio_labels = ["radio", "radio_index"]
    interfaces = _families(INTERFACE_GAUGES, if_labels)
    counters = _families(INTERFACE_COUNTERS, if_labels, CounterMetricFamily)
    oper = GaugeMetricFamily(
        "meshkeeper_interface_up", "1 when ifOperStatus is up", labels=DEVICE_LABELS + if_labels
    )
    radios = _families(RADIO_GAUGES, radio_labels)
    radio_counters = _families(RADIO_COUNTERS, radio_labels, CounterMetricFamily)
    chains = _families(CHAINS, [*radio_labels, "chain"])
    stations = _families(STATION_GAUGES, [*radio_labels, "mac"])
    lte = _families(LTE_GAUGES, ["interface"])
    for device, block in devices:
        block = block or {}
        for port in block.get("interfaces") or []:
            labels = [*device, str(port.get("name"))]
            oper.add_metric(labels, 1 if port.get("oper_status") == "up" else 0)
            _fill(interfaces, port, labels)
            _fill(counters, port, labels)
        for position, radio in enumerate(block.get("radios") or []):
            labels = [*device, str(radio.get("name") or radio.get("family")), str(position)]
            _fill(radios, radio, labels)
            _fill(radio_counters, radio, labels)
            for field, family in chains.items():
                for chain, value in enumerate(radio.get(field) or []):
                    family.add_metric([*labels, str(chain)], value)
            for station in radio.get("stations") or []:
                _fill(stations, station, [*labels, str(station.get("mac"))])
        for modem in block.get("lte") or []:
            labels = [*device, str(modem.get("name") or modem.get("interface_index"))]
            _fill(lte, modem, labels)
    return [
        oper,
        *interfaces.values(),
        *counters.values(),
        *radios.values(),
        *radio_counters.values(),
        *chains.values(),
        *stations.values(),
        *lte.values(),
    ]
