"""SNMPv2c messages on the wire (RFC 3416 PDUs in RFC 1901 messages), BER by hand.

Only what the collector needs: encode a GetBulkRequest, decode a Response. Values come back as
the pysnmp types pysnmp's own decoder gives (so the MIB code reads both paths alike); the
parsing itself is plain Python over bytes, over ten times cheaper than pyasn1's generic decoder.
BER here is the SNMP subset (RFC 3417 section 8): one-octet tags, definite lengths only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905

OID = tuple[int, ...]
VarBind = tuple[OID, Any]

SNMP_V2C = 1  # RFC 1901: version field of a community-based SNMPv2 message
SEQUENCE, INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER = 0x30, 0x02, 0x04, 0x05, 0x06
GET_BULK_REQUEST, RESPONSE = 0xA5, 0xA2  # RFC 3416 section 3: context-specific, constructed
# RFC 2578 section 3.5: each sub-identifier is at most 2**32-1 (5 base-128 octets).
MAX_SUBID = 2**32 - 1

# Value tags (RFC 2578 / RFC 3416) -> how to build the value pysnmp would give for them.
_VALUES: dict[int, Callable[[bytes], Any]] = {
    INTEGER: lambda raw: rfc1902.Integer(_signed(raw)),
    OCTET_STRING: rfc1902.OctetString,
    OBJECT_IDENTIFIER: lambda raw: univ.ObjectIdentifier(_oid(raw)),
    0x40: rfc1902.IpAddress,
    0x41: lambda raw: rfc1902.Counter32(_signed(raw)),
    0x42: lambda raw: rfc1902.Gauge32(_signed(raw)),  # Unsigned32 shares the tag
    0x43: lambda raw: rfc1902.TimeTicks(_signed(raw)),
    0x44: rfc1902.Opaque,
    0x46: lambda raw: rfc1902.Counter64(_signed(raw)),
}
# Contents-less values: unSpecified and the three RFC 3416 exceptions.
_EMPTY = {
    NULL: rfc1905.unSpecified,
    0x80: rfc1905.noSuchObject,
    0x81: rfc1905.noSuchInstance,
    0x82: rfc1905.endOfMibView,
}


class WireError(ValueError):
    """Bytes (or values) that are not a well-formed SNMPv2c message of the kind expected."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Response(NamedTuple):
    """A decoded SNMPv2c Response-PDU and the community of its message."""

    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]


def encode_getbulk(
    community: bytes,
    request_id: int,
    non_repeaters: int,
    max_repetitions: int,
    oids: Sequence[OID],
) -> bytes:
    """A GetBulkRequest message asking for oids, each with a NULL value (RFC 3416 4.2.3)."""
    pdu = (
        _integer(request_id)
        + _integer(non_repeaters)
        + _integer(max_repetitions)
        + _tlv(SEQUENCE, b"".join(map(_request_varbind, oids)))
    )
    body = _integer(SNMP_V2C) + _tlv(OCTET_STRING, community) + _tlv(GET_BULK_REQUEST, pdu)
    return _tlv(SEQUENCE, body)


def decode_response(data: bytes) -> Response:
    """Parse one datagram as an SNMPv2c Response message; WireError says why it is not one."""
    tag, start, stop = _header(data, 0, len(data))
    if tag != SEQUENCE or stop != len(data):
        raise WireError("not one SEQUENCE filling the datagram")
    version, pos = _expect_integer(data, start, stop)
    if version != SNMP_V2C:
        raise WireError(f"version {version} is not SNMPv2c")
    tag, start, pos = _header(data, pos, stop)
    if tag != OCTET_STRING:
        raise WireError("community is not an OCTET STRING")
    community = data[start:pos]
    tag, start, end = _header(data, pos, stop)
    if tag != RESPONSE:
        raise WireError(f"PDU tag 0x{tag:02x} is not a Response")
    if end != stop:
        raise WireError("bytes after the PDU")
    request_id, pos = _expect_integer(data, start, end)
    error_status, pos = _expect_integer(data, pos, end)
    error_index, pos = _expect_integer(data, pos, end)
    tag, pos, stop = _header(data, pos, end)
    if tag != SEQUENCE or stop != end:
        raise WireError("variable-bindings is not the PDU's last SEQUENCE")
    varbinds = []
    while pos < stop:
        tag, start, pos = _header(data, pos, stop)
        if tag != SEQUENCE:
            raise WireError("a variable binding is not a SEQUENCE")
        tag, start, after = _header(data, start, pos)
        if tag != OBJECT_IDENTIFIER:
            raise WireError("a variable binding's name is not an OBJECT IDENTIFIER")
        oid = _oid(data[start:after])
        tag, start, after = _header(data, after, pos)
        if after != pos:
            raise WireError("bytes after a variable binding's value")
        varbinds.append((oid, _value(tag, data[start:after])))
    return Response(community, request_id, error_status, error_index, varbinds)


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, contents start, contents stop) of the TLV at pos, which must end by end."""
    if pos + 2 > end:
        raise WireError("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise WireError("indefinite length")  # not allowed in SNMP (RFC 3417 section 8)
        if count > 4:
            raise WireError(f"{count}-octet length")
        if pos + count > end:
            raise WireError("truncated")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise WireError("truncated")
    return tag, pos, pos + length


def _expect_integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != INTEGER:
        raise WireError("expected an INTEGER")
    return _signed(data[start:stop]), stop


def _signed(raw: bytes) -> int:
    # Two's complement (X.690 8.3); no contents at all reads as 0, as pyasn1 reads it.
    return int.from_bytes(raw, "big", signed=True)


def _oid(raw: bytes) -> OID:
    """X.690 8.19: base-128 sub-identifiers, the first holding the first two arcs."""
    if not raw:
        raise WireError("empty OBJECT IDENTIFIER")
    arcs = []
    value = 0
    for octet in raw:
        if value == 0 and octet == 0x80:
            raise WireError("OBJECT IDENTIFIER sub-identifier with a leading 0x80")
        value = (value << 7) | (octet & 0x7F)
        if value > MAX_SUBID:
            raise WireError("OBJECT IDENTIFIER sub-identifier above 2**32-1")
        if octet < 0x80:
            arcs.append(value)
            value = 0
    if raw[-1] & 0x80:
        raise WireError("truncated OBJECT IDENTIFIER")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _value(tag: int, raw: bytes) -> Any:
    empty = _EMPTY.get(tag)
    if empty is not None:
        if raw:
            raise WireError(f"contents in a value that has none (tag 0x{tag:02x})")
        return empty
    make = _VALUES.get(tag)
    if make is None:
        raise WireError(f"unknown value tag 0x{tag:02x}")
    try:
        return make(raw)
    except PyAsn1Error as exc:  # out of the type's range (RFC 2578), e.g. a 5-octet IpAddress
        raise WireError(f"bad value for tag 0x{tag:02x}: {exc}") from exc


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def _tlv(tag: int, contents: bytes) -> bytes:
    return bytes((tag,)) + _length(len(contents)) + contents


def _integer(value: int) -> bytes:
    # Fewest two's-complement octets (X.690 8.3.2).
    return _tlv(
        INTEGER, value.to_bytes((value + (value < 0)).bit_length() // 8 + 1, "big", signed=True)
    )


@lru_cache(maxsize=8192)
def _request_varbind(oid: OID) -> bytes:
    # The same column and scalar OIDs start every poll: each is encoded once.
    if len(oid) < 2 or not 0 <= oid[0] <= 2 or (oid[0] < 2 and not 0 <= oid[1] < 40):
        raise WireError(f"cannot encode OBJECT IDENTIFIER {oid}")
    octets = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if not 0 <= arc <= MAX_SUBID:
            raise WireError(f"cannot encode OBJECT IDENTIFIER {oid}")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        octets += bytes(reversed(chunk))
    return _tlv(SEQUENCE, _tlv(OBJECT_IDENTIFIER, bytes(octets)) + b"\x05\x00")
