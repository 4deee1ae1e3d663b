"""`axis trust list|show|add|remove`: the trust list signatures are validated against.

The shipped Vietnamese anchors, the operator's local additions and removals (kept under
<data_dir>/trust) and the configured AXIS_TRUST_ROOTS / AXIS_TRUST_INTERMEDIATES. Changes count
from the next validation run: at once for `axis verify`, from the next start for `axis serve`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from axis.config import Settings
from signing.trust import TrustError

app = typer.Typer(
    help="The trust list: Vietnam's shipped anchors plus this hub's own changes.",
    no_args_is_help=True,
)

_STATUS_VI = {"valid": "còn hiệu lực", "expired": "hết hạn", "not_yet_valid": "chưa hiệu lực"}
_NEXT = "effective for `axis verify` now and for the hub from its next start"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _load():
    from axis.service.trust import trust_list

    try:
        return trust_list(Settings())
    except TrustError as exc:
        raise _fail(str(exc)) from None


@app.command("list")
def list_(
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Every certificate of the trust list, with the list's version and SHA-256."""
    tl = _load()
    entries = [a.describe() for a in tl.anchors]
    if json_out:
        _json({**tl.identity(), "shipped_version": tl.shipped_version,
               "removed": list(tl.removed), "certificates": entries})  # fmt: skip
        return
    ident = tl.identity()
    console = Console()
    console.print(f"trust list {ident['version'] or '(none)'}  sha256 {ident['sha256']}")
    table = Table("role", "name", "origin", "valid until", "status", "sha256")
    for e in entries:
        table.add_row(
            e["role"],
            e["name"],
            e["origin"],
            e["not_after"][:10],
            _STATUS_VI.get(e["status"], e["status"]),
            e["sha256"][:16],
        )
    console.print(table)
    if tl.removed:
        console.print(f"{len(tl.removed)} shipped certificate(s) removed locally")
    if not tl.roots:
        console.print("no trust root: every signature will be untrusted")


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="SHA-256 (8+ hex digits) or the name.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """One certificate in detail: subject, issuer, validity, source, fingerprint."""
    tl = _load()
    try:
        anchor = tl.find(key)
    except KeyError:
        raise _fail(f"no certificate {key!r} in the trust list") from None
    except TrustError as exc:
        raise _fail(str(exc)) from None
    d = anchor.describe(details=True)
    if json_out:
        _json(d)
        return
    for k, v in d.items():
        if v in (None, "", [], {}):
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{sk}={sv}" for sk, sv in v.items() if sv)
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        typer.echo(f"{k:20} {v}")


@app.command()
def add(
    path: Annotated[Path, typer.Argument(help="PEM or DER file of one or more CA certificates.")],
    role: Annotated[
        str | None,
        typer.Option("--role", help="root | intermediate (default: root if self-signed)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name to list it by.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Add CA certificates to this hub's trust list."""
    from axis.service import trust

    if role not in (None, "root", "intermediate"):
        raise _fail("--role must be root or intermediate")
    try:
        added = trust.add(Settings(), path, role, name)  # type: ignore[arg-type]
    except TrustError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        _json({"added": [a.describe() for a in added], "effective": _NEXT})
        return
    for a in added:
        typer.echo(f"added {a.role} {a.name} ({a.sha256[:16]}); {_NEXT}")


@app.command()
def remove(
    key: Annotated[str, typer.Argument(help="SHA-256 (8+ hex digits) or the name.")],
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Remove a certificate (a shipped one stays removed until `axis trust add` brings it
    back)."""
    from axis.service import trust

    try:
        anchor = trust.remove(Settings(), key)
    except KeyError:
        raise _fail(f"no certificate {key!r} in the trust list") from None
    except TrustError as exc:
        raise _fail(str(exc)) from None
    if json_out:
        _json({"removed": anchor.describe(), "effective": _NEXT})
        return
    typer.echo(f"removed {anchor.role} {anchor.name} ({anchor.sha256[:16]}); {_NEXT}")
