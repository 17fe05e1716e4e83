"""Network number (NN) assignment rules: the pure choice part.

The rules follow MeshDB (meshapi/util/network_number.py and the "vanity NN" guide):

- NNs live in 1..8000; automatic assignment starts at 101.
- A number is used when it is a node's NN, or the install number of any install except one
  still in "Request Received" without a node (nobody acted on it, so it may be given away).
- An install keeps its own number as NN when that number is in 101..8000, no node holds it,
  and the install is neither "NN Reassigned" nor "Closed"; otherwise it gets the next free one.
- A vanity (hand-picked) NN must be in 1..8000 and held by no other node; an Active install
  with that install number blocks it; any other such install becomes "NN Reassigned".

Statuses are plain strings equal to the values users see (the StrEnum members compare equal).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from ipam.errors import Conflict, DomainError, Invalid

NN_MIN = 1
NN_MAX = 8000
AUTO_START = 101

REQUEST_RECEIVED = "Request Received"
PENDING = "Pending"
BLOCKED = "Blocked"
ACTIVE = "Active"
INACTIVE = "Inactive"
CLOSED = "Closed"
NN_REASSIGNED = "NN Reassigned"
INSTALL_STATUSES = frozenset(
    {REQUEST_RECEIVED, PENDING, BLOCKED, ACTIVE, INACTIVE, CLOSED, NN_REASSIGNED}
)


class NumberError(DomainError):
    """Base of the NN-assignment errors; `field` and `rule` say what was checked."""

    def __init__(self, message: str, *, field: str, rule: str, **extra: Any) -> None:
        # `rule` (and any extra) travel in DomainError.extra, so the API answer carries them.
        super().__init__(message, field=field, rule=rule, **extra)
        self.rule = rule


class NumberOutOfRange(NumberError, Invalid, ValueError):
    """A requested number outside the allowed range (invalid input)."""

    def __init__(
        self, value: object, low: int, high: int, *, field: str = "network_number"
    ) -> None:
        rule = f"{field} must be in {low}..{high}"
        super().__init__(f"{field} {value!r} is out of range: {rule}", field=field, rule=rule)
        self.value, self.low, self.high = value, low, high


class NumberTaken(NumberError, Conflict):
    """A requested number already held by a node or a blocking install (a conflict)."""

    def __init__(self, value: int, holder: str, *, field: str = "network_number") -> None:
        rule = f"{field} must be held by no other node and by no Active install"
        message = f"{field} {value} is taken by {holder}: {rule}"
        super().__init__(message, field=field, rule=rule, holder=holder)
        self.value, self.holder = value, holder


class NoFreeNumber(NumberError, Conflict):
    """Every number in the range is used."""

    def __init__(self, low: int, high: int, *, field: str = "network_number") -> None:
        rule = f"{field} is chosen from {low}..{high}, skipping node NNs and blocking installs"
        super().__init__(f"no free {field} in {low}..{high}: {rule}", field=field, rule=rule)
        self.low, self.high = low, high


class UnknownStatus(NumberError, Invalid, ValueError):
    """An install status that is not one of the known values."""

    def __init__(self, status: object) -> None:
        rule = f"install status must be one of {sorted(INSTALL_STATUSES)}"
        super().__init__(f"unknown install status {status!r}: {rule}", field="status", rule=rule)


class InstallFacts(NamedTuple):
    """What the NN rules need to know about one install."""

    install_number: int
    status: str
    has_node: bool


@dataclass(frozen=True, slots=True)
class VanityDecision:
    """A vanity NN that may be given; `reassign_install` must then become "NN Reassigned"."""

    network_number: int
    reassign_install: int | None


def _check_status(status: str) -> str:
    """Return `status` if it is a known install status, else raise UnknownStatus."""
    if status not in INSTALL_STATUSES:
        raise UnknownStatus(status)
    return status


def _facts(install: InstallFacts | tuple[int, str, bool] | Any) -> InstallFacts:
    """Read an install given as a 3-tuple or any object with the three attributes."""
    if isinstance(install, tuple):
        number, status, has_node = install
    else:
        number, status, has_node = install.install_number, install.status, install.has_node
    return InstallFacts(number, _check_status(status), bool(has_node))


def next_free_nn(taken: Iterable[int], *, start: int = AUTO_START, end: int = NN_MAX) -> int:
    """The smallest number in start..end that is not in `taken`, else NoFreeNumber."""
    if not NN_MIN <= start <= end:
        raise ValueError(f"need {NN_MIN} <= start <= end, got start={start}, end={end}")
    # Keep only numbers in range: ~15,000 install numbers reach far past 8000. A set makes the
    # scan below O(end - start) membership tests, under a millisecond for 101..8000.
    blocked = {number for number in taken if start <= number <= end}
    if len(blocked) <= end - start:
        for number in range(start, end + 1):
            if number not in blocked:
                return number
    raise NoFreeNumber(start, end)


def blocks_number(status: str, has_node: bool) -> bool:
    """Whether an install's number is unavailable as an NN (all but unattached new requests)."""
    return not (_check_status(status) == REQUEST_RECEIVED and not has_node)


def numbers_taken(
    node_nns: Iterable[int], installs: Iterable[InstallFacts | tuple[int, str, bool] | Any]
) -> frozenset[int]:
    """Every number automatic assignment must skip: node NNs and blocking install numbers."""
    taken = set(node_nns)
    for install in installs:
        facts = _facts(install)
        if blocks_number(facts.status, facts.has_node):
            taken.add(facts.install_number)
    return frozenset(taken)


def choose_nn_for_install(
    install_number: int,
    install_status: str,
    node_nns: Iterable[int],
    blocking_install_numbers: Iterable[int],
    *,
    start: int = AUTO_START,
    end: int = NN_MAX,
) -> int:
    """The NN for an install: its own number when allowed, else the next free number."""
    _check_status(install_status)
    node_set = node_nns if isinstance(node_nns, set | frozenset) else set(node_nns)
    # MeshDB: reuse the install number unless it is below the auto range, past the NN range,
    # already a node's NN, or given away ("NN Reassigned") / abandoned ("Closed").
    if (
        start <= install_number <= end
        and install_number not in node_set
        and install_status not in (NN_REASSIGNED, CLOSED)
    ):
        return install_number
    return next_free_nn(
        [*node_set, *blocking_install_numbers, install_number], start=start, end=end
    )


def vanity_check(
    requested_nn: int,
    *,
    node: Hashable | None = None,
    holder_node: Hashable | None = None,
    donor_status: str | None = None,
    donor_node: Hashable | None = None,
    nn_min: int = NN_MIN,
    nn_max: int = NN_MAX,
) -> VanityDecision:
    """Decide whether `node` may take `requested_nn` by hand, and which install to reassign.

    `holder_node` is the node that already has this NN (if any); `donor_status` and
    `donor_node` describe the install whose install number equals `requested_nn` (if any).
    """
    if isinstance(requested_nn, bool) or not isinstance(requested_nn, int):
        raise NumberOutOfRange(requested_nn, nn_min, nn_max)
    if not nn_min <= requested_nn <= nn_max:
        raise NumberOutOfRange(requested_nn, nn_min, nn_max)
    if holder_node is not None and (node is None or holder_node != node):
        raise NumberTaken(requested_nn, f"node {holder_node}")
    if donor_status is None:
        return VanityDecision(requested_nn, None)
    _check_status(donor_status)
    # MeshDB: an install already attached to the receiving node gives its number freely.
    if node is not None and donor_node == node:
        return VanityDecision(requested_nn, None)
    if donor_status == ACTIVE:
        raise NumberTaken(requested_nn, f"install #{requested_nn} (Active)")
    if donor_status == NN_REASSIGNED:
        return VanityDecision(requested_nn, None)
    return VanityDecision(requested_nn, requested_nn)
