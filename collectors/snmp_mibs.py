"""Standard MIB objects (SNMPv2-MIB, IF-MIB, HOST-RESOURCES-MIB) and turning answers into values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pyasn1.type import univ

from collectors.snmp_model import InterfaceObservation
from collectors.snmp_session import OID, Fetched, VarBind, is_value, oid_of

# SNMPv2-MIB system group (RFC 3418): GETNEXT on the object gives its ".0" instance.
SYS_DESCR = oid_of("1.3.6.1.2.1.1.1")
SYS_OBJECT_ID = oid_of("1.3.6.1.2.1.1.2")
SYS_UPTIME = oid_of("1.3.6.1.2.1.1.3")
SYS_NAME = oid_of("1.3.6.1.2.1.1.5")
# HOST-RESOURCES-MIB hrSystemUptime (RFC 2790): the host's uptime, not the agent's.
HR_SYSTEM_UPTIME = oid_of("1.3.6.1.2.1.25.1.1")
# SNMP-FRAMEWORK-MIB snmpEngineTime (RFC 3411): seconds, Integer32, no 497-day wrap.
SNMP_ENGINE_TIME = oid_of("1.3.6.1.6.3.10.2.1.3")
IF_NUMBER = oid_of("1.3.6.1.2.1.2.1")

# IF-MIB (RFC 2863) ifTable and ifXTable columns.
IF_DESCR = oid_of("1.3.6.1.2.1.2.2.1.2")
IF_SPEED = oid_of("1.3.6.1.2.1.2.2.1.5")
IF_OPER_STATUS = oid_of("1.3.6.1.2.1.2.2.1.8")
IF_IN_OCTETS = oid_of("1.3.6.1.2.1.2.2.1.10")
IF_OUT_OCTETS = oid_of("1.3.6.1.2.1.2.2.1.16")
IF_NAME = oid_of("1.3.6.1.2.1.31.1.1.1.1")
IF_HC_IN_OCTETS = oid_of("1.3.6.1.2.1.31.1.1.1.6")
IF_HC_OUT_OCTETS = oid_of("1.3.6.1.2.1.31.1.1.1.10")
IF_HIGH_SPEED = oid_of("1.3.6.1.2.1.31.1.1.1.15")

SYSTEM_NEXTS: tuple[OID, ...] = (
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYS_NAME,
    HR_SYSTEM_UPTIME,
    SNMP_ENGINE_TIME,
    IF_NUMBER,
)
# Probing one column of ifXTable tells whether to walk it or fall back to ifTable.
IFX_PROBES: tuple[OID, ...] = (IF_NAME, IF_HC_IN_OCTETS, IF_HIGH_SPEED)

# ifOperStatus values (RFC 2863).
OPER_STATUS = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}

# TimeTicks are hundredths of a second in 32 bits (RFC 2578 7.1.8): they wrap to 0 after
# 2**32 cs = 42,949,672.96 s, about 497.1 days.
TICKS_WRAP_S = 2**32 / 100
# snmpEngineTime and the TimeTicks are sampled a moment apart; allow that much disagreement.
CLOCK_SLACK_S = 60.0


def as_int(value: Any) -> int | None:
    """An INTEGER/Counter/Gauge/TimeTicks as int; None for exceptions and non-numbers."""
    if value is None or not is_value(value) or not isinstance(value, univ.Integer):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_text(value: Any) -> str | None:
    """An OCTET STRING as text (UTF-8, bad bytes replaced, trailing NULs dropped)."""
    if value is None or not is_value(value) or not isinstance(value, univ.OctetString):
        return None
    return bytes(value.asOctets()).decode("utf-8", "replace").rstrip("\x00").strip()


def as_mac(value: Any) -> str | None:
    """A MacAddress (6 octets) or a 'aa:bb:..'/'AABB..' string as lower-case colon form."""
    if value is None or not is_value(value) or not isinstance(value, univ.OctetString):
        return None
    raw = bytes(value.asOctets())
    if len(raw) == 6:
        return mac_from_octets(raw)
    hexdigits = "".join(
        ch for ch in raw.decode("ascii", "replace") if ch in "0123456789abcdefABCDEF"
    )
    if len(hexdigits) == 12:
        return mac_from_octets(bytes.fromhex(hexdigits))
    return None


def mac_from_octets(raw: Sequence[int] | bytes) -> str:
    """Six octets -> 'aa:bb:cc:dd:ee:ff'."""
    return ":".join(f"{octet:02x}" for octet in raw)


def as_oid_text(value: Any) -> str | None:
    """An OBJECT IDENTIFIER value as dotted text."""
    if value is None or not is_value(value) or not isinstance(value, univ.ObjectIdentifier):
        return None
    return ".".join(str(part) for part in value)


def instance(nexts: Mapping[OID, VarBind | None], obj: OID) -> Any:
    """The value GETNEXT(obj) returned if it is obj's scalar instance obj.0, else None."""
    got = nexts.get(obj)
    if got is None:
        return None
    oid, value = got
    return value if oid == (*obj, 0) and is_value(value) else None


def first_in(nexts: Mapping[OID, VarBind | None], column: OID) -> Any:
    """The value GETNEXT(column) returned if it is inside that column (its first row)."""
    got = nexts.get(column)
    if got is None:
        return None
    oid, value = got
    inside = oid[: len(column)] == column and len(oid) > len(column)
    return value if inside and is_value(value) else None


def within(nexts: Mapping[OID, VarBind | None], probe: OID) -> bool:
    """True when GETNEXT(probe) landed inside the probe's subtree: that subtree exists."""
    return first_in(nexts, probe) is not None


def uptime(
    sys_uptime_ticks: int | None, hr_uptime_ticks: int | None, engine_time_s: int | None
) -> tuple[float | None, str | None]:
    """Best uptime in seconds and where it came from.

    hrSystemUptime is preferred: it is the host's, while sysUpTime restarts whenever the agent
    does (an snmpd restart is not a reboot). Both are 32-bit TimeTicks that wrap after ~497.1
    days, so a later, smaller value means a reboot *or* a wrap. snmpEngineTime counts seconds
    since the agent (re)started and does not wrap for 68 years: when it shows the agent has run
    longer than one wrap period, the wraps the ticks lost are added back (the host has been up
    at least as long as the agent). Without it, a wrapped counter is reported as it reads.
    """
    if hr_uptime_ticks is not None:
        ticks, source = hr_uptime_ticks, "hrSystemUptime"
    elif sys_uptime_ticks is not None:
        ticks, source = sys_uptime_ticks, "sysUpTime"
    else:
        return None, None
    seconds = ticks / 100
    if engine_time_s is not None and engine_time_s - seconds > CLOCK_SLACK_S:
        wraps = math.ceil((engine_time_s - seconds - CLOCK_SLACK_S) / TICKS_WRAP_S)
        if wraps > 0:
            return round(seconds + wraps * TICKS_WRAP_S, 2), f"{source}+snmpEngineTime"
    return seconds, source


def interface_columns(nexts: Mapping[OID, VarBind | None]) -> tuple[OID, ...]:
    """The IF-MIB columns worth walking on this agent: ifXTable where present, else ifTable."""
    columns = [IF_DESCR, IF_OPER_STATUS]
    if within(nexts, IF_NAME):
        columns.append(IF_NAME)
    columns.append(IF_HIGH_SPEED if within(nexts, IF_HIGH_SPEED) else IF_SPEED)
    if within(nexts, IF_HC_IN_OCTETS):
        columns += [IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS]
    else:
        columns += [IF_IN_OCTETS, IF_OUT_OCTETS]
    return tuple(columns)


def _by_index(rows: list[VarBind]) -> dict[int, Any]:
    # IF-MIB tables are indexed by ifIndex alone: the suffix is one sub-identifier.
    return {suffix[0]: value for suffix, value in rows if len(suffix) == 1}


def interfaces(fetched: Fetched) -> tuple[InterfaceObservation, ...]:
    """Rows of ifTable/ifXTable, in ifIndex order."""
    descr = _by_index(fetched.rows(IF_DESCR))
    name = _by_index(fetched.rows(IF_NAME))
    oper = _by_index(fetched.rows(IF_OPER_STATUS))
    high = _by_index(fetched.rows(IF_HIGH_SPEED))
    speed = _by_index(fetched.rows(IF_SPEED))
    hc = IF_HC_IN_OCTETS in fetched.columns
    rx = _by_index(fetched.rows(IF_HC_IN_OCTETS if hc else IF_IN_OCTETS))
    tx = _by_index(fetched.rows(IF_HC_OUT_OCTETS if hc else IF_OUT_OCTETS))
    found: list[InterfaceObservation] = []
    for index in sorted(set(descr) | set(name) | set(oper)):
        label = as_text(name.get(index)) or as_text(descr.get(index)) or f"if{index}"
        if IF_HIGH_SPEED in fetched.columns:
            # ifHighSpeed is in units of 1,000,000 bit/s; ifSpeed saturates at 2**32-1.
            mbps = as_int(high.get(index))
            bps = mbps * 1_000_000 if mbps is not None else None
        else:
            bps = as_int(speed.get(index))
        status = as_int(oper.get(index))
        in_octets, out_octets = as_int(rx.get(index)), as_int(tx.get(index))
        found.append(
            InterfaceObservation(
                index=index,
                name=label,
                oper_status=OPER_STATUS.get(status, "unknown") if status is not None else "unknown",
                # 0 is how agents say they do not know (RFC 2863 ifSpeed description).
                speed_bps=bps or None,
                in_octets=in_octets,
                out_octets=out_octets,
                counter_bits=(64 if hc else 32) if in_octets is not None else None,
            )
        )
    return tuple(found)
