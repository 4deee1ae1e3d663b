"""The schema: migrations equal the models on both engines; the server refuses an outdated one."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from axis.adapters import migrations
from axis.adapters.migrations import SchemaOutdated
from axis.bootstrap import build_hub
from axis.config import Settings
from tests.deploy.conftest import axis_env, axis_run


@pytest.fixture
def engine(database_url):
    eng = migrations.engine_for(database_url)
    yield eng
    eng.dispose()


def _schema(engine) -> dict:
    """Every table, column (name, type, nullable), index and unique constraint, as reflected."""
    insp = inspect(engine)
    out = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        cols = {c["name"]: (str(c["type"]), c["nullable"]) for c in insp.get_columns(table)}
        idx = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in insp.get_indexes(table)
        )
        uqs = sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table))
        fks = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"])
            for f in insp.get_foreign_keys(table)
        )
        out[table] = (cols, idx, uqs, fks)
    return out


def test_the_migrations_build_exactly_the_models(engine):
    """Fails when a model changes without a revision (run `axis db revision -m ...`)."""
    migrations.upgrade(engine)
    st = migrations.state(engine)
    assert st.is_current and st.current == migrations.head()
    assert migrations.differences(engine) == []
    tables = st.tables
    for expected in ("messages", "deliveries", "webhooks", "push_jobs", "push_attempts"):
        assert expected in tables
    assert any(t.startswith("archive_") for t in tables)
    assert any(t.startswith("metric") for t in tables)


def test_the_comparison_can_fail(engine):
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_push_jobs_due"))
    diffs = migrations.differences(engine)
    assert [d[0] for d in diffs] == ["add_index"]
    assert diffs[0][1].name == "ix_push_jobs_due"


def test_migrated_equals_created_including_search_ddl(database_url, database_factory, tmp_path):
    """The quick path of the tests (create_all + stamp) and the migrations build the same
    database, dialect-specific full-text objects included."""
    if database_url.startswith("sqlite"):
        other_url = f"sqlite:///{tmp_path / 'other.db'}"
    else:
        other_url = database_factory.create()
    migrated, created = migrations.engine_for(database_url), migrations.engine_for(other_url)
    try:
        migrations.upgrade(migrated)
        migrations.prepare(created, create=True)
        assert migrations.state(created).is_current
        assert _schema(migrated) == _schema(created)
    finally:
        migrated.dispose()
        created.dispose()


def test_downgrade_to_base_and_up_again(engine):
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert migrations.state(engine).is_empty
    migrations.upgrade(engine)
    assert migrations.differences(engine) == []


def test_the_server_refuses_an_outdated_schema_and_says_how_to_fix_it(database_url, tmp_path):
    engine = migrations.engine_for(database_url)
    migrations.upgrade(engine, "0001")  # a database from before push delivery
    engine.dispose()
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    with pytest.raises(SchemaOutdated, match="axis db upgrade") as info:
        build_hub(settings, create_schema=False)
    assert "at revision 0001" in str(info.value)

    env = axis_env(database_url, tmp_path / "data")
    check = axis_run(env, "db", "check")
    assert check.returncode == 1 and "axis db upgrade" in check.stderr
    refused = axis_run(env, "agency", "list")
    assert refused.returncode == 1 and "SCHEMA_OUTDATED" in refused.stderr
    up = axis_run(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert f"0001 -> {migrations.head()}" in up.stdout
    assert axis_run(env, "db", "check").returncode == 0
    current = axis_run(env, "db", "current")
    assert current.stdout.strip().splitlines()[-1] == migrations.head()
    build_hub(settings, create_schema=False).close()


def test_a_fresh_shared_database_is_refused_but_a_fresh_embedded_sqlite_is_created(
    database_factory, tmp_path
):
    pg = Settings(data_dir=tmp_path / "pg", database_url=database_factory.create())
    with pytest.raises(SchemaOutdated, match="schema is empty"):
        build_hub(pg, create_schema=False)
    embedded = Settings(data_dir=tmp_path / "embedded")  # no AXIS_DATABASE_URL: the default
    hub = build_hub(embedded, create_schema=False)
    try:
        assert migrations.state(hub.db.engine).is_current
        assert migrations.differences(hub.db.engine) == []
    finally:
        hub.close()


def test_a_database_from_before_migrations_is_adopted(database_url):
    """Data directories made by create_all before migrations existed: upgrade stamps them."""
    from axis.adapters.tables import Base

    engine = migrations.engine_for(database_url)
    try:
        Base.metadata.create_all(engine)  # what build_hub did before
        assert migrations.state(engine).current is None
        migrations.upgrade(engine)
        assert migrations.state(engine).is_current
        assert migrations.differences(engine) == []
    finally:
        engine.dispose()


def test_two_upgrades_at_once_do_not_collide(database_url, tmp_path):
    import subprocess
    import sys

    from tests.deploy.conftest import ROOT

    env = axis_env(database_url, tmp_path / "data")
    cmd = [sys.executable, "-c", "from axis.cli.main import app; app()", "db", "upgrade"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    engine = migrations.engine_for(database_url)
    try:
        assert migrations.state(engine).is_current
    finally:
        engine.dispose()
