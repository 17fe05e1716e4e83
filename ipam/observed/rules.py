"""Pure rules of observed state: what one poll means, when a state changes, what a node is.

The states are nodewatcher's: pending (never seen yet), up, visible (UISP or SNMP sees it but
it does not answer ping), duped (duplicate echo replies), down, unknown (not monitored). A
transition needs several results in a row (by default 2 to go down, 1 to come up) so one
lost probe is never reported as an outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ipam.enums import ObservedStatus as S

# Results that count towards "down" and those that count towards "up".
BAD = frozenset({S.DOWN, S.VISIBLE})
GOOD = frozenset({S.UP, S.DUPED})

# A node's state is its best device's state, in this order (nodewatcher: a node is up when
# any of its devices answers).
NODE_ORDER = (S.UP, S.DUPED, S.VISIBLE, S.DOWN, S.PENDING, S.UNKNOWN)

DRIFT_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class Thresholds:
    """How many results in a row a transition needs."""

    down_after: int = 2
    up_after: int = 1


@dataclass(frozen=True)
class State:
    """The observed state of one device as stored between polls."""

    status: S = S.PENDING
    since: datetime | None = None
    failures: int = 0
    successes: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """A change of observed status, to be written as an event with the new state."""

    before: S
    after: S
    at: datetime


def classify(*, answered: bool, duplicates: int, seen_elsewhere: bool, monitored: bool) -> S:
    """What a single poll of a device says."""
    if not monitored:
        return S.UNKNOWN
    if answered:
        return S.DUPED if duplicates else S.UP
    return S.VISIBLE if seen_elsewhere else S.DOWN


def step(
    state: State, result: S, at: datetime, limits: Thresholds = Thresholds()
) -> tuple[State, Transition | None]:
    """Fold one poll result into the state; a transition only after enough results in a row."""
    if result == S.UNKNOWN:
        changed = state.status != S.UNKNOWN
        new = replace(state, status=S.UNKNOWN, since=at if changed else state.since)
        return new, Transition(state.status, S.UNKNOWN, at) if changed else None
    good = result in GOOD
    successes = state.successes + 1 if good else 0
    failures = 0 if good else state.failures + 1
    first_seen = state.first_seen or (at if good else None)
    last_seen = at if good else state.last_seen
    # Within the good or the bad states a result moves at once (up -> duped, down -> visible);
    # crossing between them needs enough results in a row.
    same_side = state.status in (GOOD if good else BAD)
    enough = successes >= limits.up_after if good else failures >= limits.down_after
    target = result if same_side or enough else state.status
    new = State(
        status=target,
        since=at if target != state.status else state.since,
        failures=failures,
        successes=successes,
        first_seen=first_seen,
        last_seen=last_seen,
    )
    return new, Transition(state.status, target, at) if target != state.status else None


def node_status(device_states: Iterable[S]) -> S:
    """A node's observed state from its devices': the best one; unknown with no devices."""
    present = set(device_states)
    for status in NODE_ORDER:
        if status in present:
            return status
    return S.UNKNOWN


def link_status(from_end: S, to_end: S, uisp_state: str | None = None) -> S:
    """A link is up when both ends are; UISP's own data-link state wins when it has one."""
    if uisp_state is not None:
        return S.UP if uisp_state.lower() in ("active", "up", "ok") else S.DOWN
    ends = {from_end, to_end}
    if ends <= GOOD:
        return S.UP
    if ends & {S.DOWN, S.VISIBLE}:
        return S.DOWN
    return S.PENDING if S.PENDING in ends else S.UNKNOWN


def drifted(recorded_active: bool, status: S, since: datetime | None, now: datetime) -> bool:
    """Recorded Active but observed down for 30 days: a report, never a silent edit."""
    return recorded_active and status == S.DOWN and since is not None and now - since >= DRIFT_AFTER
