"""Issue 21 (6): the services connect as roles that own nothing and may touch only their own tables;
the migrations run as the owner (services/dbsetup.py)."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.local.components import create_database_async, ensure_postgres
from services.dbsetup import setup
from tests.stack import PG_ADMIN

pytestmark = pytest.mark.connected


@pytest.fixture(scope="module")
async def urls() -> AsyncIterator[dict[str, str]]:
    ensure_postgres(PG_ADMIN)
    name = f"credit_roles_{uuid.uuid4().hex[:8]}"
    dsn = await create_database_async(PG_ADMIN, name)
    try:
        yield await setup(dsn)
        assert await setup(dsn)  # again (an upgrade): idempotent
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def test_a_service_role_does_only_what_its_service_needs(urls: dict[str, str]) -> None:
    assert set(urls) == {
        "evaluation",
        "publication",
        "repair",
        "appeal",
        "casework",
        "watch",
        "signals",
        "evaluations",
        "statistics",
        "gateway",
    }
    conn = await asyncpg.connect(urls["evaluation"])
    try:
        assert await conn.fetchval("SELECT current_user") == "credit_evaluation"
        assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        # Its own tables: read and write.
        await conn.execute("SELECT count(*) FROM evaluation_record")
        await conn.execute("UPDATE evaluation_outbox_cursor SET seq = seq WHERE false")
        refused = [
            "UPDATE evaluation_record_history SET change = 'x' WHERE false",  # append-only
            "DELETE FROM evaluation_ledger WHERE false",
            "SELECT count(*) FROM publication_record",  # another service's table
            "CREATE TABLE evaluation_mine (id int)",  # owns nothing, creates nothing
            "ALTER TABLE evaluation_ledger DISABLE TRIGGER USER",  # only the owner could
            "ALTER TABLE evaluation_record_history DISABLE TRIGGER USER",
            "INSERT INTO evaluation_alembic_version VALUES ('x')",  # only the owner migrates
        ]
        for statement in refused:
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await conn.execute(statement)
        owner = await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'evaluation_record'")
        assert owner == "credit_owner"
    finally:
        await conn.close()


async def test_the_gateway_role_reads_the_public_answers_and_nothing_else(urls: dict[str, str]) -> None:
    # Issue 19: the gateway answers GET /v1/credit/{type}/{id} from publication's read model.
    conn = await asyncpg.connect(urls["gateway"])
    try:
        assert await conn.fetchval("SELECT current_user") == "credit_gateway"
        await conn.execute("SELECT body FROM publication_credit_view WHERE subject_key = 'x'")
        refused = [
            "UPDATE publication_credit_view SET body = body WHERE false",
            "SELECT count(*) FROM publication_record",
            "SELECT count(*) FROM evaluation_record",
            "CREATE TABLE gateway_mine (id int)",
        ]
        for statement in refused:
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_database_migrated_before_the_roles_is_handed_to_the_owner() -> None:
    # The single-host compose file used to run migrate_all as PostgreSQL's superuser, every service
    # connecting as it: its tables, sequences and trigger functions are that role's. dbsetup on
    # such a database hands them to credit_owner, so the service roles get their grants.
    from services.common.db import make_engine
    from services.common.migrations import migrate
    from services.dbsetup import service_schemas

    ensure_postgres(PG_ADMIN)
    name = f"credit_roles_{uuid.uuid4().hex[:8]}"
    dsn = await create_database_async(PG_ADMIN, name)
    try:
        before = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=1)
        try:
            for service, (migrations, tables) in service_schemas().items():
                await migrate(before, service, migrations, tables)
        finally:
            await before.dispose()
        urls = await setup(dsn)
        admin = await asyncpg.connect(dsn)
        try:
            foreign = await admin.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'credit_owner'"
            )
            assert foreign == []
            functions = await admin.fetch(
                "SELECT proname, pg_get_userbyid(proowner) AS owner FROM pg_proc p"
                " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
            )
            assert functions and {f["owner"] for f in functions} == {"credit_owner"}
        finally:
            await admin.close()
        conn = await asyncpg.connect(urls["evaluation"])
        try:
            await conn.execute("UPDATE evaluation_outbox_cursor SET seq = seq WHERE false")
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
                await conn.execute("ALTER TABLE evaluation_ledger DISABLE TRIGGER USER")
        finally:
            await conn.close()
        assert await setup(dsn)  # and again: nothing left to hand over
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
