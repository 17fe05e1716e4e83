"""SNMP collector: poll devices over SNMPv2c/v3 and return frozen observations; writes nothing.

One poll of one device is two rounds of GETBULK (RFC 3416):

1. one PDU of GETNEXTs (non-repeaters): the system group, hrSystemUptime, snmpEngineTime,
   ifNumber, one column of ifXTable (to choose ifXTable or ifTable), one probe per vendor
   MIB and per multi-radio table (to learn which tables exist without walking them) and
   the vendors' station counts (to size the station walks);
2. the interface columns (max-repetitions sized from ifNumber) and, for each vendor MIB
   found, its first-row objects and station tables (sized from the station count) and its
   per-radio tables (every radio of a router): walks share a PDU, first fit, while it fits
   and their shared max-repetitions over-asks by less than a PDU costs; the rest go
   concurrently.

Each vendor family (snmp_radios.py, snmp_mikrotik.py, snmp_extend.py) turns what it
fetched into a Reading: radios with their stations, LTE modems, and the device's model
(with the MIB object it came from), firmware, serial and licence.

Every walk stops at the end of its own column, at a row cap, and after a fixed number of
PDUs; a wrong ifNumber or station count only changes how many PDUs a walk takes. SNMPv2c
goes over our own socket (snmp_v2c.py, snmp_wire.py), SNMPv3 through pysnmp's engine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from collectors.errors import CollectorError
from collectors.guard import NOT_ALLOWED, ProbeGuard
from collectors.snmp_family import Family
from collectors.snmp_mibs import (
    HR_SYSTEM_UPTIME,
    IF_NUMBER,
    IFX_PROBES,
    SNMP_ENGINE_TIME,
    SYS_DESCR,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYSTEM_NEXTS,
    as_int,
    as_oid_text,
    as_text,
    first_in,
    instance,
    interface_columns,
    interfaces,
    uptime,
    within,
)
from collectors.snmp_mikrotik import model_from_sys_descr
from collectors.snmp_model import (
    InterfaceObservation,
    LteObservation,
    RadioObservation,
    Reading,
    SnmpObservation,
    SnmpTarget,
    SnmpV3Credentials,
    StationObservation,
)
from collectors.snmp_radios import FAMILIES
from collectors.snmp_session import (
    NO_ANSWER,
    OID,
    Fetched,
    Session,
    VarBind,
    fetch,
    open_session,
)

__all__ = [
    "NO_ANSWER",
    "NOT_ALLOWED",
    "InterfaceObservation",
    "LteObservation",
    "RadioObservation",
    "SnmpObservation",
    "SnmpTarget",
    "SnmpV3Credentials",
    "StationObservation",
    "collect",
]

log = logging.getLogger(__name__)
Named = TypeVar("Named", RadioObservation, LteObservation)

DEFAULT_CONCURRENCY = 64
DEFAULT_MAX_ROWS = 512
# Varbinds asked for per PDU: about what fits one 1500-byte frame of small values, so a
# lossy radio link does not have to carry fragmented UDP.
DEFAULT_MAX_VARBINDS = 64
# What one more PDU costs an agent, in varbinds: snmpsim spends about 1 ms per PDU and
# 0.2 ms per varbind; embedded agents are dearer per PDU, if anything.
PDU_VARBINDS = 5

PHASE_ONE = (
    SYSTEM_NEXTS
    + IFX_PROBES
    + tuple(probe for family in FAMILIES for probe in family.probes)
    + tuple(family.count for family in FAMILIES if family.count)
)


async def collect(
    targets: Sequence[SnmpTarget],
    *,
    guard: ProbeGuard,
    timeout: float = 2.0,
    retries: int = 1,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_varbinds: int = DEFAULT_MAX_VARBINDS,
) -> list[SnmpObservation]:
    """Poll every target once; one observation per target, in the order given."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    observations: list[SnmpObservation | None] = [None] * len(targets)
    sessions: dict[int, Session] = {}
    for position, target in enumerate(targets):
        if not guard.allows(target.address):
            # Refused addresses get no session, so no packet can ever be built for them.
            observations[position] = SnmpObservation(target.address, target.port, error=NOT_ALLOWED)
            continue
        try:
            session = await open_session(
                target, timeout=timeout, retries=retries, max_varbinds=max_varbinds
            )
        except CollectorError as exc:
            observations[position] = SnmpObservation(target.address, target.port, error=exc.reason)
            continue
        sessions[position] = session

    gate = asyncio.Semaphore(concurrency)

    async def bounded(position: int, session: Session) -> None:
        async with gate:
            observations[position] = await poll(session, max_rows=max_rows)

    await asyncio.gather(*(bounded(p, s) for p, s in sessions.items()))
    return [obs for obs in observations if obs is not None]


async def poll(session: Session, *, max_rows: int = DEFAULT_MAX_ROWS) -> SnmpObservation:
    """One device: system group, interfaces and vendor radios; failures become error text."""
    target = session.target
    started = time.perf_counter()
    try:
        return await _poll(session, started, max_rows)
    except CollectorError as exc:
        reason = exc.reason
    except Exception as exc:  # one odd device must not take the whole cycle down
        log.exception("SNMP poll of %s failed unexpectedly", target.address)
        reason = f"internal error: {type(exc).__name__}: {exc}"
    return SnmpObservation(
        target.address,
        target.port,
        error=reason,
        requests=session.requests,
        elapsed_s=time.perf_counter() - started,
    )


async def _poll(session: Session, started: float, max_rows: int) -> SnmpObservation:
    target = session.target
    first = await fetch(session, next_oids=PHASE_ONE)
    nexts = first.nexts
    ticks = as_int(instance(nexts, SYS_UPTIME))
    seconds, source = uptime(
        ticks,
        as_int(instance(nexts, HR_SYSTEM_UPTIME)),
        as_int(instance(nexts, SNMP_ENGINE_TIME)),
    )
    if_count = as_int(instance(nexts, IF_NUMBER))
    families = [family for family in FAMILIES if within(nexts, family.probe)]
    family_walks = [_family_walks(family, nexts) for family in families]
    walks = [
        Walk((), interface_columns(nexts), if_count if if_count and if_count > 0 else 8),
        *(walk for own in family_walks for walk in own),
    ]
    outcomes = await _round_two(session, walks, max_rows)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, CollectorError):
            raise outcome
    errors = [o for o in outcomes if isinstance(o, CollectorError)]
    fetched = [o if isinstance(o, Fetched) else None for o in outcomes]
    readings: list[Reading] = []
    position = 1
    for family, own in zip(families, family_walks, strict=True):
        got = _merged(fetched[position : position + len(own)])
        position += len(own)
        if got is None:
            continue
        # Objects the first round already answered (a probe or a count can be one).
        got.nexts.update({oid: nexts[oid] for oid in family.singles if oid in nexts})
        readings.append(family.parse(got))
    ports = interfaces(fetched[0]) if fetched[0] is not None else ()
    sys_descr = as_text(instance(nexts, SYS_DESCR))
    sys_object_id = as_oid_text(instance(nexts, SYS_OBJECT_ID))
    model, model_source = _model(readings, sys_descr, sys_object_id)
    return SnmpObservation(
        address=target.address,
        port=target.port,
        error=errors[0].reason if errors else None,
        sys_descr=sys_descr,
        sys_object_id=sys_object_id,
        sys_name=as_text(instance(nexts, SYS_NAME)),
        uptime_s=seconds,
        uptime_source=source,
        sys_uptime_ticks=ticks,
        firmware=_first(r.firmware for r in readings),
        model=model,
        model_source=model_source,
        serial=_first(r.serial for r in readings),
        licence=_first(r.licence for r in readings),
        interfaces=ports,
        radios=_named(tuple(radio for r in readings for radio in r.radios), ports),
        lte=_named(tuple(modem for r in readings for modem in r.lte), ports),
        truncated=any(got.truncated for got in fetched if got is not None),
        requests=session.requests,
        elapsed_s=time.perf_counter() - started,
    )


def _first(values: Iterable[str | None]) -> str | None:
    return next((value for value in values if value), None)


def _model(
    readings: list[Reading], sys_descr: str | None, sys_object_id: str | None
) -> tuple[str | None, str | None]:
    """The model the device names and the object it came from: a vendor MIB first."""
    for reading in readings:
        if reading.model:
            return reading.model, reading.model_source
    board = model_from_sys_descr(sys_descr, sys_object_id)
    return (board, "SNMPv2-MIB::sysDescr") if board else (None, None)


def _named(items: tuple[Named, ...], ports: tuple[InterfaceObservation, ...]) -> tuple[Named, ...]:
    """Radios and modems known by ifIndex get the interface's name (ifName or ifDescr)."""
    names = {port.index: port.name for port in ports}
    return tuple(
        dataclasses.replace(item, name=names[item.interface_index])
        if item.name is None and item.interface_index in names
        else item
        for item in items
    )


def _merged(parts: Sequence[Fetched | None]) -> Fetched | None:
    """One family's walks as one Fetched (the same object when round two used one PDU)."""
    found: list[Fetched] = []
    for part in parts:
        if part is not None and not any(part is seen for seen in found):
            found.append(part)
    if len(found) <= 1:
        return found[0] if found else None
    # A part that failed leaves its objects unread; the error is reported with the poll.
    merged = Fetched(truncated=any(part.truncated for part in found))
    for part in found:
        merged.nexts.update(part.nexts)
        merged.columns.update(part.columns)
    return merged


@dataclass(frozen=True)
class Walk:
    """One part of round two: scalars to GETNEXT and columns to walk, with a row estimate."""

    next_oids: tuple[OID, ...]
    columns: tuple[OID, ...]
    rows_hint: int

    @property
    def varbinds(self) -> int:
        """Varbinds its first GETBULK asks for: every row hinted, plus one to see the end."""
        return len(self.next_oids) + len(self.columns) * (self.rows_hint + 1)


def _family_walks(family: Family, nexts: dict[OID, VarBind | None]) -> list[Walk]:
    """The family's station walk and, when its probes found any, its per-radio tables."""
    # Objects the first round already answered are not asked again; the station tables are
    # sized from the family's station count when the first round found one (else its hint).
    count = as_int(first_in(nexts, family.count)) if family.count else None
    walks = [
        Walk(
            tuple(oid for oid in family.singles if oid not in nexts),
            family.tables,
            count if count is not None and count >= 0 else family.rows_hint,
        )
    ]
    radio_columns = tuple(
        column
        for table, columns in family.radio_tables
        if within(nexts, table)
        for column in columns
    )
    if radio_columns:
        walks.append(Walk((), radio_columns, family.radio_rows_hint))
    return walks


def _merge(walks: Sequence[Walk]) -> Walk:
    """Several walks as one: their OIDs together, under the largest row estimate."""
    return Walk(
        tuple(oid for walk in walks for oid in walk.next_oids),
        tuple(column for walk in walks for column in walk.columns),
        max((walk.rows_hint for walk in walks if walk.columns), default=0),
    )


def _packed(walks: Sequence[Walk], max_varbinds: int) -> list[list[int]]:
    """Walk positions grouped into shared GETBULKs, first fit.

    The shared max-repetitions over-asks the walks hinted fewer rows: a walk joins a group
    only while their first request still fits one PDU and costs less than the PDU it saves.
    """
    groups: list[list[int]] = []
    for position, walk in enumerate(walks):
        for group in groups:
            alone = _merge([walks[i] for i in group]).varbinds + walk.varbinds + PDU_VARBINDS
            together = _merge([*(walks[i] for i in group), walk]).varbinds
            if together <= min(max_varbinds, alone):
                group.append(position)
                break
        else:
            groups.append([position])
    return groups


async def _round_two(
    session: Session, walks: list[Walk], max_rows: int
) -> list[Fetched | BaseException]:
    """Every walk's Fetched (or its error), in order; walks share a GETBULK when that pays."""
    groups = _packed(walks, session.max_varbinds)
    jobs = (_fetch_walk(session, _merge([walks[i] for i in group]), max_rows) for group in groups)
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    # Each part reads its own OIDs out of its group's answer.
    answered = {
        position: outcome
        for group, outcome in zip(groups, outcomes, strict=True)
        for position in group
    }
    return [answered[position] for position in range(len(walks))]


async def _fetch_walk(session: Session, walk: Walk, max_rows: int) -> Fetched:
    return await fetch(
        session,
        next_oids=walk.next_oids,
        columns=walk.columns,
        rows_hint=walk.rows_hint,
        max_rows=max_rows,
    )
