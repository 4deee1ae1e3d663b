"""`axis evidence export|verify|verify-log|seal` and `axis hub-key create-test|show|rotate`.

`axis evidence verify FILE` needs no hub: it reads the bundle and the certificates given."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from axis.config import Settings

app = typer.Typer(
    help="Evidence: bundles per document, the tamper-evident log.", no_args_is_help=True
)
hub_key_app = typer.Typer(help="The hub's own signing key and certificate.", no_args_is_help=True)


def _hub():  # noqa: ANN202
    from axis.cli.main import _hub as build

    return build()


def _json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


def _ders(paths: list[Path] | None) -> list[bytes] | None:
    if not paths:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = []
    for p in paths:
        data = p.read_bytes()
        certs = (
            x509.load_pem_x509_certificates(data)
            if b"-----BEGIN" in data
            else [x509.load_der_x509_certificate(data)]
        )
        out += [c.public_bytes(serialization.Encoding.DER) for c in certs]
    return out


@app.command("export")
def export(
    message_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="zip to write")] = None,
) -> None:
    """The evidence bundle of a document (by any of its message ids), as the operator."""
    from axis.domain import HubError, Principal
    from axis.service import evidence_bundle

    hub = _hub()
    try:
        name, data = evidence_bundle.export(
            hub, Principal(key_id="cli", role="operator"), message_id
        )
    except HubError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        hub.close()
    path = output or Path(name)
    path.write_bytes(data)
    typer.echo(f"{path} ({len(data)} bytes)")


@app.command("verify")
def verify(
    file: Path,
    hub_cert: Annotated[
        list[Path] | None, typer.Option("--hub-cert", help="the hub's certificate(s), PEM/DER")
    ] = None,
    tsa_root: Annotated[
        list[Path] | None, typer.Option("--tsa-root", help="root(s) the TSA chains to")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a bundle offline. Exit 0 valid, 1 invalid, 2 incomplete (nothing wrong found,
    but not everything proven: pin the hub's certificate and the TSA root)."""
    from axis.service.evidence_bundle import verify_bundle

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    rep = verify_bundle(data, _ders(hub_cert), _ders(tsa_root))
    if json_out:
        _json(rep.to_dict())
    else:
        verdicts = {
            "valid": "HỢP LỆ / VALID",
            "invalid": "KHÔNG HỢP LỆ / INVALID",
            "incomplete": "CHƯA ĐỦ CĂN CỨ / INCOMPLETE",
        }
        typer.echo(f"{verdicts[rep.verdict]}: {file}")
        for vi, en in zip(rep.facts_vi, rep.facts_en, strict=True):
            typer.echo(f"  - {vi}\n    {en}")
        for f in rep.findings:
            typer.echo(f"  {f['severity'].upper()} {f['code']} {f['path']}: {f['message']}")
    raise typer.Exit({"valid": 0, "invalid": 1, "incomplete": 2}[rep.verdict])


@app.command("verify-log")
def verify_log(
    objects: Annotated[bool, typer.Option(help="rehash the stored packages too")] = True,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recheck the whole log against the heads, their signatures and timestamps, the live rows
    and the store; report the first break. Exit 1 when anything is wrong."""
    from axis.service import evidence

    hub = _hub()
    try:
        rep = evidence.verify_log(hub, objects=objects)
    finally:
        hub.close()
    if json_out:
        _json(rep.to_dict())
    else:
        d = rep.to_dict()
        typer.echo(
            f"{'OK' if rep.ok else 'BROKEN'}: {d['heads']} heads, {d['entries']} entries, "
            f"{d['rows']} rows, {d['objects']} packages checked; {d['unsealed']} entries not "
            f"sealed yet, {d['not_timestamped']} heads not timestamped"
        )
        if d["first_break"]:
            fb = d["first_break"]
            typer.echo(f"first break: {fb['code']} {fb['path']}: {fb['message']}")
        for f in rep.findings:
            typer.echo(f"  {f['severity'].upper()} {f['code']} {f['path']}: {f['message']}")
    raise typer.Exit(0 if rep.ok else 1)


@app.command("seal")
def seal_now() -> None:
    """Seal the entries waiting into a head now, and timestamp the heads without a token."""
    from axis.service import evidence

    hub = _hub()
    try:
        r = evidence.seal(hub, force=True)
    finally:
        hub.close()
    typer.echo(
        f"head {r.head_id or '-'}: {r.count} entries sealed, {r.timestamped} heads timestamped"
        + (f"; TSA: {r.tsa_error}" if r.tsa_error else "")
    )


def _keys():  # noqa: ANN202
    from axis.service.evidence import HubKeys

    return HubKeys(Settings())


@hub_key_app.command("create-test")
def create_test(
    force: Annotated[bool, typer.Option(help="replace the current key")] = False,
) -> None:
    """Make the managed hub key (self-signed ECDSA P-256) under <data_dir>/hub-key."""
    keys = _keys()
    if not keys.managed:
        typer.echo("AXIS_HUB_KEY is set: the hub's key is the operator's, not managed", err=True)
        raise typer.Exit(2)
    if keys.current_path.exists() and not force:
        typer.echo(f"{keys.current_path} exists (--force to replace it)", err=True)
        raise typer.Exit(2)
    keys.create(replace=True)
    _show(keys)


@hub_key_app.command("show")
def show(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The hub's current certificate, and every older one evidence may be signed with."""
    keys = _keys()
    _show(keys, json_out)


def _show(keys, json_out: bool = False) -> None:  # noqa: ANN001
    from signing import receipts as rc

    current = keys.signer
    info = {
        "current": rc.describe_cert(current.cert_der),
        "pem": rc.pem(current.cert_der).decode(),
        "known": [rc.describe_cert(d) for d in keys.known_certs().values()],
    }
    if json_out:
        _json(info)
        return
    c = info["current"]
    typer.echo(f"subject  {c['subject']}\nissuer   {c['issuer']}\nvalid    {c['not_before']}"
               f" .. {c['not_after']}\nsha256   {c['sha256']}")  # fmt: skip
    typer.echo(info["pem"], nl=False)
    typer.echo(f"{len(info['known'])} certificates kept (old evidence stays verifiable)")


@hub_key_app.command("rotate")
def rotate() -> None:
    """A new managed key; the old certificate is kept, in <data_dir>/hub-key/certs and in the
    database, so evidence signed before stays verifiable."""
    keys = _keys()
    if not keys.managed:
        typer.echo("AXIS_HUB_KEY is set: change it and restart; the new certificate is "
                   "registered at start, the old ones stay", err=True)  # fmt: skip
        raise typer.Exit(2)
    keys.create(replace=True)
    hub = _hub()  # registers the new certificate
    hub.close()
    _show(keys)
