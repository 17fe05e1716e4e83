"""Migration meshdb_1: stored values rewritten in MeshDB's spelling, and back."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from ipam.db import MIGRATIONS_DIR, migrate


def _downgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _values(engine):
    with engine.connect() as conn:
        placements = dict(conn.execute(text("SELECT name, placement FROM node")).all())
        sources = conn.scalar(text("SELECT address_truth_sources FROM building"))
        payment = conn.scalar(text("SELECT payment_preference FROM member"))
    return placements, sources, payment


def test_upgrade_rewrites_old_spellings_and_downgrade_restores_placement(db):
    _downgrade(db, "meshdb_1-1")
    try:
        with db.begin() as conn:
            for name, placement in [("a", "Rooftop"), ("b", "Unknown"), ("c", "Indoor")]:
                conn.execute(
                    text(
                        "INSERT INTO node (id, name, status, type, placement)"
                        " VALUES (gen_random_uuid(), :n, 'Active', 'Standard', :p)"
                    ),
                    {"n": name, "p": placement},
                )
            conn.execute(
                text(
                    "INSERT INTO building (id, latitude, longitude, address_truth_sources)"
                    " VALUES (gen_random_uuid(), 40.7, -73.9, :s)"
                ),
                {"s": ["AddressTruthSource.NYCPlanningLabs", "ReportedOnJoinForm", "OSMNominatim"]},
            )
            conn.execute(
                text(
                    "INSERT INTO member (id, name, payment_preference)"
                    " VALUES (gen_random_uuid(), 'M', 'Cash')"
                )
            )
    finally:
        migrate(db)
    placements, sources, payment = _values(db)
    assert placements == {"a": "rooftop", "b": "None", "c": "indoor"}
    assert sources == ["NYCPlanningLabs", "HumanEntry", "OSMNominatim"]
    assert payment == "cash"
    _downgrade(db, "meshdb_1-1")
    try:
        assert _values(db)[0] == {"a": "Rooftop", "b": "Unknown", "c": "Indoor"}
    finally:
        migrate(db)
