"""OpenWrt's wireless figures, which its snmpd publishes through NET-SNMP-EXTEND-MIB.

OpenWrt has no wireless MIB; the usual setup (LibreNMS's OpenWrt agent scripts, run as
`extend` lines in snmpd.conf) publishes one extend per figure: "hardware" and "distro", an
"interfaces" list ("wlan0,wl-5G" per line), and per wireless interface "clients-<if>",
"frequency-<if>" (MHz), "noise-floor-<if>" (dBm), "snr-<if>-min|avg|max" (dB) and
"rate-tx-<if>-min|avg|max" / "rate-rx-<if>-..." (bit/s). Each answer is read from
nsExtendOutput1Line (the first line of the command's output), INDEXed by the extend's name.
"""

from __future__ import annotations

import re

from collectors.snmp_family import Family, row_after, text
from collectors.snmp_model import RadioObservation, Reading
from collectors.snmp_session import OID, Fetched, oid_of

NS_EXTEND_OUTPUT = "1.3.6.1.4.1.8072.1.3.2.3.1"
NS_EXTEND_LINE = oid_of(NS_EXTEND_OUTPUT + ".1")
NS_EXTEND_FULL = oid_of(NS_EXTEND_OUTPUT + ".2")


def _name_index(name: str) -> OID:
    # nsExtendToken is a DisplayString INDEX (not IMPLIED): a length, then one octet each.
    return (len(name), *name.encode())


# The interface list has several lines, so it is read from nsExtendOutputFull. GETNEXT on its
# instance less the last octet lands on exactly that instance when the extend exists.
INTERFACES_ROW = (*NS_EXTEND_FULL, *_name_index("interfaces"))
INTERFACES_NEXT = INTERFACES_ROW[:-1]
_FIGURE = re.compile(
    r"(clients|frequency|noise-floor|snr|rate-tx|rate-rx)-(\S+?)(?:-(min|avg|max))?"
)
_FIELDS = {
    "clients": "station_count",
    "frequency": "frequency_mhz",
    "noise-floor": "noise_floor_dbm",
    "snr": "snr_db",
    "rate-tx": "tx_rate_bps",
    "rate-rx": "rx_rate_bps",
}


def _lines(fetched: Fetched) -> dict[str, str]:
    """Extend name -> first line of its output."""
    found: dict[str, str] = {}
    for suffix, value in fetched.rows(NS_EXTEND_LINE):
        if suffix and len(suffix) == suffix[0] + 1 and max(suffix[1:], default=0) < 256:
            found[bytes(suffix[1:]).decode("utf-8", "replace")] = text(value) or ""
    return found


def _labels(fetched: Fetched) -> dict[str, str]:
    """Interface -> its label, from the "interfaces" extend ("wlan0,wl-5G" lines)."""
    listing = text(row_after(fetched.nexts, INTERFACES_NEXT, INTERFACES_ROW)) or ""
    labels = {}
    for line in listing.strip('"').splitlines():
        interface, _, label = line.strip().strip('"').partition(",")
        if interface:
            labels[interface] = label or interface
    return labels


def _number(value: str) -> int | None:
    try:
        return round(float(value))
    except ValueError:
        return None


def parse_extend(fetched: Fetched) -> Reading:
    """One radio per wireless interface the extends name; the model from "hardware"."""
    lines = _lines(fetched)
    figures: dict[str, dict[str, int]] = {}
    spreads: dict[str, dict[str, dict[str, int]]] = {}
    for name, value in lines.items():
        match = _FIGURE.fullmatch(name)
        number = _number(value)
        if match is None or number is None:
            continue
        kind, interface, stat = match.groups()
        field = _FIELDS[kind]
        if stat in (None, "avg"):
            figures.setdefault(interface, {})[field] = number
        else:
            spreads.setdefault(interface, {}).setdefault(field, {})[stat] = number
    labels = _labels(fetched)
    # Without the list, every interface named by a figure; "clients-wlan" is the sum over
    # all interfaces, not an interface of its own.
    names = list(labels) if labels else [i for i in figures if i != "wlan"]
    interfaces = [i for i in names if i in figures]
    radios = tuple(
        RadioObservation(
            family="openwrt",
            name=labels.get(interface, interface),
            spread=spreads.get(interface, {}),
            **figures[interface],  # type: ignore[arg-type]
        )
        for interface in sorted(interfaces)
    )
    model = lines.get("hardware") or None
    return Reading(
        radios=radios,
        firmware=lines.get("distro") or None,
        model=model,
        model_source='NET-SNMP-EXTEND-MIB::nsExtendOutput1Line."hardware"' if model else None,
    )


EXTEND = Family(
    "extend",
    NS_EXTEND_LINE,
    (INTERFACES_NEXT,),
    (NS_EXTEND_LINE,),
    parse_extend,
    # LibreNMS's OpenWrt scripts publish 28 extends for two radios; nsExtendNumEntries would
    # size the walk exactly but costs every device a probe in round one.
    rows_hint=32,
)
