"""MeshDB's webhook event names beside meshkeeper's, both ways (pure).

MeshDB's names are drf-hooks' HOOK_EVENTS (src/meshdb/settings.py): `<model>.<action>` with
`access_point` and `installfeebillingdatum` spelled its way, and the custom
`device.uisp-deactivated` (src/meshapi/util/uisp_import/update_objects.py). meshkeeper's
names come from ipam.records.changes.KINDS (`accesspoint`, `install_fee_billing_datum`) and
daemon/uisp_sync.py (`device.uisp_deactivated`).
"""

from __future__ import annotations

# meshkeeper's kind word -> MeshDB's, for the kinds whose records MeshDB sends.
KIND_NAMES: dict[str, str] = {
    "building": "building",
    "member": "member",
    "install": "install",
    "node": "node",
    "link": "link",
    "los": "los",
    "device": "device",
    "sector": "sector",
    "accesspoint": "access_point",
    "install_fee_billing_datum": "installfeebillingdatum",
}
ACTIONS = ("created", "updated", "deleted")
# Events MeshDB names outside the <kind>.<action> pattern (ours, theirs).
SPECIAL = {"device.uisp_deactivated": "device.uisp-deactivated"}
FORMATS = ("meshkeeper", "meshdb")

_OURS = {theirs: ours for ours, theirs in KIND_NAMES.items()}
_SPECIAL_OURS = {theirs: ours for ours, theirs in SPECIAL.items()}


def meshdb_event(event_type: str) -> str | None:
    """MeshDB's name for one of our event types; None when MeshDB has no such event."""
    if event_type in SPECIAL:
        return SPECIAL[event_type]
    kind, _, action = event_type.partition(".")
    if kind in KIND_NAMES and action in ACTIONS:
        return f"{KIND_NAMES[kind]}.{action}"
    return None


def our_pattern(pattern: str) -> str:
    """A subscription's event type or prefix in either naming, in meshkeeper's."""
    if pattern in _SPECIAL_OURS:
        return _SPECIAL_OURS[pattern]
    kind, dot, rest = pattern.partition(".")
    return f"{_OURS.get(kind, kind)}{dot}{rest}"


def meshdb_patterns() -> list[str]:
    """Every one of our event types that MeshDB has a name for (a filter for everything)."""
    return [f"{kind}.{action}" for kind in KIND_NAMES for action in ACTIONS] + list(SPECIAL)
