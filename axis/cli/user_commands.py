"""`axis user add|list|disable|reset-password`: people of the web console, on the hub's host."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="People who sign in to the web console at /.", no_args_is_help=True)
console = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _db():  # noqa: ANN202
    from axis.cli.main import _hub

    return _hub().db


def _run(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    from axis.cli.main import _run as run

    return run(lambda: fn(*args, **kwargs))


def _out(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False, indent=2) + "\n")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the sign-in name (a-z, 0-9, '.', '_', '-')")],
    role: Annotated[str, typer.Option(help="clerk | leader | archivist | operator")],
    agency: Annotated[str | None, typer.Option(help="the agency of a clerk or leader")] = None,
    full_name: Annotated[str, typer.Option(help="shown in the console")] = "",
    signer: Annotated[
        str | None, typer.Option(help="a leader's signer in AXIS_SIGNERS (signs drafts)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a person. Prints the initial password (shown once) as the last line."""
    from axis.service import users

    code = agency.strip().upper() if agency else None
    password = _run(users.add_user, _db(), name, role, code, full_name=full_name, signer_id=signer)
    if as_json:
        _out({"name": name.strip().lower(), "role": role, "agency": code, "password": password})
        return
    console.print(f"user {name.strip().lower()} ({role}) added. Initial password (shown once):")
    print(password)


@app.command("list")
def list_(
    agency: Annotated[str | None, typer.Option(help="only this agency's people")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List people (never their passwords)."""
    from axis.service import users

    rows = users.list_users(_db(), agency)
    if as_json:
        _out(rows)
        return
    table = Table("name", "role", "agency", "full name", "created", "disabled")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["agency"] or "",
            r["full_name"],
            str(r["created_at"]),
            str(r["disabled_at"] or ""),
        )
    console.print(table)


@app.command("disable")
def disable(name: str, as_json: JsonOpt = False) -> None:
    """Disable a person; their open sessions end at once."""
    from axis.service import users

    _run(users.disable_user, _db(), name)
    if as_json:
        _out({"name": name, "disabled": True})
    else:
        console.print(f"user {name} disabled")


@app.command("reset-password")
def reset_password(name: str, as_json: JsonOpt = False) -> None:
    """Give a person a new password (printed as the last line); their sessions end."""
    from axis.service import users

    password = _run(users.reset_password, _db(), name)
    if as_json:
        _out({"name": name, "password": password})
        return
    console.print(f"new password for {name} (shown once):")
    print(password)


@app.command("totp")
def totp(
    name: str,
    off: Annotated[bool, typer.Option("--off", help="remove the second factor")] = False,
) -> None:
    """Give a person a TOTP second factor (asked at sign-in, and by a leader at each signature).
    Prints the otpauth:// URI to add to an authenticator app as the last line (shown once)."""
    from axis.cli.main import _hub
    from axis.service import users

    hub = _hub()
    if off:
        _run(users.disable_totp, hub.db, name)
        console.print(f"second factor removed for {name}")
        return
    uri = _run(users.enable_totp, hub.db, hub.secret_box, name)
    console.print(f"second factor for {name}: add this to an authenticator app (shown once):")
    print(uri)
