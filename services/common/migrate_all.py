"""`python -m services.common.migrate_all`: every service's schema migrations, once, before the
services start, as whatever role DATABASE_URL names (one database, one role: SQLite or a local
PostgreSQL). The deployments (the Kubernetes migration Job, the compose file's `migrate`) run
`services.dbsetup` instead, which migrates as `credit_owner` and grants each service its role. Each service
still checks at start that its tables are at the head revision (a no-op then), under the same
advisory lock, so a replica started early never runs a migration beside the Job."""

import asyncio

import structlog

from services.common.db import make_engine
from services.common.logs import configure_logging
from services.common.migrations import migrate
from services.common.settings import Settings, get_settings
from services.dbsetup import service_schemas

# Every service with tables, from the one list `services.dbsetup` keeps (signals was missing here).
SERVICES = tuple(service_schemas())
log = structlog.get_logger(__name__)


async def migrate_all(settings: Settings) -> list[str]:
    done = []
    for name, (migrations, tables) in service_schemas().items():
        engine = make_engine(
            settings.database_url_for(name), pool_size=1, connect_args=settings.database_connect_args()
        )
        try:
            await migrate(engine, name, migrations, tables)
        finally:
            await engine.dispose()
        log.info("migrated", service=name)
        done.append(name)
    return done


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.logs_json())
    asyncio.run(migrate_all(settings))


if __name__ == "__main__":
    main()
