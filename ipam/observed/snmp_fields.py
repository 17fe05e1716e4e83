"""What a device's SNMP poll read, as health answers show it, from its observation row's JSON.

Each source keeps its own value (issue 14): UISP's model and firmware are shown when there are
any, SNMP's stand beside them with the MIB object they came from, and sysDescr is its own
field, never a model.
"""

from __future__ import annotations

from typing import Any


def _snmp(row: dict[str, Any]) -> dict[str, Any]:
    """What the last SNMP poll read (the device_observation.radio JSON), empty when none."""
    return row.get("radio") or {}


def _by_source(uisp: str | None, snmp: str | None) -> tuple[str | None, str | None]:
    # UISP's value (what the operator's management system knows the device as) is shown when
    # there is one; SNMP's stands beside it, never over it.
    return (uisp, "uisp") if uisp else (snmp, "snmp") if snmp else (None, None)


def models(row: dict[str, Any] | None) -> dict[str, Any]:
    """The model and firmware each source gives, the ones shown, and where they came from."""
    row = row or {}
    system = _snmp(row).get("system") or {}
    uisp_model, uisp_firmware = row.get("model"), row.get("firmware")
    model, model_source = _by_source(uisp_model, system.get("model"))
    firmware, firmware_source = _by_source(uisp_firmware, system.get("firmware"))
    return {
        "model": model,
        "model_source": model_source,
        "models": {
            "uisp": uisp_model,
            "snmp": system.get("model"),
            "snmp_object": system.get("model_source"),
        },
        "firmware": firmware,
        "firmware_source": firmware_source,
        "firmwares": {"uisp": uisp_firmware, "snmp": system.get("firmware")},
    }


def snmp_details(row: dict[str, Any] | None) -> dict[str, Any]:
    """The SNMP figures of the health answer: identity, interfaces, radios, LTE modems."""
    block = _snmp(row or {})
    system = block.get("system") or {}
    return {
        "sys_descr": system.get("sys_descr"),
        "sys_object_id": system.get("sys_object_id"),
        "serial": system.get("serial"),
        "licence": system.get("licence"),
        "interfaces": block.get("interfaces") or [],
        "radio": {"radios": block["radios"]} if block.get("radios") else None,
        "lte": block.get("lte") or [],
    }
