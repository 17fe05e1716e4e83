"""The hand-written SNMPv2c BER against pysnmp/pyasn1's own encoder and decoder."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api, rfc1902, rfc1905

from collectors.snmp_wire import WireError, decode_response, encode_getbulk

P = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
U32 = 2**32 - 1

# SNMP OIDs (RFC 2578 3.5): first arc 0-2, second below 40 unless the first is 2, every
# sub-identifier (the first two combined) at most 2**32-1.
oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, U32 - 80)),
).flatmap(lambda head: st.lists(st.integers(0, U32), max_size=16).map(lambda t: (*head, *t)))
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(rfc1902.Integer32),
    st.binary(max_size=300).map(rfc1902.OctetString),
    oids.map(rfc1902.ObjectIdentifier),
    st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.integers(0, U32).map(rfc1902.Counter32),
    st.integers(0, U32).map(rfc1902.Gauge32),
    st.integers(0, U32).map(rfc1902.Unsigned32),
    st.integers(0, U32).map(rfc1902.TimeTicks),
    st.binary(max_size=40).map(rfc1902.Opaque),
    st.integers(0, 2**64 - 1).map(rfc1902.Counter64),
    st.sampled_from(
        [rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView, rfc1905.unSpecified]
    ),
)
communities = st.binary(max_size=40)
request_ids = st.integers(-(2**31), 2**31 - 1)


def response_message(
    community: bytes, request_id: int, status: int, index: int, varbinds: list[tuple[Any, Any]]
) -> bytes:
    """A Response message built with pysnmp's proto API and encoded by pyasn1."""
    pdu = P.ResponsePDU()
    P.apiPDU.set_defaults(pdu)
    P.apiPDU.set_request_id(pdu, request_id)
    P.apiPDU.set_error_status(pdu, status)
    P.apiPDU.set_error_index(pdu, index)
    P.apiPDU.set_varbinds(pdu, [(P.ObjectIdentifier(oid), value) for oid, value in varbinds])
    message = P.Message()
    P.apiMessage.set_defaults(message)
    P.apiMessage.set_community(message, community)
    P.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def pysnmp_decode(data: bytes) -> tuple[bytes, int, int, int, list[tuple[tuple[int, ...], Any]]]:
    """What pysnmp's engine reads from the same bytes."""
    message, rest = decoder.decode(data, asn1Spec=P.Message())
    assert rest == b""
    pdu = P.apiMessage.get_pdu(message)
    return (
        bytes(P.apiMessage.get_community(message)),
        int(P.apiPDU.get_request_id(pdu)),
        int(P.apiPDU.get_error_status(pdu)),
        int(pdu["error-index"]),  # as sent: the proto API would check it against the varbinds
        [(tuple(oid), value) for oid, value in P.apiPDU.get_varbinds(pdu)],
    )


def assert_same_value(ours: Any, theirs: Any) -> None:
    # The type matters, not only the value: the three exceptions are all equal empty Nulls.
    assert type(ours) is type(theirs)
    assert ours.tagSet == theirs.tagSet
    assert ours == theirs


responses = st.tuples(
    communities,
    request_ids,
    st.integers(0, 18),
    st.integers(0, 64),
    st.lists(st.tuples(oids, values), max_size=12),
)


@given(responses)
def test_decoder_agrees_with_pysnmp(response: tuple) -> None:
    data = response_message(*response)
    ours = decode_response(data)
    community, request_id, status, index, varbinds = pysnmp_decode(data)
    assert (ours.community, ours.request_id) == (community, request_id)
    assert (ours.error_status, ours.error_index) == (status, index)
    assert [oid for oid, _ in ours.varbinds] == [oid for oid, _ in varbinds]
    for (_, mine), (_, theirs) in zip(ours.varbinds, varbinds, strict=True):
        assert_same_value(mine, theirs)


@given(
    communities,
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.lists(oids, max_size=70),
)
def test_getbulk_request_is_what_pysnmp_would_send(
    community: bytes, request_id: int, non_repeaters: int, reps: int, asked: list
) -> None:
    data = encode_getbulk(community, request_id, non_repeaters, reps, asked)
    message, rest = decoder.decode(data, asn1Spec=P.Message())
    assert rest == b""
    assert int(message["version"]) == 1
    assert bytes(P.apiMessage.get_community(message)) == community
    pdu = P.apiMessage.get_pdu(message)
    assert isinstance(pdu, P.GetBulkRequestPDU)
    assert int(P.apiBulkPDU.get_request_id(pdu)) == request_id
    assert int(P.apiBulkPDU.get_non_repeaters(pdu)) == non_repeaters
    assert int(P.apiBulkPDU.get_max_repetitions(pdu)) == reps
    varbinds = P.apiBulkPDU.get_varbinds(pdu)
    assert [tuple(oid) for oid, _ in varbinds] == asked
    assert all(type(value) is univ.Null for _, value in varbinds)
    # Byte for byte what pyasn1 makes of the same request.
    theirs = P.GetBulkRequestPDU()
    P.apiBulkPDU.set_defaults(theirs)
    P.apiBulkPDU.set_request_id(theirs, request_id)
    P.apiBulkPDU.set_non_repeaters(theirs, non_repeaters)
    P.apiBulkPDU.set_max_repetitions(theirs, reps)
    P.apiBulkPDU.set_varbinds(theirs, [(P.ObjectIdentifier(oid), P.Null("")) for oid in asked])
    P.apiMessage.set_pdu(message, theirs)
    assert encoder.encode(message) == data


@settings(max_examples=50)
@given(
    st.tuples(
        communities,
        request_ids,
        st.integers(0, 18),
        st.integers(0, 8),
        st.lists(st.tuples(oids, values), max_size=4),
    )
)
def test_every_truncation_is_a_wire_error(response: tuple) -> None:
    data = response_message(*response)
    for cut in range(len(data)):
        with pytest.raises(WireError):
            decode_response(data[:cut])


@given(responses, st.data())
def test_damaged_messages_decode_or_raise_wire_error(response: tuple, data: st.DataObject) -> None:
    message = bytearray(response_message(*response))
    for _ in range(data.draw(st.integers(1, 4))):
        message[data.draw(st.integers(0, len(message) - 1))] = data.draw(st.integers(0, 255))
    try:
        decode_response(bytes(message))
    except WireError as exc:
        assert exc.reason


@given(st.binary(max_size=200))
def test_random_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    try:
        decode_response(data)
    except WireError as exc:
        assert exc.reason


def tlv(tag: int, *parts: bytes) -> bytes:
    """One short-form TLV around the concatenated parts."""
    contents = b"".join(parts)
    assert len(contents) < 128
    return bytes((tag, len(contents))) + contents


INT1 = tlv(0x02, b"\x01")
SYS_DESCR_0 = tlv(0x06, bytes.fromhex("2b06010201010100"))


def message(
    *varbinds: bytes, version: bytes = INT1, pdu_tag: int = 0xA2, community: bytes = b"public"
) -> bytes:
    """A hand-built Response message around the given varbind TLVs."""
    # request-id 7, error-status 0, error-index 0
    header = tlv(0x02, b"\x07") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00")
    pdu = tlv(pdu_tag, header, tlv(0x30, *varbinds))
    return tlv(0x30, version, tlv(0x04, community), pdu)


def varbind(value: bytes, oid: bytes = SYS_DESCR_0) -> bytes:
    """One variable binding: name, then value."""
    return tlv(0x30, oid, value)


@pytest.mark.parametrize(
    "value",
    [
        tlv(0x02, b""),  # INTEGER without contents: pyasn1 reads 0
        tlv(0x02, b"\x00\x00\x05"),  # not minimal, still BER
        tlv(0x02, b"\x80\x00\x00\x00"),  # -2**31
        tlv(0x04, b""),
        tlv(0x41, b"\x00\xff\xff\xff\xff"),  # Counter32 2**32-1 needs a leading zero
        tlv(0x46, b"\x00" + b"\xff" * 8),  # Counter64 2**64-1
        tlv(0x06, bytes.fromhex("2b0601040182c118")),  # 1.3.6.1.4.1.41112: multi-octet arc
        tlv(0x06, bytes.fromhex("8fffffff7f")),  # 2.(2**32-81): the first arcs in 5 octets
        bytes.fromhex("0481050102030405"),  # long-form length where short form would do
    ],
)
def test_edge_values_read_as_pysnmp_reads_them(value: bytes) -> None:
    data = message(varbind(value))
    [(oid, ours)] = decode_response(data).varbinds
    [(their_oid, theirs)] = pysnmp_decode(data)[4]
    assert oid == their_oid == (1, 3, 6, 1, 2, 1, 1, 1, 0)
    assert_same_value(ours, theirs)


def test_long_messages_use_long_form_lengths() -> None:
    big = [((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i), rfc1902.OctetString(b"x" * 100)) for i in range(700)]
    data = response_message(b"public", 1, 0, 0, big)
    assert data[1] == 0x83  # three length octets: the message is over 64 KiB
    assert [oid for oid, _ in decode_response(data).varbinds] == [oid for oid, _ in big]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x30\x80" + message()[2:] + b"\x00\x00", "indefinite length"),
        (message(version=tlv(0x02, b"\x00")), "version 0"),
        (message(version=tlv(0x02, b"\x03")), "version 3"),
        (message(pdu_tag=0xA5), "not a Response"),
        (message(pdu_tag=0xA8), "not a Response"),
        (message() + b"\x00", "filling the datagram"),
        (message(tlv(0x30, SYS_DESCR_0, tlv(0x05, b""), b"\x00\x00")), "after a variable"),
        (message(tlv(0x30, SYS_DESCR_0)), "truncated"),
        (message(tlv(0x30, tlv(0x04, b"x"), tlv(0x05, b""))), "name is not"),
        (message(tlv(0x04, b"x")), "not a SEQUENCE"),
        (message(varbind(tlv(0x05, b""), oid=tlv(0x06, b""))), "empty OBJECT IDENTIFIER"),
        (message(varbind(tlv(0x05, b""), oid=tlv(0x06, b"\x2b\x80\x01"))), "leading 0x80"),
        (message(varbind(tlv(0x05, b""), oid=tlv(0x06, b"\x2b\x86"))), "truncated OBJECT"),
        (message(varbind(tlv(0x06, b"\x2b\x90\x80\x80\x80\x00"))), "above 2**32-1"),
        (message(varbind(tlv(0x05, b"\x00"))), "contents in a value"),
        (message(varbind(tlv(0x80, b"\x00"))), "contents in a value"),
        (message(varbind(tlv(0x40, b"\x01\x02\x03"))), "bad value"),
        (message(varbind(tlv(0x02, b"\x01\x00\x00\x00\x00"))), "bad value"),  # 2**32
        (message(varbind(tlv(0x41, b"\xff"))), "bad value"),  # Counter32 -1
        (message(varbind(tlv(0x46, b"\x01" + b"\x00" * 8))), "bad value"),  # Counter64 2**64
        (message(varbind(tlv(0x47, b"\x01"))), "unknown value tag 0x47"),
        (message(varbind(b"\x1f\x81\x01\x00")), "unknown value tag"),  # high-tag-number form
        (b"\x30\x85\x00\x00\x00\x00\x01\x00", "5-octet length"),
        (message()[:-1], "truncated"),
    ],
)
def test_malformed_messages_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        decode_response(data)
    assert reason in caught.value.reason


def test_impossible_request_oids_are_refused() -> None:
    for oid in [(1,), (3, 1), (1, 40), (1, 3, -1), (1, 3, 2**32)]:
        with pytest.raises(WireError):
            encode_getbulk(b"public", 1, 0, 1, [oid])
