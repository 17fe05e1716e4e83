"""Migration meshdb_move_1: webhook format and headers, reversible, in step with models.py."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from ipam import models as m
from ipam.db import MIGRATIONS_DIR, migrate


def _downgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _webhook_columns(engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("webhook")}


def test_existing_subscriptions_keep_meshkeepers_format_and_downgrade_drops_it(db):
    _downgrade(db, "meshdb_move_1-1")
    try:
        assert "format" not in _webhook_columns(db)  # headers came one revision earlier
        with db.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO webhook (id, url, event_types, secret, cursor, paused, failures)"
                    " VALUES (gen_random_uuid(), 'http://127.0.0.1:9/h', '{}', 'secret12', 0,"
                    " false, 0)"
                )
            )
    finally:
        migrate(db)
    with db.connect() as conn:
        assert conn.execute(text("SELECT format, headers FROM webhook")).one() == ("meshkeeper", {})


def test_models_and_migration_agree_on_the_webhook_table(db):
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    webhook = [d for d in diff if "webhook" in repr(d) and "webhook_delivery" not in repr(d)]
    assert webhook == []
