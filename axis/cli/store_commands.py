"""`axis store`: the object store's housekeeping on the hub's host (docs/operations.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from archive.store import StoreUnavailable

app = typer.Typer(help="The object store: reclaim crash leftovers.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command()
def reap(
    grace: Annotated[
        str, typer.Option(help="keep orphans younger than this (90s, 30m, 1h, 2d)")
    ] = "1h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list, remove nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Remove objects no record references (older than --grace) and temp files of
    interrupted writes. Exit 0 done, 1 orphans the store keeps locked, 2 store unavailable."""
    from axis.cli.main import _hub
    from axis.service import reaper

    try:
        grace_s = reaper.parse_duration(grace)
    except ValueError:
        err.print(f"[red]INVALID_DURATION[/]: --grace {grace!r} (use 90s, 30m, 1h or 2d)")
        raise typer.Exit(2) from None
    hub = _hub()
    try:
        report = reaper.reap(hub, grace_s=grace_s, dry_run=dry_run, by="cli")
    except StoreUnavailable as exc:
        err.print(f"[red]STORE_UNAVAILABLE[/]: {exc}")
        raise typer.Exit(2) from exc
    finally:
        hub.close()
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        verb = "would remove" if dry_run else "removed"
        console.print(
            f"{report.scanned} objects scanned in {report.seconds:.1f} s: {verb} "
            f"{len(report.objects)} orphans ({report.bytes} bytes) and "
            f"{len(report.temp_files)} temp files; {report.young} orphans younger than {grace}"
        )
        for item in report.locked:
            console.print(f"  locked orphan {item['key']} until {item['retain_until']}")
    if report.locked:
        raise typer.Exit(1)
