"""The pure NN-choice rules, table-driven, plus properties of the chooser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipam.errors import Conflict, DomainError, Invalid
from ipam.numbering.addressing import NYC
from ipam.numbering.nn_rules import (
    ACTIVE,
    AUTO_START,
    BLOCKED,
    CLOSED,
    INACTIVE,
    INSTALL_STATUSES,
    NN_MAX,
    NN_MIN,
    NN_REASSIGNED,
    PENDING,
    REQUEST_RECEIVED,
    InstallFacts,
    NoFreeNumber,
    NumberError,
    NumberOutOfRange,
    NumberTaken,
    UnknownStatus,
    VanityDecision,
    blocks_number,
    choose_nn_for_install,
    next_free_nn,
    numbers_taken,
    vanity_check,
)


def test_constants_match_the_plan_and_the_statuses() -> None:
    assert (NYC.nn_min, NYC.nn_max, 101) == (NN_MIN, NN_MAX, AUTO_START)
    assert {
        "Request Received",
        "Pending",
        "Blocked",
        "Active",
        "Inactive",
        "Closed",
        "NN Reassigned",
    } == INSTALL_STATUSES


@pytest.mark.parametrize(
    ("taken", "kwargs", "expected"),
    [
        ([], {}, 101),
        ([101, 102], {}, 103),
        ([1, 50, 100], {}, 101),  # numbers below the auto range never matter
        ([101, 103], {}, 102),
        ([102, 101, 101, 104, 103], {}, 105),  # unsorted, with duplicates
        ([8001, 9000, 15000], {}, 101),
        (range(101, 8000), {}, 8000),
        ([], {"start": 1}, 1),
        ([1, 2], {"start": 1, "end": 3}, 3),
        ([5], {"start": 5, "end": 6}, 6),
    ],
)
def test_next_free_nn(taken: Any, kwargs: dict[str, int], expected: int) -> None:
    assert next_free_nn(taken, **kwargs) == expected


def test_next_free_nn_accepts_sets_and_generators() -> None:
    assert next_free_nn(frozenset({101, 102})) == 103
    assert next_free_nn(n for n in (101, 103)) == 102


def test_next_free_nn_at_real_size() -> None:
    # ~15,000 install numbers: everything in 1..15000 is used except 7777.
    taken = [n for n in range(1, 15_001) if n != 7777]
    assert next_free_nn(taken) == 7777
    assert next_free_nn(set(taken)) == 7777


@pytest.mark.parametrize(
    ("taken", "kwargs"),
    [
        (range(101, 8001), {}),
        (range(1, 20_000), {}),
        ([10, 11], {"start": 10, "end": 11}),
    ],
)
def test_next_free_nn_exhausted(taken: Any, kwargs: dict[str, int]) -> None:
    with pytest.raises(NoFreeNumber) as info:
        next_free_nn(taken, **kwargs)
    low, high = kwargs.get("start", 101), kwargs.get("end", 8000)
    assert f"{low}..{high}" in str(info.value)
    assert info.value.field == "network_number"


@pytest.mark.parametrize(("start", "end"), [(0, 10), (10, 9)])
def test_next_free_nn_bad_bounds(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="start"):
        next_free_nn([], start=start, end=end)


@pytest.mark.parametrize(
    ("status", "has_node", "blocks"),
    [
        (REQUEST_RECEIVED, False, False),  # untouched request: its number may be given away
        (REQUEST_RECEIVED, True, True),
        (PENDING, False, True),
        (BLOCKED, False, True),
        (ACTIVE, True, True),
        (INACTIVE, False, True),
        (CLOSED, False, True),
        (NN_REASSIGNED, False, True),
    ],
)
def test_blocks_number(status: str, has_node: bool, blocks: bool) -> None:
    assert blocks_number(status, has_node) is blocks


@dataclass
class Row:
    """An install as some other layer might hand it over."""

    install_number: int
    status: str
    has_node: bool


def test_numbers_taken() -> None:
    installs = [
        InstallFacts(101, REQUEST_RECEIVED, False),
        InstallFacts(102, REQUEST_RECEIVED, True),
        (103, PENDING, False),
        Row(104, CLOSED, False),
        (105, NN_REASSIGNED, False),
        (9000, ACTIVE, True),
    ]
    assert numbers_taken([1, 492], installs) == {1, 492, 102, 103, 104, 105, 9000}
    assert next_free_nn(numbers_taken([], installs)) == 101


def test_unknown_status_is_refused() -> None:
    with pytest.raises(UnknownStatus, match="Pendng"):
        numbers_taken([], [(101, "Pendng", False)])
    with pytest.raises(UnknownStatus):
        choose_nn_for_install(101, "request received", [], [])
    with pytest.raises(UnknownStatus):
        vanity_check(101, donor_status="Installed")


@pytest.mark.parametrize(
    ("install_number", "status", "node_nns", "blocking", "expected"),
    [
        (492, PENDING, [], [], 492),  # keeps its own number
        (492, REQUEST_RECEIVED, [], [], 492),
        (492, ACTIVE, [101], [102], 492),
        (101, PENDING, [], [], 101),
        (8000, PENDING, [], [], 8000),
        (492, PENDING, [492], [], 101),  # a node already has 492
        (492, CLOSED, [], [492], 101),
        (492, NN_REASSIGNED, [492], [492], 101),
        (100, PENDING, [], [], 101),  # below the auto range
        (50, PENDING, [101, 102], [103], 104),
        (8001, PENDING, [], [], 101),  # past the NN range
        (15_000, PENDING, [101, 102], [103, 105], 104),
        # A Closed install does not get its own number back even if nothing else blocks it.
        (102, CLOSED, [101], [], 103),
    ],
)
def test_choose_nn_for_install(
    install_number: int, status: str, node_nns: list[int], blocking: list[int], expected: int
) -> None:
    assert choose_nn_for_install(install_number, status, node_nns, blocking) == expected


def test_choose_nn_for_install_exhausted() -> None:
    with pytest.raises(NoFreeNumber):
        choose_nn_for_install(9000, PENDING, range(101, 5000), range(5000, 8001))


@pytest.mark.parametrize(
    ("requested", "kwargs", "expected"),
    [
        (492, {}, VanityDecision(492, None)),
        (50, {}, VanityDecision(50, None)),  # vanity numbers may be below 101
        (1, {}, VanityDecision(1, None)),
        (8000, {}, VanityDecision(8000, None)),
        (492, {"node": "n1", "holder_node": "n1"}, VanityDecision(492, None)),  # re-saving
        (492, {"donor_status": REQUEST_RECEIVED}, VanityDecision(492, 492)),
        (492, {"donor_status": PENDING}, VanityDecision(492, 492)),
        (492, {"donor_status": BLOCKED}, VanityDecision(492, 492)),
        (492, {"donor_status": INACTIVE}, VanityDecision(492, 492)),
        (492, {"donor_status": CLOSED}, VanityDecision(492, 492)),
        (492, {"donor_status": NN_REASSIGNED}, VanityDecision(492, None)),  # already reassigned
        # An install already on the receiving node gives its number, Active or not.
        (492, {"node": 7, "donor_status": ACTIVE, "donor_node": 7}, VanityDecision(492, None)),
        (492, {"node": 7, "donor_status": PENDING, "donor_node": 7}, VanityDecision(492, None)),
    ],
)
def test_vanity_check(requested: int, kwargs: dict[str, Any], expected: VanityDecision) -> None:
    assert vanity_check(requested, **kwargs) == expected


@pytest.mark.parametrize("requested", [0, -5, 8001, 20_000])
def test_vanity_out_of_range(requested: int) -> None:
    with pytest.raises(NumberOutOfRange) as info:
        vanity_check(requested)
    assert "network_number" in str(info.value) and "1..8000" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert info.value.rule == "network_number must be in 1..8000"


@pytest.mark.parametrize(
    ("kwargs", "holder"),
    [
        ({"holder_node": "n1"}, "node n1"),  # a new node asking for n1's number
        ({"node": "n2", "holder_node": "n1"}, "node n1"),
        ({"donor_status": ACTIVE}, "install #492 (Active)"),
        ({"node": 7, "donor_status": ACTIVE, "donor_node": 8}, "install #492 (Active)"),
        ({"donor_status": ACTIVE, "donor_node": None}, "install #492 (Active)"),
    ],
)
def test_vanity_taken(kwargs: dict[str, Any], holder: str) -> None:
    with pytest.raises(NumberTaken) as info:
        vanity_check(492, **kwargs)
    assert info.value.holder == holder
    assert holder in str(info.value) and "492" in str(info.value)
    assert not isinstance(info.value, ValueError)  # a conflict, not bad input


def test_error_hierarchy() -> None:
    for error in (NumberOutOfRange, NumberTaken, NoFreeNumber, UnknownStatus):
        assert issubclass(error, NumberError) and issubclass(error, DomainError)
    # api/errors.py answers Invalid with 422 and Conflict with 409.
    assert issubclass(NumberOutOfRange, Invalid) and issubclass(UnknownStatus, Invalid)
    assert issubclass(NumberTaken, Conflict) and issubclass(NoFreeNumber, Conflict)


def test_errors_carry_field_and_rule_for_the_api() -> None:
    with pytest.raises(NumberTaken) as info:
        vanity_check(492, holder_node=17)
    assert info.value.field == "network_number"
    assert info.value.extra == {
        "rule": "network_number must be held by no other node and by no Active install",
        "holder": "node 17",
    }
    with pytest.raises(NoFreeNumber) as full:
        next_free_nn(range(1, 9000))
    assert full.value.extra["rule"].startswith("network_number is chosen from 101..8000")


statuses = st.sampled_from(sorted(INSTALL_STATUSES))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[set[int], list[InstallFacts], InstallFacts]:
    """Node NNs, other installs (unique numbers) and the install being assigned, kept dense."""
    numbers = draw(st.lists(st.integers(1, 160), unique=True, max_size=80))
    node_nns = set(draw(st.lists(st.integers(1, 160), max_size=60)))
    installs = [InstallFacts(n, draw(statuses), draw(st.booleans())) for n in numbers]
    own = draw(st.integers(1, 9000).filter(lambda n: n not in numbers))
    return node_nns, installs, InstallFacts(own, draw(statuses), False)


@settings(max_examples=400, deadline=None)
@given(world=worlds(), end=st.integers(101, 170))
def test_chooser_never_returns_a_used_number(
    world: tuple[set[int], list[InstallFacts], InstallFacts], end: int
) -> None:
    node_nns, others, install = world
    blocking = numbers_taken([], others)
    used = node_nns | blocking
    try:
        nn = choose_nn_for_install(
            install.install_number, install.status, node_nns, blocking, end=end
        )
    except NoFreeNumber:
        # Only when every number left in the range is used (or is the install's refused own one).
        assert set(range(AUTO_START, end + 1)) <= used | {install.install_number}
        return
    assert AUTO_START <= nn <= end
    assert nn not in used
    if nn != install.install_number:
        # The fallback is the smallest free number.
        assert all(n in used or n == install.install_number for n in range(AUTO_START, nn))


@settings(max_examples=300, deadline=None)
@given(
    taken=st.lists(st.integers(-10, 300), max_size=250),
    start=st.integers(1, 150),
    width=st.integers(0, 150),
)
def test_next_free_nn_is_the_smallest_unused(taken: list[int], start: int, width: int) -> None:
    end = start + width
    try:
        nn = next_free_nn(taken, start=start, end=end)
    except NoFreeNumber:
        assert set(range(start, end + 1)) <= set(taken)
        return
    assert start <= nn <= end and nn not in taken
    assert set(range(start, nn)) <= set(taken)


@settings(max_examples=300, deadline=None)
@given(
    requested=st.integers(-5, 8010),
    holder=st.sampled_from([None, "a", "b"]),
    node=st.sampled_from([None, "a", "b"]),
    donor_status=st.one_of(st.none(), statuses),
    donor_node=st.sampled_from([None, "a", "b"]),
)
def test_vanity_never_gives_a_held_number(
    requested: int,
    holder: str | None,
    node: str | None,
    donor_status: str | None,
    donor_node: str | None,
) -> None:
    try:
        decision = vanity_check(
            requested,
            node=node,
            holder_node=holder,
            donor_status=donor_status,
            donor_node=donor_node,
        )
    except (NumberOutOfRange, NumberTaken):
        return
    assert 1 <= decision.network_number == requested <= 8000
    assert holder is None or holder == node
    if donor_status == ACTIVE:
        assert node is not None and donor_node == node
    if decision.reassign_install is not None:
        assert decision.reassign_install == requested
        assert donor_status not in (None, ACTIVE, NN_REASSIGNED)
