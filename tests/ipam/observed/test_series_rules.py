"""The pure rules of measurement history, table-driven with values checkable by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ipam.observed.series_rules import (
    UPTIME_WRAP_S,
    StepError,
    Tier,
    choose_tier,
    floor_time,
    parse_step,
    radio_figures,
    uptime_runs,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
TIERS = [
    Tier("raw", 0, timedelta(days=7)),
    Tier("5m", 300, timedelta(days=90)),
    Tier("1h", 3600, timedelta(days=730)),
]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800), (" 15m ", 900)],
)
def test_parse_step(text, seconds):
    assert parse_step(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "5x", "-5", "1.5h", "m", "0m"])
def test_parse_step_refuses(text):
    with pytest.raises(StepError):
        parse_step(text)


@pytest.mark.parametrize(
    ("step", "back", "tier"),
    [
        (None, timedelta(days=30), "raw"),  # no step: raw points, whatever the range
        (60, timedelta(hours=2), "raw"),  # finer than any rollup
        (300, timedelta(hours=2), "5m"),
        (900, timedelta(days=30), "5m"),  # a whole number of 5-minute buckets
        (3600, timedelta(days=30), "1h"),
        (3600, timedelta(days=365), "1h"),
        (300, timedelta(days=200), "5m"),  # nothing that fits keeps that long: the longest
        (450, timedelta(days=3), "raw"),  # 450 s straddles 5-minute buckets
        (450, timedelta(days=30), "raw"),
    ],
)
def test_choose_tier(step, back, tier):
    assert choose_tier(TIERS, step, NOW - back, NOW).name == tier


def test_floor_time():
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    at = datetime(2026, 3, 31, 12, 7, 59, tzinfo=UTC)
    assert floor_time(at, 300, origin) == datetime(2026, 3, 31, 12, 5, tzinfo=UTC)
    assert floor_time(at, 3600, origin) == datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def test_radio_figures_first_radio_that_reports_and_snr_from_signal_and_noise():
    radio = {
        "radios": [
            {"family": "routeros", "signal_dbm": -61, "noise_floor_dbm": None, "ccq_pct": 92},
            {"family": "routeros", "signal_dbm": -70, "noise_floor_dbm": -95, "ccq_pct": 50},
        ]
    }
    figures = radio_figures(radio)
    assert figures["signal_dbm"] == -61.0
    assert figures["noise_floor_dbm"] == -95.0
    assert figures["snr_db"] == 34.0  # -61 - -95
    assert figures["ccq_pct"] == 92.0
    assert figures["tx_capacity_bps"] is None
    assert radio_figures(None) == dict.fromkeys(figures)
    # A radio that gives its own SNR keeps it.
    assert (
        radio_figures({"radios": [{"signal_dbm": -60, "noise_floor_dbm": -90, "snr_db": 28}]})[
            "snr_db"
        ]
        == 28.0
    )


def t(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_uptime_reboot_is_listed_and_kept():
    runs = uptime_runs([(t(0), 1000.0), (t(5), 1300.0), (t(10), 40.0), (t(15), 340.0)])
    assert runs.reboots == [t(10)]
    assert [v for _, v in runs.points] == [1000.0, 1300.0, 40.0, 340.0]


def test_uptime_timeticks_wrap_is_not_a_reboot():
    # 2**32 hundredths of a second: 42,949,672.96 s. Five minutes later the device reads
    # 300 s less the 60 s it had left before the wrap: 240 s.
    before = UPTIME_WRAP_S - 60
    runs = uptime_runs([(t(0), before - 300), (t(5), before), (t(10), 240.0), (t(15), 540.0)])
    assert runs.reboots == []
    assert [round(v, 2) for _, v in runs.points] == [
        round(before - 300, 2),
        round(before, 2),
        round(UPTIME_WRAP_S + 240, 2),
        round(UPTIME_WRAP_S + 540, 2),
    ]
    # ... and a reboot after a wrap starts from what the device says again.
    again = uptime_runs([(t(0), before), (t(5), 240.0), (t(10), 30.0)])
    assert again.reboots == [t(10)]
    assert again.points[-1][1] == 30.0
