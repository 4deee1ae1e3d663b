"""`axis db`: the database schema (Alembic migrations shipped inside the package)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from axis.config import Settings

app = typer.Typer(
    help="The database schema: upgrade, current revision, check.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def _engine():  # noqa: ANN202
    from axis.adapters import migrations

    settings = Settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings, migrations.engine_for(settings.resolved_database_url)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Bring the schema to the latest revision (safe to run on every deploy; two at once wait
    for each other)."""
    from axis.adapters import migrations
    from axis.adapters.database import writer_turn

    settings, engine = _engine()
    try:
        with writer_turn(settings.resolved_database_url):  # two at once on SQLite: one waits
            before = migrations.state(engine).current
            migrations.upgrade(engine, revision)
            after = migrations.state(engine).current
    finally:
        engine.dispose()
    if before == after:
        console.print(f"schema already at {after} ({_safe(settings.resolved_database_url)})")
    else:
        console.print(f"schema upgraded {before or 'empty'} -> {after}")


@app.command()
def current() -> None:
    """The database's revision and the one this version of axis expects."""
    from axis.adapters import migrations

    settings, engine = _engine()
    try:
        st = migrations.state(engine)
    finally:
        engine.dispose()
    console.print(f"database {_safe(settings.resolved_database_url)}")
    console.print(f"current  {st.current or 'none'}")
    console.print(f"expected {st.head}  ({'up to date' if st.is_current else 'OUTDATED'})")
    print(st.current or "none")


@app.command()
def check() -> None:
    """Exit 0 when the schema is current and matches the models; else list what differs, exit 1."""
    from axis.adapters import migrations

    _, engine = _engine()
    try:
        st = migrations.state(engine)
        diffs = migrations.differences(engine) if st.is_current else []
    finally:
        engine.dispose()
    if not st.is_current:
        err.print(
            f"[red]outdated[/]: at {st.current or 'none'}, expected {st.head}: "
            "run `axis db upgrade`"
        )
        raise typer.Exit(1)
    if diffs:
        err.print("[red]the schema differs from the models[/]:")
        for d in diffs:
            err.print(f"  {d}")
        raise typer.Exit(1)
    console.print(f"schema at {st.head}, matches the models")


@app.command()
def downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1")]) -> None:
    """Go back to an earlier revision (back up first: dropping tables drops their data)."""
    from axis.adapters import migrations

    _, engine = _engine()
    try:
        migrations.downgrade(engine, revision)
        console.print(f"schema at {migrations.state(engine).current or 'base'}")
    finally:
        engine.dispose()


@app.command()
def revision(message: Annotated[str, typer.Option("-m", help="what the revision changes")]) -> None:
    """Write a new revision from what separates the models from the (upgraded) database."""
    from alembic import command

    from axis.adapters import migrations

    settings, engine = _engine()
    try:
        migrations.upgrade(engine)
        head = migrations.head()
        rev_id = f"{int(head) + 1:04d}" if head.isdigit() else None  # 0001, 0002, ...
        with engine.begin() as conn:
            command.revision(
                migrations.alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id
            )
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
