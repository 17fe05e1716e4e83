"""SNMP collector: poll devices over SNMPv2c/v3 and return frozen observations; writes nothing.

One poll of one device is two rounds of GETBULK (RFC 3416):

1. one PDU of GETNEXTs (non-repeaters): the system group, hrSystemUptime, snmpEngineTime,
   ifNumber, one column of ifXTable (to choose ifXTable or ifTable) and one probe per vendor
   radio MIB (to learn which vendor tables exist without walking them);
2. concurrently, the interface columns (max-repetitions sized from ifNumber) and, for each
   vendor MIB found, its per-radio objects plus its station tables.

Every walk stops at the end of its own column, at a row cap, and after a fixed number of PDUs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from collectors.errors import CollectorError
from collectors.guard import NOT_ALLOWED, ProbeGuard
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
    instance,
    interface_columns,
    interfaces,
    uptime,
    within,
)
from collectors.snmp_model import (
    InterfaceObservation,
    RadioObservation,
    SnmpObservation,
    SnmpTarget,
    SnmpV3Credentials,
    StationObservation,
)
from collectors.snmp_radios import FAMILIES, Family
from collectors.snmp_session import NO_ANSWER, Fetched, Session, fetch, open_session

__all__ = [
    "NO_ANSWER",
    "NOT_ALLOWED",
    "InterfaceObservation",
    "RadioObservation",
    "SnmpObservation",
    "SnmpTarget",
    "SnmpV3Credentials",
    "StationObservation",
    "collect",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
DEFAULT_MAX_ROWS = 512
# Varbinds asked for per PDU: about what fits one 1500-byte frame of small values, so a
# lossy radio link does not have to carry fragmented UDP.
DEFAULT_MAX_VARBINDS = 64

PHASE_ONE = SYSTEM_NEXTS + IFX_PROBES + tuple(family.probe for family in FAMILIES)


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
            session.configure()
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
    jobs = [
        fetch(
            session,
            columns=interface_columns(nexts),
            rows_hint=if_count if if_count and if_count > 0 else 8,
            max_rows=max_rows,
        ),
        *(_fetch_family(session, family, first, max_rows) for family in families),
    ]
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors:
        if not isinstance(error, CollectorError):
            raise error
    fetched = [o if isinstance(o, Fetched) else None for o in outcomes]
    radios: list[RadioObservation] = []
    firmware: str | None = None
    for family, got in zip(families, fetched[1:], strict=True):
        if got is None:
            continue
        found, version = family.parse(got)
        radios.extend(found)
        firmware = firmware or version
    return SnmpObservation(
        address=target.address,
        port=target.port,
        error=errors[0].reason if errors else None,  # type: ignore[union-attr]
        sys_descr=as_text(instance(nexts, SYS_DESCR)),
        sys_object_id=as_oid_text(instance(nexts, SYS_OBJECT_ID)),
        sys_name=as_text(instance(nexts, SYS_NAME)),
        uptime_s=seconds,
        uptime_source=source,
        sys_uptime_ticks=ticks,
        firmware=firmware,
        interfaces=interfaces(fetched[0]) if fetched[0] is not None else (),
        radios=tuple(radios),
        truncated=any(got.truncated for got in fetched if got is not None),
        requests=session.requests,
        elapsed_s=time.perf_counter() - started,
    )


async def _fetch_family(session: Session, family: Family, first: Fetched, max_rows: int) -> Fetched:
    # Objects the first round already answered (a probe can be one) are not asked again.
    known = {oid: first.nexts[oid] for oid in family.singles if oid in first.nexts}
    singles = [oid for oid in family.singles if oid not in known]
    if singles or family.tables:
        got = await fetch(
            session,
            next_oids=singles,
            columns=family.tables,
            rows_hint=family.rows_hint,
            max_rows=max_rows,
        )
    else:
        got = Fetched()
    got.nexts.update(known)
    return got
