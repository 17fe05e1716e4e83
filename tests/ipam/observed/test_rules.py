"""Observed-state rules, table-driven: sequences of poll results and where they lead."""

from datetime import UTC, datetime, timedelta

import pytest

from ipam.enums import ObservedStatus as S
from ipam.observed.rules import (
    State,
    Thresholds,
    classify,
    drifted,
    link_status,
    node_status,
    step,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(results, limits=Thresholds(), start=State()):
    state, transitions = start, []
    for i, result in enumerate(results):
        state, change = step(state, result, T0 + timedelta(minutes=i), limits)
        if change:
            transitions.append((change.before, change.after))
    return state, transitions


@pytest.mark.parametrize(
    "results,final,transitions",
    [
        ([], S.PENDING, []),
        ([S.UP], S.UP, [(S.PENDING, S.UP)]),
        ([S.DOWN], S.PENDING, []),
        ([S.DOWN, S.DOWN], S.DOWN, [(S.PENDING, S.DOWN)]),
        ([S.UP, S.DOWN], S.UP, [(S.PENDING, S.UP)]),  # one lost poll is not an outage
        ([S.UP, S.DOWN, S.UP], S.UP, [(S.PENDING, S.UP)]),
        ([S.UP, S.DOWN, S.DOWN], S.DOWN, [(S.PENDING, S.UP), (S.UP, S.DOWN)]),
        ([S.UP, S.DOWN, S.DOWN, S.UP], S.UP, [(S.PENDING, S.UP), (S.UP, S.DOWN), (S.DOWN, S.UP)]),
        ([S.UP, S.DUPED], S.DUPED, [(S.PENDING, S.UP), (S.UP, S.DUPED)]),
        ([S.UP, S.VISIBLE, S.VISIBLE], S.VISIBLE, [(S.PENDING, S.UP), (S.UP, S.VISIBLE)]),
        ([S.DOWN, S.DOWN, S.VISIBLE], S.VISIBLE, [(S.PENDING, S.DOWN), (S.DOWN, S.VISIBLE)]),
        ([S.UP, S.UNKNOWN], S.UNKNOWN, [(S.PENDING, S.UP), (S.UP, S.UNKNOWN)]),
    ],
)
def test_sequences(results, final, transitions):
    state, seen = run(results)
    assert state.status == final
    assert seen == transitions


def test_thresholds_are_configurable():
    limits = Thresholds(down_after=3, up_after=2)
    assert run([S.UP], limits)[0].status == S.PENDING
    assert run([S.UP, S.UP], limits)[0].status == S.UP
    assert run([S.UP, S.UP, S.DOWN, S.DOWN], limits)[0].status == S.UP
    assert run([S.UP, S.UP, S.DOWN, S.DOWN, S.DOWN], limits)[0].status == S.DOWN


def test_since_first_and_last_seen():
    state, _ = run([S.UP, S.UP, S.DOWN, S.DOWN])
    assert state.first_seen == T0
    assert state.last_seen == T0 + timedelta(minutes=1)
    assert state.since == T0 + timedelta(minutes=3)


@pytest.mark.parametrize(
    "answered,duplicates,elsewhere,monitored,expected",
    [
        (True, 0, False, True, S.UP),
        (True, 2, False, True, S.DUPED),
        (False, 0, True, True, S.VISIBLE),
        (False, 0, False, True, S.DOWN),
        (False, 0, False, False, S.UNKNOWN),
    ],
)
def test_classify(answered, duplicates, elsewhere, monitored, expected):
    assert (
        classify(
            answered=answered, duplicates=duplicates, seen_elsewhere=elsewhere, monitored=monitored
        )
        == expected
    )


@pytest.mark.parametrize(
    "devices,expected",
    [
        ([], S.UNKNOWN),
        ([S.DOWN, S.UP], S.UP),
        ([S.DOWN, S.VISIBLE], S.VISIBLE),
        ([S.DOWN, S.PENDING], S.DOWN),
        ([S.PENDING], S.PENDING),
        ([S.UNKNOWN, S.DUPED], S.DUPED),
    ],
)
def test_node_status(devices, expected):
    assert node_status(devices) == expected


@pytest.mark.parametrize(
    "a,b,uisp,expected",
    [
        (S.UP, S.UP, None, S.UP),
        (S.UP, S.DOWN, None, S.DOWN),
        (S.UP, S.PENDING, None, S.PENDING),
        (S.UNKNOWN, S.UP, None, S.UNKNOWN),
        (S.DOWN, S.DOWN, "active", S.UP),
        (S.UP, S.UP, "disconnected", S.DOWN),
    ],
)
def test_link_status(a, b, uisp, expected):
    assert link_status(a, b, uisp) == expected


def test_drift_after_thirty_days_down_while_recorded_active():
    since = T0
    assert not drifted(True, S.DOWN, since, T0 + timedelta(days=29))
    assert drifted(True, S.DOWN, since, T0 + timedelta(days=30))
    assert not drifted(False, S.DOWN, since, T0 + timedelta(days=31))
    assert not drifted(True, S.UP, since, T0 + timedelta(days=31))
