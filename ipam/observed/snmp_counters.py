"""Pure rules for interface octet counters read by SNMP: deltas across wraps, and rates."""

from __future__ import annotations

from typing import Any


def counter_delta(before: int, after: int, bits: int) -> int | None:
    """Octets counted between two reads of one Counter32/Counter64, or None when unknowable.

    A Counter wraps to 0 after 2**bits - 1 (RFC 2578 7.1.6 and 7.1.10), so a smaller second
    read of a 32-bit counter is one wrap. A 64-bit counter does not wrap in a device's life
    (RFC 2863 3.1.6 gives it to interfaces fast enough to wrap 32 bits within an hour), so a
    smaller read there is a reset (ifCounterDiscontinuityTime), not a wrap.
    """
    if after >= before:
        return after - before
    if bits == 32:
        return after + 2**32 - before
    return None


def octet_rate(
    before: int | None,
    after: int | None,
    bits: int | None,
    seconds: float,
    speed_bps: int | None,
) -> float | None:
    """Average bit/s between two reads; None when a reset or more than one wrap may hide.

    A 32-bit counter wraps every 2**32 octets: at the interface's speed that may happen more
    than once between two polls (34 s at 1 Gbit/s), and then no delta can be trusted. A rate
    above what the interface can carry means the same.
    """
    if before is None or after is None or bits is None or seconds <= 0:
        return None
    delta = counter_delta(before, after, bits)
    if delta is None:
        return None
    if bits == 32 and speed_bps and speed_bps * seconds / 8 >= 2**32:
        return None
    rate = delta * 8 / seconds
    if speed_bps and rate > speed_bps:
        return None
    return round(rate, 1)


def with_rates(
    before: list[dict[str, Any]], after: list[dict[str, Any]], seconds: float | None
) -> list[dict[str, Any]]:
    """The new interface rows, each with in_bps/out_bps since the previous read of that ifIndex.

    seconds is None when the device restarted between the reads (its counters started over).
    """
    previous = {row.get("index"): row for row in before}
    rows = []
    for row in after:
        old = previous.get(row.get("index"))
        same = old is not None and old.get("counter_bits") == row.get("counter_bits")
        rates: dict[str, float | None] = {"in_bps": None, "out_bps": None}
        if same and seconds is not None and old is not None:
            for key, octets in (("in_bps", "in_octets"), ("out_bps", "out_octets")):
                rates[key] = octet_rate(
                    old.get(octets),
                    row.get(octets),
                    row.get("counter_bits"),
                    seconds,
                    row.get("speed_bps"),
                )
        rows.append({**row, **rates})
    return rows
