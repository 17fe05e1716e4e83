"""What the UISP rules read of a UISP inventory: the shapes, not the collector that fetched them.

The collector's frozen `UispDevice` / `UispLink` / `UispSnapshot` satisfy these structurally, so
the domain depends on no collector (the layers in ARCHITECTURE.md, kept by import-linter).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class UispDevice(Protocol):
    """One UISP device as the sync rules read it."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def network_number(self) -> int | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def last_seen(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def wireless_mode(self) -> str | None: ...
    @property
    def frequency_mhz(self) -> float | None: ...


class UispLink(Protocol):
    """One UISP data link as the sync rules read it."""

    @property
    def id(self) -> str: ...
    @property
    def from_device_id(self) -> str | None: ...
    @property
    def to_device_id(self) -> str | None: ...
    @property
    def state(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def frequency_mhz(self) -> float | None: ...


class UispSnapshot(Protocol):
    """One fetch of the inventory: its devices and links."""

    @property
    def devices(self) -> Sequence[UispDevice]: ...
    @property
    def links(self) -> Sequence[UispLink]: ...
