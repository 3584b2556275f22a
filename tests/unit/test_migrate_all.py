"""The migration Job's command brings every service's tables to head (SQLite here; PostgreSQL in
tests/integration/test_migrations_connected.py covers the migrations themselves)."""

import sqlite3
from pathlib import Path

from services.common.migrate_all import SERVICES, migrate_all
from services.common.settings import Settings


async def test_every_service_migrated(tmp_path: Path) -> None:
    settings = Settings(credit_var_dir=tmp_path)
    assert await migrate_all(settings) == list(SERVICES)
    for name in SERVICES:
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert f"{name}_outbox" in tables, (name, tables)
        assert f"{name}_alembic_version" in tables, (name, tables)
    # Run again (a second Job, or a service starting after it): nothing to do, no error.
    assert await migrate_all(settings) == list(SERVICES)
