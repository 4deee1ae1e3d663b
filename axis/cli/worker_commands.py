"""`axis worker`, `axis agency webhook`, `axis deadletter`: push delivery on the hub's host."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from axis.config import Settings
from axis.domain import HubError

app = typer.Typer()  # root commands: `axis worker`
agency_app = typer.Typer()  # mounted under `axis agency`
deadletter_app = typer.Typer(help="Push deliveries given up on.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _hub():  # noqa: ANN202
    from axis.cli.main import _hub

    return _hub()


def _run(fn, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
    try:
        return fn(*args, **kw)
    except HubError as exc:
        err.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from exc


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="POSTs in flight")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Deliver push jobs to agencies' webhooks until SIGTERM (run as many as you like)."""
    from axis.service.push import PushSettings
    from axis.worker import run_worker

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = PushSettings()
    if concurrency:
        settings.concurrency = concurrency
    hub = _hub()
    engine = "sqlite" if Settings().is_sqlite else "postgresql"
    log = logging.getLogger("axis.worker")
    log.info("axis worker: %s database, %d POSTs in flight", engine, settings.concurrency)
    try:
        w = run_worker(hub, settings)
    finally:
        hub.close()
    log.info("stopped: %d delivered, %d failed attempts", w.delivered, w.failed)


@app.command("push-prune")
def push_prune(
    days: Annotated[float, typer.Option(help="keep finished push jobs younger than this")] = 90,
) -> None:
    """Delete finished push jobs and their attempts older than --days (dead letters stay)."""
    from axis.service import push

    jobs, attempts = push.prune(_hub().db, older_than_days=days)
    console.print(f"{jobs} finished push job(s) and {attempts} attempt(s) deleted")


@agency_app.command("webhook")
def agency_webhook(
    code: str,
    url: Annotated[str, typer.Argument(help="http(s) URL the hub POSTs packages to")],
    rotate_secret: Annotated[bool, typer.Option(help="issue a new shared secret")] = False,
) -> None:
    """Push an agency's packages to URL. Prints the shared secret (HMAC-SHA256 key) last."""
    from axis.service import push

    hub = _hub()
    hook = _run(
        push.set_webhook,
        hub.db,
        code,
        url,
        rotate_secret=rotate_secret,
        allowed_networks=hub.settings.webhook_allowed_networks,
    )
    console.print(f"webhook of {hook['agency']}: {hook['url']}")
    console.print("shared secret (X-Axis-Signature = hex HMAC-SHA256 of timestamp.body):")
    print(hook["secret"])


@agency_app.command("unhook")
def agency_unhook(code: str) -> None:
    """Stop pushing to an agency (it keeps pulling its inbox)."""
    from axis.service import push

    _run(push.remove_webhook, _hub().db, code)
    console.print(f"webhook of {code} removed")


@deadletter_app.command("list")
def deadletter_list(
    agency: Annotated[str | None, typer.Option(help="one recipient agency")] = None,
    limit: int = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dead letters: deliveries retried until their deadline without a 2xx."""
    from axis.service import push

    rows = push.dead_letters(_hub().db, agency=agency, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("job", "message", "recipient", "attempts", "gave up", "last error")
    for r in rows:
        table.add_row(
            str(r["job_id"]),
            r["message_id"],
            r["recipient"],
            str(r["attempts"]),
            r["finished_at"] or "",
            (r["last_error"] or "")[:80],
        )
    console.print(table)


@deadletter_app.command("retry")
def deadletter_retry(
    job_ids: Annotated[list[int] | None, typer.Argument(help="job ids (default: all)")] = None,
    agency: Annotated[str | None, typer.Option(help="only this recipient's")] = None,
) -> None:
    """Queue dead letters again, due now, with a fresh deadline."""
    from axis.service import push

    n = push.retry_dead(_hub().db, job_ids=job_ids or None, agency=agency)
    console.print(f"{n} dead letter(s) queued again")
