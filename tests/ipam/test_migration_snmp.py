"""Migration snmp_1: observed model keeps UISP's model only; downgrade gives SNMP's back."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from ipam import models as m
from ipam.db import MIGRATIONS_DIR, transaction


def _models(sessions) -> dict:
    with transaction(sessions) as session:
        rows = session.execute(
            select(
                m.DeviceObservation.device_id,
                m.DeviceObservation.model,
                m.DeviceObservation.firmware,
            )
        )
        return {device_id: (model, firmware) for device_id, model, firmware in rows}


def _alembic(engine, action, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        action(config, revision)


def test_snmp_1_clears_sys_descr_copies_and_downgrades(db, sessions) -> None:
    with transaction(sessions) as session:
        node = m.Node(network_number=10, status="Active", type="Standard", placement="None")
        uisp = m.Device(node=node, name="from-uisp", status="Active")
        polled = m.Device(node=node, name="snmp-only", status="Active")
        session.add_all([uisp, polled])
        session.flush()
        ids = uisp.id, polled.id
    _alembic(db, command.downgrade, "0003")
    with transaction(sessions) as session:
        session.add_all(
            [
                m.DeviceObservation(
                    device_id=ids[0], model="LBE-5AC-Gen2", uisp_at=datetime.now(UTC)
                ),
                # What the old SNMP poll left: sysDescr as the model, and no UISP sync ever.
                m.DeviceObservation(
                    device_id=ids[1],
                    model="Linux 2.6.32.68 #1 mips",
                    firmware="XM.v6.3.11",
                    radio={
                        "radios": [],
                        "system": {"model": "Rocket M5", "firmware": "XM.v6.3.11"},
                    },
                ),
            ]
        )
    _alembic(db, command.upgrade, "head")
    assert _models(sessions) == {ids[0]: ("LBE-5AC-Gen2", None), ids[1]: (None, None)}
    _alembic(db, command.downgrade, "0003")
    assert _models(sessions) == {
        ids[0]: ("LBE-5AC-Gen2", None),
        ids[1]: ("Rocket M5", "XM.v6.3.11"),
    }
    _alembic(db, command.upgrade, "head")
