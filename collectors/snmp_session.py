"""The one place SNMP requests are made: a path per target, GETBULK's errors, bounded walks.

SNMPv2c targets go over collectors/snmp_v2c.py (our own socket and BER); SNMPv3 targets go
through the process's pysnmp SnmpEngine, which does USM (RFC 3414) and privacy (RFC 3826).
Both answer (error-status, error-index, varbinds) with the same pysnmp value types, and one
getbulk() turns that into varbinds or a CollectorError for either.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pyasn1.error import PyAsn1Error
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CBC168_3DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB256_AES,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
from pysnmp.hlapi.varbinds import CommandGeneratorVarBinds
from pysnmp.proto import errind
from pysnmp.proto.error import StatusInformation
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject, errorStatus

from collectors.errors import CollectorError
from collectors.snmp_model import SnmpTarget, SnmpV3Credentials
from collectors.snmp_v2c import Answer, V2cChannel
from collectors.snmp_wire import OID, VarBind

COLLECTOR = "snmp"
NO_ANSWER = "no answer"
# RFC 3416 error-status 1: the response would not fit; ask again for fewer rows.
TOO_BIG = 1
# Hard stop for one walk whatever the agent does (a loop, a table that never ends).
MAX_REQUESTS_PER_WALK = 64

_AUTH = {
    "MD5": USM_AUTH_HMAC96_MD5,
    "SHA": USM_AUTH_HMAC96_SHA,
    "SHA224": USM_AUTH_HMAC128_SHA224,
    "SHA256": USM_AUTH_HMAC192_SHA256,
    "SHA384": USM_AUTH_HMAC256_SHA384,
    "SHA512": USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "DES": USM_PRIV_CBC56_DES,
    "3DES": USM_PRIV_CBC168_3DES,
    "AES": USM_PRIV_CFB128_AES,
    "AES128": USM_PRIV_CFB128_AES,
    "AES192": USM_PRIV_CFB192_AES,
    "AES256": USM_PRIV_CFB256_AES,
}

_engine: SnmpEngine | None = None
_engine_loop: asyncio.AbstractEventLoop | None = None


def snmp_engine() -> SnmpEngine:
    """The process's one SnmpEngine, made on first use (again only if the event loop changed)."""
    global _engine, _engine_loop
    loop = asyncio.get_running_loop()
    if _engine is None or _engine_loop is not loop:
        # pysnmp binds its UDP socket to the loop that first used it; a new loop (a second
        # asyncio.run, a test) needs a new engine, and the old one is only closed, never reused.
        if _engine is not None:
            # The old loop may already be closed: then there is nothing left to release.
            with contextlib.suppress(Exception):
                _engine.close_dispatcher()
        _engine = SnmpEngine()
        _engine_loop = loop
        _transports.clear()
    return _engine


def oid_of(text: str) -> OID:
    """'1.3.6.1' -> (1, 3, 6, 1)."""
    return tuple(int(part) for part in text.strip(".").split("."))


@lru_cache(maxsize=8192)
def _request_varbind(oid: OID) -> ObjectType:
    # pysnmp resolves every request OID against its MIB tree; a resolved ObjectType is kept
    # as is, so resolving each OID once saves most of the per-request CPU.
    varbind = ObjectType(ObjectIdentity(".".join(map(str, oid))))
    return varbind.resolve_with_mib(_mib_view())


@lru_cache(maxsize=1)
def _mib_view() -> Any:
    return CommandGeneratorVarBinds.get_mib_view_controller({})


def usm_user(v3: SnmpV3Credentials) -> UsmUserData:
    """pysnmp's USM authPriv user for SNMPv3 credentials."""
    return UsmUserData(
        v3.user,
        v3.auth_key,
        v3.priv_key,
        authProtocol=_AUTH[v3.auth_protocol.upper()],
        privProtocol=_PRIV[v3.priv_protocol.upper()],
    )


_transports: dict[tuple[str, int, float, int], Any] = {}


async def transport(target: SnmpTarget, timeout: float, retries: int) -> Any:
    """A (cached) pysnmp UDP transport target for an IP literal."""
    key = (target.address, target.port, timeout, retries)
    cached = _transports.get(key)
    if cached is not None:
        return cached
    kind = Udp6TransportTarget if ":" in target.address else UdpTransportTarget
    made = await kind.create((target.address, target.port), timeout=timeout, retries=retries)
    if len(_transports) > 65536:
        _transports.clear()
    _transports[key] = made
    return made


def _reason(indication: Any) -> str:
    if isinstance(indication, errind.RequestTimedOut):
        return NO_ANSWER
    return str(indication)


@dataclass(frozen=True)
class EngineChannel:
    """How one target is asked through pysnmp's engine: USM user, transport and context."""

    auth: UsmUserData
    transport: Any
    context: ContextData
    timeout: float
    retries: int

    @classmethod
    async def open(cls, target: SnmpTarget, timeout: float, retries: int) -> EngineChannel:
        """Build the pysnmp objects for an SNMPv3 target and register them (no packet is sent)."""
        assert target.v3 is not None
        channel = cls(
            auth=usm_user(target.v3),
            transport=await transport(target, timeout, retries),
            context=ContextData(contextName=target.v3.context_name),
            timeout=timeout,
            retries=retries,
        )
        # pysnmp rebuilds its lookup maps whenever the LCD changes; registering every target
        # before the first packet goes out makes that happen once per cycle, not per response.
        LCD.configure(snmp_engine(), channel.auth, channel.transport, channel.context.contextName)
        return channel

    async def getbulk(
        self, oids: Sequence[OID], non_repeaters: int, max_repetitions: int
    ) -> Answer:
        """pysnmp's 4-tuple as (error-status, error-index, varbinds); its failures as errors."""
        varbinds = [_request_varbind(oid) for oid in oids]
        # pysnmp times out and retries by itself; this outer limit only guards against a future
        # that is never resolved, so it is deliberately a little longer.
        limit = self.timeout * (self.retries + 1) + 5.0
        try:
            error_indication, error_status, error_index, answer = await asyncio.wait_for(
                bulk_cmd(
                    snmp_engine(),
                    self.auth,
                    self.transport,
                    self.context,
                    non_repeaters,
                    max_repetitions,
                    *varbinds,
                    lookupMib=False,
                ),
                limit,
            )
        except StatusInformation as exc:
            # Raised (not returned) e.g. when USM cannot encrypt or decrypt.
            raise CollectorError(COLLECTOR, _reason(exc.get("errorIndication", exc))) from exc
        except (PySnmpError, PyAsn1Error) as exc:
            raise CollectorError(COLLECTOR, f"pysnmp: {exc}") from exc
        if error_indication:
            raise CollectorError(COLLECTOR, _reason(error_indication))
        return int(error_status), int(error_index), [(tuple(oid), v) for oid, v in answer]


@dataclass
class Session:
    """One device's SNMP conversation: where, by which path, and how many PDUs it took."""

    target: SnmpTarget
    channel: V2cChannel | EngineChannel
    max_varbinds: int
    requests: int = 0


async def open_session(
    target: SnmpTarget, *, timeout: float, retries: int, max_varbinds: int
) -> Session:
    """Choose and set up one target's path: v2c on our socket, v3 via pysnmp (no packet sent)."""
    kind = V2cChannel if target.v3 is None else EngineChannel
    try:
        channel = await kind.open(target, timeout, retries)
    except ValueError as exc:
        raise CollectorError(COLLECTOR, f"cannot poll this target: {exc}") from exc
    return Session(target=target, channel=channel, max_varbinds=max(2, max_varbinds))


async def getbulk(
    session: Session, oids: Sequence[OID], non_repeaters: int, max_repetitions: int
) -> list[VarBind]:
    """One GETBULK (RFC 3416 4.2.3) over the target's path: varbinds or a CollectorError."""
    session.requests += 1
    try:
        status, index, varbinds = await session.channel.getbulk(
            oids, non_repeaters, max_repetitions
        )
    except TimeoutError as exc:
        raise CollectorError(COLLECTOR, NO_ANSWER) from exc
    if status:
        if status == TOO_BIG:
            raise TooBigError(COLLECTOR, "tooBig")
        where = oids[index - 1] if 0 < index <= len(oids) else ()
        name = errorStatus.clone(status).prettyPrint()  # RFC 3416 names: noSuchName, genErr...
        raise CollectorError(COLLECTOR, f"agent error {name} at {'.'.join(map(str, where))}")
    return varbinds


class TooBigError(CollectorError):
    """The agent answered tooBig: the same question must be asked for fewer rows."""


def is_value(value: Any) -> bool:
    """False for the RFC 3416 exceptions noSuchObject, noSuchInstance and endOfMibView."""
    return not isinstance(value, NoSuchObject | NoSuchInstance | EndOfMibView)


@dataclass
class Fetched:
    """What one bounded fetch returned."""

    nexts: dict[OID, VarBind | None] = field(default_factory=dict)
    columns: dict[OID, list[VarBind]] = field(default_factory=dict)
    truncated: bool = False

    def rows(self, column: OID) -> list[VarBind]:
        """(index suffix, value) pairs of one column, in agent order."""
        return self.columns.get(column, [])


async def fetch(
    session: Session,
    *,
    next_oids: Sequence[OID] = (),
    columns: Sequence[OID] = (),
    rows_hint: int = 8,
    max_rows: int = 256,
) -> Fetched:
    """GETNEXT some OIDs and walk some columns in parallel, each stopping at its own subtree."""
    out = Fetched(columns={column: [] for column in columns})
    cursor: dict[OID, OID] = {column: column for column in columns}
    active = list(dict.fromkeys(columns))
    nexts = list(dict.fromkeys(next_oids))
    repetitions = max(1, min(rows_hint + 1, max_rows + 1))
    budget = session.max_varbinds
    for _ in range(MAX_REQUESTS_PER_WALK):
        if not active and not nexts:
            return out
        room = max(1, (budget - len(nexts)) // max(1, len(active)))
        reps = min(repetitions, room) if active else 0
        asked = nexts + [cursor[c] for c in active]
        try:
            answer = await getbulk(session, asked, len(nexts), reps)
        except TooBigError:
            if budget <= 2 and repetitions <= 1:
                raise
            budget, repetitions = max(2, budget // 2), max(1, repetitions // 2)
            continue
        for position, oid in enumerate(nexts):
            out.nexts[oid] = answer[position] if position < len(answer) else None
        ended, moved = _advance(out, answer[len(nexts) :], active, cursor)
        nexts = []
        # Later steps ask for as many rows as fit: the hint was only for the first request.
        repetitions = max_rows + 1
        full = {c for c in active if len(out.columns[c]) >= max_rows}
        for column in full:
            # The row past the cap was only asked for to learn whether the column ends there.
            if len(out.columns[column]) > max_rows or column not in ended:
                out.truncated = True
            del out.columns[column][max_rows:]
        active = [c for c in active if c not in ended and c not in full]
        if active and not moved:
            # The agent answered without a single new row: stop rather than ask forever.
            out.truncated = True
            return out
    out.truncated = out.truncated or bool(active)
    return out


def _advance(
    out: Fetched, rows: list[VarBind], active: list[OID], cursor: dict[OID, OID]
) -> tuple[set[OID], set[OID]]:
    """Fold GETBULK repetitions (row-major over the active columns) into per-column rows."""
    ended: set[OID] = set()
    moved: set[OID] = set()
    width = len(active)
    for position, (oid, value) in enumerate(rows if width else ()):
        column = active[position % width]
        if column in ended:
            continue
        # Stop a column at the end of its subtree, at endOfMibView, or if the agent goes
        # backwards (RFC 3416 requires increasing OIDs; a broken agent would loop forever).
        if (
            not is_value(value)
            or oid[: len(column)] != column
            or len(oid) == len(column)
            or oid <= cursor[column]
        ):
            ended.add(column)
            continue
        out.columns[column].append((oid[len(column) :], value))
        cursor[column] = oid
        moved.add(column)
    return ended, moved
