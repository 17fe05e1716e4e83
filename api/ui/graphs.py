"""Measurement history drawn on the server as inline SVG: no charting library, no build step.

A graph is a device's series (ipam/observed/series.py, the service behind
`GET /api/v1/devices/<id>/series/`) at a 10-minute step over the last 24 hours: the average as a
line, the minimum to maximum as a band, and the figures a screen reader needs (min, average,
max, last) as text beside it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ipam.observed.series import device_series
from ipam.observed.series_rules import Tier

WIDTH, HEIGHT = 600.0, 100.0  # the SVG's viewBox; the page stretches it to its width
WINDOW = timedelta(hours=24)
STEP_S = 600  # 144 buckets a day: finer than a phone's pixels, a multiple of the 5 m rollup
# A bucket further than this many steps from the one before is a gap (no answer, not a line).
GAP_STEPS = 1.5


@dataclass(frozen=True)
class Metric:
    """How one series metric is shown: its label, unit, scale and fixed axis if any."""

    name: str
    label: str
    unit: str
    scale: float = 1.0
    axis: tuple[float, float] | None = None  # fixed (bottom, top), else from the values
    from_zero: bool = True  # the axis starts at 0 (not for dBm, which is negative)


RTT = Metric("rtt_avg_ms", "RTT", "ms")
LOSS = Metric("packet_loss", "Packet loss", "%", scale=100.0, axis=(0.0, 100.0))
PING = (RTT, LOSS)
RADIO = (
    Metric("signal_dbm", "Signal", "dBm", from_zero=False),
    Metric("noise_floor_dbm", "Noise floor", "dBm", from_zero=False),
    Metric("ccq_pct", "CCQ", "%", axis=(0.0, 100.0)),
    Metric("tx_rate_bps", "TX rate", "Mbit/s", scale=1e-6),
    Metric("rx_rate_bps", "RX rate", "Mbit/s", scale=1e-6),
)


@dataclass(frozen=True)
class Graph:
    """One metric over the window, ready for the page: SVG paths and the figures as text."""

    metric: Metric
    line: str
    band: str
    axis: tuple[float, float]
    low: float
    mean: float
    high: float
    last: float
    last_at: str
    samples: int

    def summary(self) -> str:
        """The figures in words, for the caption and the SVG's title."""
        unit = "\u00a0" + self.metric.unit  # no line break between a number and its unit
        return (
            f"{self.metric.label}, last 24 hours: min {_num(self.low)}{unit}, "
            f"average {_num(self.mean)}{unit}, max {_num(self.high)}{unit}, "
            f"last {_num(self.last)}{unit} at {self.last_at[11:16]} UTC"
        )


def _num(value: float) -> str:
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def _scale(value: float, span: tuple[float, float], size: float) -> float:
    low, high = span
    return (value - low) / (high - low) * size if high > low else size / 2


def _fmt(x: float, y: float) -> str:
    return f"{x:.1f},{y:.1f}"


def svg_path(
    points: Iterable[tuple[float, float | None]],
    x_span: tuple[float, float],
    y_span: tuple[float, float],
    size: tuple[float, float] = (WIDTH, HEIGHT),
) -> str:
    """(x, y) pairs as an SVG path's `d` in a box of `size`, y upwards; a None y breaks the line."""
    width, height = size
    runs: list[list[str]] = [[]]
    for x, y in points:
        if y is None:
            runs.append([])
        else:
            runs[-1].append(_fmt(_scale(x, x_span, width), height - _scale(y, y_span, height)))
    # A point alone between gaps is a zero-length segment, which a round line cap shows as a dot.
    return "".join("M" + "L".join(run) + ("h0" if len(run) == 1 else "") for run in runs if run)


def svg_band(
    points: Iterable[tuple[float, float, float] | None],
    x_span: tuple[float, float],
    y_span: tuple[float, float],
    size: tuple[float, float] = (WIDTH, HEIGHT),
) -> str:
    """(x, low, high) triples as closed SVG areas between low and high; None starts a new one."""
    runs: list[list[tuple[float, float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    out = []
    for run in filter(None, runs):
        top = [(x, high) for x, _, high in run]
        bottom = [(x, low) for x, low, _ in reversed(run)]
        out.append(svg_path([*top, *bottom], x_span, y_span, size) + "Z")
    return "".join(out)


def _nice(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten at least `value` (> 0)."""
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def axis_for(low: float, high: float, from_zero: bool) -> tuple[float, float]:
    """A y axis holding [low, high] with round ends (0 at the bottom when from_zero)."""
    if from_zero:
        low = min(low, 0.0)
    if high <= low:
        return (low - 1.0, high + 1.0)
    tick = _nice((high - low) / 4)
    return (math.floor(low / tick) * tick, math.ceil(high / tick) * tick)


def graph(answer: dict[str, Any], metric: Metric) -> Graph | None:
    """A series answer at a step (min/avg/max/n per bucket) as a graph; None when it is empty."""
    points = answer["points"]
    if not points:
        return None
    start = datetime.fromisoformat(answer["since"]).timestamp()
    end = datetime.fromisoformat(answer["until"]).timestamp()
    step = float(answer["step"])
    k = metric.scale
    rows = [
        (
            datetime.fromisoformat(p["at"]).timestamp() + step / 2,
            p["min"] * k,
            p["avg"] * k,
            p["max"] * k,
        )
        for p in points
    ]
    low = min(r[1] for r in rows)
    high = max(r[3] for r in rows)
    samples = sum(int(p["n"]) for p in points)
    mean = sum(r[2] * int(p["n"]) for r, p in zip(rows, points, strict=True)) / samples
    axis = metric.axis or axis_for(low, high, metric.from_zero)
    line: list[tuple[float, float | None]] = []
    band: list[tuple[float, float, float] | None] = []
    before: float | None = None
    for x, lo, avg, hi in rows:
        if before is not None and x - before > GAP_STEPS * step:
            line.append((x, None))
            band.append(None)
        line.append((x, avg))
        band.append((x, lo, hi))
        before = x
    x_span = (start, end)
    return Graph(
        metric=metric,
        line=svg_path(line, x_span, axis),
        band=svg_band(band, x_span, axis),
        axis=axis,
        low=low,
        mean=mean,
        high=high,
        last=rows[-1][2],
        last_at=points[-1]["at"],
        samples=samples,
    )


def device_graphs(
    session: Session,
    device_id: uuid.UUID,
    metrics: Sequence[Metric],
    *,
    now: datetime,
    kept: Sequence[Tier],
) -> list[Graph]:
    """A device's graphs over the last 24 hours, one per metric that has measurements."""
    out = []
    for metric in metrics:
        answer = device_series(
            session,
            device_id,
            metric.name,
            since=now - WINDOW,
            until=now,
            step_s=STEP_S,
            now=now,
            kept=kept,
        )
        found = graph(answer, metric)
        if found is not None:
            out.append(found)
    return out
