"""Alembic environment shared by every service: the connection, the service's tables and its own
version table come from services.common.migrations."""

from alembic import context

config = context.config
service = config.attributes["service"]
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=config.attributes["target_metadata"],
    version_table=f"{service}_alembic_version",
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=lambda obj, name, type_, reflected, compare_to: type_ != "table" or name.startswith(f"{service}_"),
)
with context.begin_transaction():
    context.run_migrations()
