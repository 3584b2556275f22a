"""Database roles (issue 21, point 6): the services no longer connect as a superuser.

    python -m services.dbsetup --admin-url postgresql://postgres@127.0.0.1:5432/credit

run once per deployment (and again after an upgrade) by whoever administers the database:

- `credit_owner` owns every table, runs every service's migrations (so the append-only triggers,
  which only a table's owner or a superuser may switch off, are out of the services' reach) and
  is used for nothing else;
- one login role per service, `credit_evaluation`, `credit_publication`, `credit_repair`,
  `credit_appeal`, `credit_casework`, `credit_watch`, `credit_signals`, `credit_evaluations`, which
  owns nothing and may only read and write that service's own tables (`<service>_*`): SELECT,
  INSERT, UPDATE, DELETE on its tables, SELECT and INSERT only on the append-only ones (record
  history, ledger, audits), SELECT on its migration version table, and its sequences. It cannot
  read another service's tables, create or alter a table, or disable a trigger;
- `credit_gateway`, which may only read publication's public credit answers
  (`publication_credit_view`): the gateway answers `GET /v1/credit/{type}/{id}` from them without
  a hop to publication (issue 19, services/gateway/credit.py).

Prints the URL each service connects with (`DATABASE_URL` for that service). Passwords: a role gets
the one in `CREDIT_DB_PASSWORD_<ROLE>` (e.g. `CREDIT_DB_PASSWORD_CREDIT_EVALUATION`) when it is set;
without one (local trust authentication) the role has none.

What a superuser can still do: anything — edit a row with the triggers switched off, rewrite the
history and the ledger consistently. Such a rewrite cannot match a checkpoint already published
(`ledger.checkpoint.published.v1`, signed, kept outside the database by whoever consumed it), and
the verifier names the first entry that differs and compares what is served with the ledger; the
more checkpoints kept, the narrower the range. Keep the superuser's credentials away from the
services and audit its use in the database's own logs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import asyncpg
from sqlalchemy import Table

from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.settings import get_settings

OWNER = "credit_owner"
# The gateway's role and the one table it reads (the public answers, nothing else).
GATEWAY = "gateway"
GATEWAY_READS = ("publication_credit_view",)
# Tables whose rows, once written, stay as they are (their triggers refuse change; the grants too).
APPEND_ONLY = frozenset({"evaluation_record_history", "evaluation_ledger", "evaluation_audit", "casework_task_audit"})


def service_schemas() -> dict[str, tuple[Path, list[Table]]]:
    """Each service with tables: its migrations and models (imported here, not at module load)."""
    from services.appeal.models import MIGRATIONS as APPEAL_M
    from services.appeal.models import TABLES as APPEAL_T
    from services.casework.models import MIGRATIONS as CASEWORK_M
    from services.casework.models import TABLES as CASEWORK_T
    from services.evaluation.models import MIGRATIONS as EVALUATION_M
    from services.evaluation.models import TABLES as EVALUATION_T
    from services.evaluations.models import MIGRATIONS as EVALUATIONS_M
    from services.evaluations.models import TABLES as EVALUATIONS_T
    from services.publication.models import MIGRATIONS as PUBLICATION_M
    from services.publication.models import TABLES as PUBLICATION_T
    from services.repair.models import MIGRATIONS as REPAIR_M
    from services.repair.models import TABLES as REPAIR_T
    from services.signals.models import MIGRATIONS as SIGNALS_M
    from services.signals.models import TABLES as SIGNALS_T
    from services.statistics.models import MIGRATIONS as STATISTICS_M
    from services.statistics.models import TABLES as STATISTICS_T
    from services.watch.models import MIGRATIONS as WATCH_M
    from services.watch.models import TABLES as WATCH_T

    return {
        "evaluation": (EVALUATION_M, EVALUATION_T),
        "publication": (PUBLICATION_M, PUBLICATION_T),
        "repair": (REPAIR_M, REPAIR_T),
        "appeal": (APPEAL_M, APPEAL_T),
        "casework": (CASEWORK_M, CASEWORK_T),
        "watch": (WATCH_M, WATCH_T),
        "signals": (SIGNALS_M, SIGNALS_T),
        "evaluations": (EVALUATIONS_M, EVALUATIONS_T),
        "statistics": (STATISTICS_M, STATISTICS_T),
    }


def role_of(service: str) -> str:
    return f"credit_{service}"


def url_as(admin_url: str, role: str) -> str:
    """`admin_url` with `role` (and its password from the environment, if any) as the user."""
    parts = urlsplit(admin_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    password = os.environ.get(f"CREDIT_DB_PASSWORD_{role.upper()}")
    user = quote(role) + (f":{quote(password, safe='')}" if password else "")
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


async def _ensure_role(conn: asyncpg.Connection, role: str) -> None:
    password = os.environ.get(f"CREDIT_DB_PASSWORD_{role.upper()}")
    # Roles belong to the whole cluster: another database (another stack) may have made it already.
    try:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT')
    except asyncpg.exceptions.DuplicateObjectError:
        pass
    except asyncpg.exceptions.UniqueViolationError:  # two creators at once
        pass
    if password:
        await conn.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password.replace(chr(39), chr(39) * 2)}'")


async def setup(admin_url: str) -> dict[str, str]:
    """Roles, migrations as the owner, grants; returns {service: the URL it connects with}. TLS as
    the services connect (DATABASE_SSLMODE, DATABASE_SSL_ROOT_CERT: the Kubernetes migration Job)."""
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    database = urlsplit(dsn).path.lstrip("/")
    schemas = service_schemas()
    tls = get_settings().database_connect_args()
    conn = await asyncpg.connect(dsn, **tls)
    try:
        for role in (OWNER, *(role_of(s) for s in schemas), role_of(GATEWAY)):
            await _ensure_role(conn, role)
        await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{OWNER}"')
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{OWNER}"')
        for service in (*schemas, GATEWAY):
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role_of(service)}"')
            await conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role_of(service)}"')
        for service in schemas:
            async with conn.transaction():
                await _adopt(conn, service)
    finally:
        await conn.close()

    owner = make_engine(url_as(dsn, OWNER).replace("postgresql://", "postgresql+asyncpg://", 1), connect_args=tls)
    try:
        for service, (migrations, tables) in schemas.items():
            await migrate(owner, service, migrations, tables)
    finally:
        await owner.dispose()

    conn = await asyncpg.connect(dsn, **tls)
    try:
        async with conn.transaction():
            for service in schemas:
                await _grant(conn, service)
            for table in GATEWAY_READS:
                await conn.execute(f'GRANT SELECT ON TABLE "{table}" TO "{role_of(GATEWAY)}"')
    finally:
        await conn.close()
    return {service: url_as(dsn, role_of(service)) for service in (*schemas, GATEWAY)}


async def _adopt(conn: asyncpg.Connection, service: str) -> None:
    """A database migrated before the roles existed (`services.common.migrate_all`, every service
    connecting as one role, e.g. the single-host compose file before issue 21) has the service's
    tables, sequences and trigger functions owned by that role: hand them to the owner, so it can
    migrate them and the grants below cover them. Nothing to do once they are the owner's."""
    like = service.replace("_", r"\_") + r"\_%"
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1 AND tableowner <> $2",
        like,
        OWNER,
    )
    for (table,) in tables:  # also moves the sequences its columns own
        await conn.execute(f'ALTER TABLE "{table}" OWNER TO "{OWNER}"')
    sequences = await conn.fetch(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename LIKE $1"
        " AND sequenceowner <> $2",
        like,
        OWNER,
    )
    for (sequence,) in sequences:
        await conn.execute(f'ALTER SEQUENCE "{sequence}" OWNER TO "{OWNER}"')
    functions = await conn.fetch(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.proname LIKE $1 AND pg_get_userbyid(p.proowner) <> $2",
        like,
        OWNER,
    )
    for (function,) in functions:
        await conn.execute(f'ALTER FUNCTION {function} OWNER TO "{OWNER}"')
    if tables or sequences or functions:
        log_adopted = f"{service}: {len(tables)} tables, {len(sequences)} sequences, {len(functions)} functions"
        sys.stderr.write(f"handed to {OWNER}: {log_adopted}\n")


async def _grant(conn: asyncpg.Connection, service: str) -> None:
    role = role_of(service)
    prefix = f"{service}_"
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1 AND tablename LIKE $2",
        OWNER,
        prefix.replace("_", r"\_") + "%",
    )
    for (table,) in tables:
        await conn.execute(f'REVOKE ALL ON TABLE "{table}" FROM "{role}"')
        if table == f"{service}_alembic_version":
            privileges = "SELECT"  # the service checks it is at head at start; only the owner migrates
        elif table in APPEND_ONLY:
            privileges = "SELECT, INSERT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        await conn.execute(f'GRANT {privileges} ON TABLE "{table}" TO "{role}"')
    sequences = await conn.fetch(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND sequencename LIKE $1",
        prefix.replace("_", r"\_") + "%",
    )
    for (sequence,) in sequences:
        await conn.execute(f'GRANT USAGE, SELECT ON SEQUENCE "{sequence}" TO "{role}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dbsetup", description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("DATABASE_URL"), help="a role that may create roles")
    args = parser.parse_args(argv)
    if not args.admin_url:
        parser.error("--admin-url (or DATABASE_URL) is required")
    urls = asyncio.run(setup(args.admin_url))
    for service, url in urls.items():
        sys.stdout.write(f"{service}\t{url}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
