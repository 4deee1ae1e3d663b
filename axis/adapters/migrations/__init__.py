"""The database schema, managed by Alembic revisions in `versions/`, configured in code.

Every table of the hub is a target: the ORM tables on `axis.adapters.tables.Base` (and every
`axis/adapters/*tables*.py` module that adds to it: push, metrics, ...) and the archive catalog's
own `MetaData` (`archive.catalog.metadata`). A test upgrades a fresh SQLite and a fresh
PostgreSQL database and compares them with the models, so a model change without a revision
fails the suite. To write the revision of a model change:

    axis db revision -m "what changed"     # autogenerate against a scratch database

Policy (see `prepare`): the server never changes a shared database's schema by itself; it refuses
to start on an outdated one and says to run `axis db upgrade`. A fresh embedded SQLite database
is the exception: the one-command default (`axis serve`) creates it, by the same migrations.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

HERE = Path(__file__).resolve().parent
LOCK_KEY = 0x61786973  # "axis": the PostgreSQL advisory lock held while migrating

# Objects that dialect-specific DDL creates beside the models (full-text search of the archive
# catalog): they exist in the database but not in any MetaData, so the comparison skips them.
UNMODELLED_TABLE_PREFIXES = ("archive_records_fts",)  # SQLite FTS5 table and its shadow tables
UNMODELLED_COLUMNS = {("archive_records", "search_tsv")}  # PostgreSQL generated tsvector
UNMODELLED_INDEXES = {"ix_archive_records_tsv"}


class SchemaOutdated(RuntimeError):
    """The database's schema is not the one this code expects: an operator must act."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the revision the database is at (None: not under migrations)
    head: str  # the revision this code expects
    tables: frozenset[str]  # tables present

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    @property
    def is_empty(self) -> bool:
        return not (self.tables - {"alembic_version"})


def target_metadata() -> list[MetaData]:
    """The MetaData of every table the hub owns (importing the modules that declare them)."""
    import axis.adapters
    from axis.adapters.tables import Base

    for info in pkgutil.iter_modules(axis.adapters.__path__):
        if "tables" in info.name:
            importlib.import_module(f"axis.adapters.{info.name}")
    targets = [Base.metadata]
    try:
        from archive.catalog import metadata as catalog
    except ImportError:  # the archive catalog is optional until it ships
        pass
    else:
        targets.append(catalog)
    return targets


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if not (reflected and compare_to is None):
        return True
    if type_ == "table":
        return name != "alembic_version" and not (name or "").startswith(UNMODELLED_TABLE_PREFIXES)
    if type_ == "column":
        return (obj.table.name, name) not in UNMODELLED_COLUMNS
    if type_ == "index":
        return name not in UNMODELLED_INDEXES
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Revisions name plain SQLAlchemy types, not our TypeDecorators: a revision must not
    change meaning when the Python class it would import changes later."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{impl!r}"
    return False


def engine_for(url: str) -> Engine:
    from axis.adapters.database import make_engine

    return make_engine(url)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    heads = _script().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads {heads}: merge them")
    return heads[0]


def known(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = frozenset(inspect(conn).get_table_names())
    return SchemaState(current=current, head=head(), tables=tables)


def _writer(engine: Engine) -> Engine:
    # On SQLite, take the write lock at BEGIN (see axis.adapters.database): two processes
    # migrating at once queue instead of failing half-way.
    return engine.execution_options(axis_write=True)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to `revision`, adopting a database made by `create_all` before
    migrations existed (its missing tables created, then stamped)."""
    st = state(engine)
    if st.current is None and not st.is_empty and revision == "head":
        _create_and_stamp(engine)
        return
    with _writer(engine).begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _writer(engine).begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def _create_and_stamp(engine: Engine) -> None:
    """The quick way to a fresh schema (alembic's own advice): create_all, then stamp head.
    Equal to running every revision, which the schema test proves for both engines."""
    with _writer(engine).begin() as conn:
        for md in target_metadata():
            md.create_all(conn, checkfirst=True)
        ctx = MigrationContext.configure(conn)
        ctx.stamp(_script(), "head")


def differences(engine: Engine) -> list:
    """What separates the database's schema from the models (alembic's compare_metadata)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_object": include_object,
                "target_metadata": target_metadata(),
            },
        )
        return compare_metadata(ctx, target_metadata())


def prepare(engine: Engine, *, create: bool, embedded: bool = False) -> SchemaState:
    """Make sure the schema is the one this code expects, before serving.

    create=True (tests, scratch databases): bring any database to the head revision.
    create=False (servers, workers, admin commands): refuse an outdated schema with
    SchemaOutdated, which tells the operator to run `axis db upgrade`; except that an empty
    embedded SQLite database (embedded=True) is created by the migrations, so the default
    install stays one command.
    """
    st = state(engine)
    if st.is_current:
        return st
    if st.current is not None and not known(st.current):
        raise SchemaOutdated(
            f"the database schema is at revision {st.current}, which this version of axis does "
            f"not know (it expects {st.head}): the database was upgraded by a newer axis"
        )
    if create:
        if st.is_empty:
            _create_and_stamp(engine)
        else:
            upgrade(engine)
        return state(engine)
    if embedded and st.is_empty:
        upgrade(engine)
        return state(engine)
    where = "empty" if st.is_empty else f"at revision {st.current or 'none (unversioned)'}"
    raise SchemaOutdated(
        f"the database schema is {where}; this version of axis expects revision {st.head}. "
        "Run `axis db upgrade` (with the same AXIS_DATABASE_URL), then start again."
    )
