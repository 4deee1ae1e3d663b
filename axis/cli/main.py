"""The `axis` command: run the hub, administer it on its host, and act as an agency client."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from axis.cli import client
from axis.config import Settings
from axis.domain import HubError

app = typer.Typer(
    help="axis: electronic document interconnection hub (edXML, QCVN 102:2016).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
agency_app = typer.Typer(help="The agency directory (run on the hub's host).", no_args_is_help=True)
key_app = typer.Typer(help="API keys (run on the hub's host).", no_args_is_help=True)
app.add_typer(agency_app, name="agency")
app.add_typer(key_app, name="key")
console = Console()
err = Console(stderr=True)


def _hub():
    from axis.adapters.migrations import SchemaOutdated
    from axis.bootstrap import build_hub

    try:
        return build_hub(Settings(), create_schema=False)
    except SchemaOutdated as exc:
        err.print(f"[red]SCHEMA_OUTDATED[/]: {exc}")
        raise typer.Exit(1) from exc


def _run(fn, *args):  # noqa: ANN001, ANN202
    try:
        return fn(*args)
    except HubError as exc:
        err.print(f"[red]{exc.code}[/]: {exc.message}")
        for f in exc.findings:
            err.print(f"  {f.code}: {f.message}")
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="API processes (default: 2 per CPU core, at most 8; 1 off Linux)"),
    ] = None,
) -> None:
    """Start the hub (embedded default: SQLite and a local store under AXIS_DATA_DIR)."""
    from axis.cli import serving

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    hub = _hub()  # create the schema and data dir once, before the workers start
    hub.close()
    console.print(f"axis hub on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    console.print(f"  database {settings.resolved_database_url}")
    console.print(f"  store    {settings.resolved_store_url}")
    if status := serving.serve(host, port, workers or serving.default_workers()):
        raise typer.Exit(status)


@agency_app.command("add")
def agency_add(
    code: str,
    name: str,
    parent: Annotated[str | None, typer.Option(help="parent agency code")] = None,
    system: Annotated[
        str | None,
        typer.Option(help="host it on this connected system (also for an existing agency)"),
    ] = None,
) -> None:
    """Register an agency. Prints its API key (shown once) as the last line; with --system,
    hosts it on that connected system instead (no key: the system speaks for it)."""
    from axis.service import agencies

    hub = _hub()
    if system is not None:
        created = _run(agencies.add_hosted_agency, hub.db, code, name, system, parent)
        verb = "added and hosted" if created else "hosted"
        console.print(f"agency {code.strip().upper()} {verb} on system {system}")
        return
    key = _run(agencies.add_agency, hub.db, code, name, parent)
    console.print(f"agency {code.strip().upper()} added. Its API key (shown once, keep it safe):")
    print(key)


@agency_app.command("list")
def agency_list(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    q: Annotated[str | None, typer.Option(help="filter by code or name")] = None,
) -> None:
    """List the directory."""
    from axis.service import agencies

    items, cursor = agencies.list_agencies(_hub().db, limit=100_000, query=q)
    if as_json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("code", "name", "parent", "active")
    for a in items:
        table.add_row(a["code"], a["name"], a["parent"] or "", "yes" if a["active"] else "no")
    console.print(table)


@agency_app.command("deactivate")
def agency_deactivate(code: str) -> None:
    """Stop delivering to an agency (packages naming it are refused)."""
    from axis.service import agencies

    _run(agencies.set_active, _hub().db, code, False)
    console.print(f"agency {code} deactivated")


@agency_app.command("activate")
def agency_activate(code: str) -> None:
    """Resume delivering to an agency."""
    from axis.service import agencies

    _run(agencies.set_active, _hub().db, code, True)
    console.print(f"agency {code} activated")


@agency_app.command("key")
def agency_key(code: str, label: str = "") -> None:
    """Issue another API key for an agency (printed as the last line)."""
    from axis.service import agencies

    key = _run(agencies.new_agency_key, _hub().db, code, label)
    console.print(f"new key for {code} (shown once):")
    print(key)


@key_app.command("issue")
def key_issue(
    role: Annotated[str, typer.Argument(help="operator or archivist")], label: str = ""
) -> None:
    """Issue a key for hub staff (operator or archivist); printed as the last line."""
    from axis.service import agencies

    try:
        key = agencies.new_staff_key(_hub().db, role, label)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"new {role} key (shown once):")
    print(key)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id (second part of the key)")],
) -> None:
    """Revoke an API key; it stops working at once."""
    from axis.service import keys

    _run(keys.revoke_key, _hub().db, _key_id(key_id))
    console.print(f"key {_key_id(key_id)} revoked")


def _key_id(value: str) -> str:
    parts = value.split("_")
    return parts[1] if len(parts) == 3 and parts[0] == "axis" else value


@key_app.command("list")
def key_list(
    agency: str | None = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List keys (never their secrets)."""
    from axis.service import keys

    rows = keys.list_keys(_hub().db, agency)
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
        return
    table = Table("key id", "role", "agency", "label", "created", "revoked")
    for r in rows:
        table.add_row(
            r["key_id"],
            r["role"],
            r["agency"] or "",
            r["label"],
            str(r["created_at"]),
            str(r["revoked_at"] or ""),
        )
    console.print(table)


signer_app = typer.Typer(
    help="Signers whose keys the hub holds (AXIS_SIGNERS).", no_args_is_help=True
)
app.add_typer(signer_app, name="signer")


@signer_app.command("list")
def signer_list() -> None:
    """The signers configured in AXIS_SIGNERS."""
    hub = _hub()
    table = Table("id", "agency", "role", "name", "position")
    for s in hub.signers.signers.values():
        table.add_row(
            s.id, s.agency, s.role, str(s.spec.get("name", "")), str(s.spec.get("position", ""))
        )
    console.print(table)


@signer_app.command("key")
def signer_key(signer_id: str) -> None:
    """Issue an API key that signs as SIGNER_ID through POST /v1/sign (last line)."""
    from axis.service.signers import issue_signer_key

    hub = _hub()
    key = _run(issue_signer_key, hub.db, hub.signers, signer_id)
    console.print(f"new key for signer {signer_id} (shown once):")
    print(key)


system_app = typer.Typer(
    help="Connected systems (the national VXP model: one system hosts many agencies; "
    "run on the hub's host).",
    no_args_is_help=True,
)
app.add_typer(system_app, name="system")


@system_app.command("add")
def system_add(
    system_id: Annotated[str, typer.Argument(help="the systemid its SDK is configured with")],
    name: str,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Register a connected system. Prints its shared secret (shown once) as the last line."""
    from axis.service import systems

    hub = _hub()
    secret = _run(systems.add_system, hub.db, hub.secret_box, system_id, name)
    if as_json:
        sys.stdout.write(json.dumps({"system_id": system_id, "secret": secret}) + "\n")
        return
    console.print(f"system {system_id} added. Its secret (shown once, keep it safe):")
    print(secret)


@system_app.command("list")
def system_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Connected systems and the agencies each hosts (never their secrets)."""
    from axis.service import systems

    rows = systems.list_systems(_hub().db)
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("system id", "name", "agencies", "created", "rotated", "revoked")
    for r in rows:
        table.add_row(
            r["system_id"],
            r["name"],
            " ".join(r["agencies"]),
            str(r["created_at"]),
            str(r["rotated_at"] or ""),
            str(r["revoked_at"] or ""),
        )
    console.print(table)


@system_app.command("revoke")
def system_revoke(system_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Revoke a system: its requests are refused at once (`rotate` gives it a new secret)."""
    from axis.service import systems

    _run(systems.revoke_system, _hub().db, system_id)
    if as_json:
        sys.stdout.write(json.dumps({"system_id": system_id, "revoked": True}) + "\n")
        return
    console.print(f"system {system_id} revoked")


@system_app.command("rotate")
def system_rotate(system_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A new secret for a system (the old one stops working at once); printed as the last line."""
    from axis.service import systems

    hub = _hub()
    secret = _run(systems.rotate_secret, hub.db, hub.secret_box, system_id)
    if as_json:
        sys.stdout.write(json.dumps({"system_id": system_id, "secret": secret}) + "\n")
        return
    console.print(f"new secret for system {system_id} (shown once):")
    print(secret)


for name in ("send", "inbox", "fetch", "ack", "status", "timeline"):
    app.command(name)(getattr(client, name))


def _mount_optional(
    module: str,
    *,
    name: str | None = None,
    commands: bool = False,
    attr: str = "app",
    into: typer.Typer | None = None,
) -> None:
    """Sub-commands that live in their own modules (sign/verify, check, archive, ...).

    Every one of them ships with axis: an import error is a broken install and must say so,
    not make the command silently disappear."""
    mod = importlib.import_module(module)
    sub: typer.Typer = getattr(mod, attr)
    target = into or app
    if commands:
        for info in sub.registered_commands:
            target.registered_commands.append(info)
    else:
        target.add_typer(sub, name=name)


_mount_optional("axis.cli.sign_commands", commands=True)
_mount_optional("axis.cli.check_commands", commands=True)
_mount_optional("axis.cli.archive_commands", name="archive")
_mount_optional("axis.cli.store_commands", name="store")
_mount_optional("axis.cli.db_commands", name="db")
_mount_optional("axis.cli.worker_commands", commands=True)  # axis worker
_mount_optional("axis.cli.worker_commands", name="deadletter", attr="deadletter_app")
_mount_optional("axis.cli.worker_commands", commands=True, attr="agency_app", into=agency_app)
_mount_optional("axis.cli.stats_commands", commands=True)  # axis stats
_mount_optional("axis.cli.trust_commands", name="trust")
_mount_optional("axis.cli.upstream_commands", name="upstream")  # axis upstream
_mount_optional("axis.cli.evidence_commands", name="evidence")
_mount_optional("axis.cli.evidence_commands", name="hub-key", attr="hub_key_app")
_mount_optional("axis.cli.user_commands", name="user")  # people of the web console
