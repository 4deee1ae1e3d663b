"""`axis upstream status|sync|pull|retry`: the upstream hub (federation) on the hub's host."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="The upstream hub (AXIS_UPSTREAM_URL): forwarding, pulling, its directory.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _hub():  # noqa: ANN202
    from axis.cli.main import _hub as hub

    return hub()


def _out(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False, indent=2) + "\n")


def _client(hub):  # noqa: ANN001, ANN202
    from axis.service import federation

    client = federation.client_for(hub.settings)
    if client is None:
        err.print(
            "[red]UPSTREAM_NOT_CONFIGURED[/]: set AXIS_UPSTREAM_URL, AXIS_UPSTREAM_SYSTEM_ID "
            "and AXIS_UPSTREAM_SECRET"
        )
        raise typer.Exit(1)
    return client


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Forwarded, pending, oldest pending age, failures, pulled, the directory's size and age."""
    from axis.service import federation

    hub = _hub()
    fig = federation.figures(hub)
    fig["dead_letters"] = federation.dead_letters(hub.db, limit=20)
    if as_json:
        _out(fig)
        return
    if not fig["enabled"]:
        console.print("no upstream hub configured (AXIS_UPSTREAM_URL, _SYSTEM_ID, _SECRET)")
    table = Table(
        "upstream",
        "system id",
        "forwarded",
        "pending",
        "oldest pending (s)",
        "failures",
        "dead",
        "pulled",
        "refused",
        "directory",
        "synced",
    )
    table.add_row(
        str(fig["upstream"] or "-"),
        str(fig["system_id"] or "-"),
        str(fig["forwarded"]),
        str(fig["pending"]),
        str(fig["oldest_pending_s"]),
        str(fig["failures"]),
        str(fig["dead"]),
        str(fig["pulled"]),
        str(fig["pull_refused"]),
        str(fig["directory_agencies"]),
        str(fig["directory_synced_at"] or "never"),
    )
    console.print(table)
    for d in fig["dead_letters"]:
        console.print(
            f"dead letter {d['message_id']} -> {', '.join(d['recipients'])}: {d['last_error']}"
        )


@app.command("sync")
def sync(as_json: JsonOpt = False) -> None:
    """Refresh the cached upstream directory now."""
    from axis.adapters.upstream import UpstreamError
    from axis.service import federation

    hub = _hub()
    with _client(hub) as client:
        try:
            result = federation.sync_directory(hub, client)
        except UpstreamError as exc:
            err.print(f"[red]{exc.code}[/]: {exc.message}")
            raise typer.Exit(1) from exc
    if as_json:
        _out(result)
        return
    console.print(
        f"{result['total']} agencies upstream: {result['added']} added, "
        f"{result['changed']} changed, {result['removed']} removed"
    )


@app.command("pull")
def pull(as_json: JsonOpt = False) -> None:
    """Take what waits upstream for this hub's agencies now (workers do it every few seconds)."""
    from axis.service import federation

    hub = _hub()
    with _client(hub) as client:
        result = federation.pull(hub, client)
    out = {
        "taken": result.taken,
        "acked": result.acked,
        "refused": result.refused,
        "errors": result.errors,
    }
    if as_json:
        _out(out)
    else:
        console.print(
            f"{result.taken} taken, {result.acked} acknowledged upstream, "
            f"{len(result.refused)} refused, {len(result.errors)} errors"
        )
        for e in result.errors:
            err.print(f"  {e}")
    if result.errors:
        raise typer.Exit(1)


@app.command("retry")
def retry(as_json: JsonOpt = False) -> None:
    """Put the forward dead letters back in the queue, due now."""
    from axis.service import federation

    n = federation.retry_dead(_hub().db)
    if as_json:
        _out({"requeued": n})
    else:
        console.print(f"{n} forward job(s) requeued")
