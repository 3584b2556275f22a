"""Alembic environment shared by every service: the connection, the service's tables and its own
version table come from services.common.migrations."""

from alembic import context

config = context.config
service = config.attributes["service"]
connection = config.attributes["connection"]


def _own(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Only the service's own tables (named `<service>_…`) are compared and migrated."""
    return type_ != "table" or (name or "").startswith(f"{service}_")


context.configure(
    connection=connection,
    target_metadata=config.attributes["target_metadata"],
    version_table=f"{service}_alembic_version",
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=_own,
)
with context.begin_transaction():
    context.run_migrations()
