"""Octet counter deltas and rates (RFC 2578 Counter32/Counter64 wraps), with literal numbers."""

import pytest

from ipam.observed.snmp_counters import counter_delta, octet_rate, with_rates

WRAP32 = 2**32


@pytest.mark.parametrize(
    ("before", "after", "bits", "delta"),
    [
        (100, 250, 32, 150),
        (WRAP32 - 10, 5, 32, 15),  # one wrap of a Counter32
        (4_294_000_000, 1_000_000, 32, 1_967_296),
        (WRAP32 + 10, 5, 64, None),  # a Counter64 going back is a reset, not a wrap
        (7, 7, 64, 0),
    ],
)
def test_counter_delta(before: int, after: int, bits: int, delta: int | None) -> None:
    assert counter_delta(before, after, bits) == delta


@pytest.mark.parametrize(
    ("before", "after", "bits", "seconds", "speed", "rate"),
    [
        (0, 3_750_000, 32, 300, 100_000_000, 100_000.0),
        (4_294_000_000, 1_000_000, 32, 300, 100_000_000, 52_461.2),
        # 300 s at 1 Gbit/s is 37.5 GB: a Counter32 may have wrapped several times.
        (0, 10, 32, 300, 1_000_000_000, None),
        # The same on a Counter64 is fine.
        (0, 37_500_000_000, 64, 300, 1_000_000_000, 1e9),
        # Faster than the interface can go: a reset hidden as a wrap.
        (WRAP32 - 1, WRAP32 - 2, 32, 10, 10_000_000, None),
        (None, 5, 32, 300, None, None),
        (0, 5, 32, 0, None, None),
        (0, 300, 32, 300, None, 8.0),  # speed unknown: the delta as read
    ],
)
def test_octet_rate(
    before: int | None,
    after: int,
    bits: int,
    seconds: float,
    speed: int | None,
    rate: float | None,
) -> None:
    assert octet_rate(before, after, bits, seconds, speed) == rate


def test_with_rates_matches_interfaces_by_index_and_width() -> None:
    before = [
        {"index": 1, "in_octets": 0, "out_octets": 0, "counter_bits": 32, "speed_bps": None},
        {"index": 2, "in_octets": 0, "out_octets": 0, "counter_bits": 32, "speed_bps": None},
    ]
    after = [
        {"index": 1, "in_octets": 100, "out_octets": 50, "counter_bits": 32, "speed_bps": None},
        # ifXTable appeared (64-bit counters now): the two reads are not of one counter.
        {"index": 2, "in_octets": 9, "out_octets": 9, "counter_bits": 64, "speed_bps": None},
        {"index": 3, "in_octets": 1, "out_octets": 1, "counter_bits": 64, "speed_bps": None},
    ]
    rows = with_rates(before, after, 10.0)
    assert [(r["in_bps"], r["out_bps"]) for r in rows] == [(80.0, 40.0), (None, None), (None, None)]
    # A restart in between (seconds None): no rate at all, the counters as read.
    assert [r["in_bps"] for r in with_rates(before, after, None)] == [None, None, None]
    assert with_rates(before, after, None)[0]["in_octets"] == 100
