"""Pure rules of measurement history: the metrics, steps, which table answers, reboots and wraps.

Metric names are the device health answer's field names (ipam/observed/health.py): the ICMP
figures of `rtt_ms` spelled as the observation columns (`rtt_avg_ms`), `packet_loss`, `uptime_s`,
and the radio fields of `radio.radios[*]` as daemon/snmp_poll.py stores them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Ping figures, written by every ICMP cycle.
PING_METRICS: tuple[str, ...] = ("rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "packet_loss")
# SNMP figures, written by every SNMP cycle: uptime and the radio fields.
RADIO_METRICS: tuple[str, ...] = (
    "signal_dbm",
    "noise_floor_dbm",
    "snr_db",
    "ccq_pct",
    "tx_rate_bps",
    "rx_rate_bps",
    "tx_capacity_bps",
    "rx_capacity_bps",
)
SNMP_METRICS: tuple[str, ...] = ("uptime_s", *RADIO_METRICS)
METRICS: tuple[str, ...] = PING_METRICS + SNMP_METRICS

# sysUpTime is TimeTicks, hundredths of a second modulo 2**32 (RFC 2578 7.1.8): it wraps to 0
# after 497.1 days without the device restarting.
UPTIME_WRAP_S = 2**32 / 100
# How far an uptime may fall short of (before + elapsed) and still be the same run of the
# device: polls are timestamped when the cycle starts, answers come a few seconds later.
UPTIME_SLACK_S = 120.0

MAX_POINTS = 20_000
_STEP = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class StepError(ValueError):
    """A step that is not seconds or a number with s/m/h/d."""


def parse_step(text: str) -> int:
    """'300', '90s', '5m', '1h', '1d' -> seconds (at least 1)."""
    found = _STEP.match(text)
    if found is None:
        raise StepError(f"step {text!r} is not seconds or a number with s, m, h or d")
    seconds = int(found.group(1)) * _UNIT_S[found.group(2)]
    if seconds < 1:
        raise StepError("step must be at least 1 second")
    return seconds


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def radio_figures(radio: Mapping[str, Any] | None) -> dict[str, float | None]:
    """One device's radio figures from its stored radio JSON: per field, the first radio's value.

    A device with several radios (RouterOS with two cards) gets each figure from the first radio
    that reports it, in the order SNMP listed them. SNR, when the radio gives none, is signal
    minus noise floor (both dBm), the definition airOS and RouterOS show.
    """
    radios = [r for r in (radio or {}).get("radios") or [] if isinstance(r, Mapping)]
    figures: dict[str, float | None] = {}
    for name in RADIO_METRICS:
        figures[name] = next(
            (v for v in (_number(r.get(name)) for r in radios) if v is not None), None
        )
    signal, noise = figures["signal_dbm"], figures["noise_floor_dbm"]
    if figures["snr_db"] is None and signal is not None and noise is not None:
        figures["snr_db"] = signal - noise
    return figures


@dataclass(frozen=True)
class Tier:
    """One history table: its name, the seconds one row covers (0: raw) and how long it keeps."""

    name: str
    resolution_s: int
    keep: timedelta


def choose_tier(tiers: Sequence[Tier], step_s: int | None, since: datetime, now: datetime) -> Tier:
    """The table that answers a range at a step: the coarsest whose rows fit the step and
    that still keeps `since`; else, among those that fit, the one that keeps the longest.

    Raw rows fit any step (and are the only answer without one); a rollup fits a step that is
    a whole multiple of its resolution, so its buckets never straddle two steps.
    """
    raw = [t for t in tiers if t.resolution_s == 0]
    if step_s is None:
        return raw[0]
    fitting = [t for t in tiers if t.resolution_s == 0 or step_s % t.resolution_s == 0]
    covering = [t for t in fitting if now - t.keep <= since]
    if covering:
        return max(covering, key=lambda t: t.resolution_s)
    return max(fitting, key=lambda t: t.keep)


def floor_time(at: datetime, seconds: int, origin: datetime) -> datetime:
    """The start of the `seconds`-long bucket holding `at`, buckets counted from `origin`."""
    offset = (at - origin).total_seconds()
    return origin + timedelta(seconds=offset - offset % seconds)


@dataclass(frozen=True)
class Uptime:
    """An uptime series made continuous: values across TimeTicks wraps, and the reboots."""

    points: list[tuple[datetime, float]]
    reboots: list[datetime]


def uptime_runs(points: Iterable[tuple[datetime, float]]) -> Uptime:
    """Tell reboots from sysUpTime wraps in a time-ordered uptime series.

    Uptime going backwards is a reboot, kept as it is (the device did start again) and listed;
    going backwards by what a 2**32-tick wrap explains (before + elapsed - 497.1 days) is the
    same run, and its values are lifted by the wrap so the series neither drops nor spikes.
    """
    out: list[tuple[datetime, float]] = []
    reboots: list[datetime] = []
    lift = 0.0
    before: tuple[datetime, float] | None = None
    for at, value in points:
        if before is not None and value < before[1]:
            elapsed = (at - before[0]).total_seconds()
            expected = before[1] + elapsed - UPTIME_WRAP_S
            if abs(value - expected) <= UPTIME_SLACK_S + elapsed * 0.01:
                lift += UPTIME_WRAP_S
            else:
                reboots.append(at)
                lift = 0.0
        out.append((at, value + lift))
        before = (at, value)
    return Uptime(out, reboots)
