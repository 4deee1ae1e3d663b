"""Alembic environment, configured in code (no alembic.ini): see axis.adapters.migrations."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from axis.adapters import migrations

config = context.config


def _include(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN202
    # `exclude_tables`: lets the revision generator split a baseline into several revisions.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table in config.attributes.get("exclude_tables", ()):
        return False
    return migrations.include_object(obj, name, type_, reflected, compare_to)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=migrations.target_metadata(),
        include_object=_include,
        render_item=migrations.render_item,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two `axis db upgrade` at once (two machines starting): the second waits, then
            # finds the schema current and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": migrations.LOCK_KEY})
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = migrations.engine_for(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()
