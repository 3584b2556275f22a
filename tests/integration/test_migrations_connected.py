"""The Alembic revisions and the models describe the same schema: a model change without its
migration fails here."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from deploy.local.components import create_database_async, drop_database_async, ensure_postgres
from services.appeal import models as appeal
from services.casework import models as casework
from services.common.db import make_engine
from services.common.migrations import alembic_config, migrate
from services.evaluation import models as evaluation
from services.evaluations import models as evaluations
from services.publication import models as publication
from services.repair import models as repair
from services.watch import models as watch
from tests.stack import PG_ADMIN

pytestmark = pytest.mark.connected


@pytest.mark.parametrize(
    ("service", "module"),
    [
        ("evaluation", evaluation),
        ("publication", publication),
        ("appeal", appeal),
        ("repair", repair),
        ("casework", casework),
        ("watch", watch),
        ("evaluations", evaluations),
    ],
)
async def test_migrations_match_the_models(service: str, module) -> None:  # type: ignore[no-untyped-def]
    ensure_postgres(PG_ADMIN)
    url = await create_database_async(PG_ADMIN, f"credit_mig_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        await migrate(engine, service, module.MIGRATIONS, module.TABLES)
        await migrate(engine, service, module.MIGRATIONS, module.TABLES)  # a second start changes nothing
        metadata = alembic_config(service, module.MIGRATIONS, module.TABLES).attributes["target_metadata"]

        def diff(conn):  # type: ignore[no-untyped-def]
            ctx = MigrationContext.configure(conn, opts={"version_table": f"{service}_alembic_version"})
            return [d for d in compare_metadata(ctx, metadata) if not _other_service(d, service)]

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
        await drop_database_async(PG_ADMIN, url.rsplit("/", 1)[1])


def _other_service(d, service: str) -> bool:  # type: ignore[no-untyped-def]
    """compare_metadata also reports the other services' tables in a shared database."""
    return not _table_of(d).startswith(f"{service}_")


def _table_of(d) -> str:  # type: ignore[no-untyped-def]
    if isinstance(d, list):  # modify_* diffs come as a list of (op, schema, table, column, …)
        return d[0][2]
    if d[0] in ("add_table", "remove_table"):
        return d[1].name
    if d[0] in ("add_index", "remove_index", "add_constraint", "remove_constraint"):
        return d[1].table.name
    return d[2]  # add_column / remove_column: (op, schema, table, column)
