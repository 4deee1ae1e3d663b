"""`axis sign` and `axis verify`: PAdES signing with Decree 30 stamps, and signature validation.

`axis verify` exits 0 when every signature is TOTAL_PASSED, 1 when the verdict is
INDETERMINATE (or the PDF is unsigned), 2 when anything is TOTAL_FAILED or on errors.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from signing.trust import TrustError

if TYPE_CHECKING:
    from signing.sign import LoadedSigner

# pyHanko is imported inside the commands: every other `axis` command starts faster.
app = typer.Typer()
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
EXIT_PASSED, EXIT_INDETERMINATE, EXIT_FAILED = 0, 1, 2
ROLES = ("leader", "agency", "attachment", "invisible")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_FAILED)


def _env_paths(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    seps = "[," + re.escape(os.pathsep) + "]"
    return [p.strip() for p in re.split(seps, raw) if p.strip()]


def _p12_signer(path: Path) -> LoadedSigner:
    from signing.sign import SigningError, load_pkcs12

    password = os.environ.get("AXIS_P12_PASSWORD")
    if password is not None:
        return load_pkcs12(path, password)
    try:  # an unencrypted file needs no password
        return load_pkcs12(path, None)
    except SigningError:
        pass
    password = typer.prompt(f"Password for {path.name}", hide_input=True)
    return load_pkcs12(path, password)


@app.command()
def sign(
    input_pdf: Annotated[Path, typer.Argument(help="PDF to sign.", metavar="IN.pdf")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Signed PDF to write.")],
    p12: Annotated[Path | None, typer.Option("--p12", help="PKCS#12 file (.p12/.pfx).")] = None,
    pem_key: Annotated[Path | None, typer.Option("--pem-key", help="PEM private key.")] = None,
    pem_cert: Annotated[Path | None, typer.Option("--pem-cert", help="PEM certificate.")] = None,
    chain: Annotated[
        list[Path] | None, typer.Option("--chain", help="CA certificates to embed (PEM).")
    ] = None,
    pkcs11_module: Annotated[
        str | None, typer.Option("--pkcs11-module", help="PKCS#11 module (.so).")
    ] = None,
    token: Annotated[str | None, typer.Option("--token", help="PKCS#11 token label.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="PKCS#11 key label.")] = None,
    cert_label: Annotated[
        str | None, typer.Option("--cert-label", help="PKCS#11 certificate label (default: key).")
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="leader | agency | attachment | invisible.")
    ] = "invisible",
    image: Annotated[
        Path | None, typer.Option("--image", help="PNG: leader's signature or agency's seal.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Leader's full name (leader stamp).")] = "",
    position: Annotated[
        str, typer.Option("--position", help='Position line, e.g. "KT. CHỦ TỊCH".')
    ] = "",
    number: Annotated[
        str, typer.Option("--number", help='Number and symbol, e.g. "15/QĐ-UBND".')
    ] = "",
    page: Annotated[
        int | None,
        typer.Option("--page", help="Page of the stamp, 1-based (default: the last page)."),
    ] = None,
    level: Annotated[str, typer.Option("--level", help="B-B | B-T | B-LT | B-LTA.")] = "B-B",
    tsa: Annotated[str | None, typer.Option("--tsa", help="RFC 3161 timestamp URL.")] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option("--trust", help="Trust roots for B-LT/B-LTA (default: $AXIS_TRUST_ROOTS)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    location: Annotated[str | None, typer.Option("--location")] = None,
) -> None:
    """Sign IN.pdf (PAdES) and write OUT.pdf; earlier signatures stay valid."""
    from signing.sign import Appearance, SigningError, load_pem, load_pkcs11, sign_pdf

    sources = [p12 is not None, pem_key is not None or pem_cert is not None, bool(pkcs11_module)]
    if sum(sources) != 1:
        raise _fail("choose one key source: --p12, --pem-key/--pem-cert, or --pkcs11-module")
    if role not in ROLES:
        raise _fail(f"--role must be one of {', '.join(ROLES)}")
    if level not in LEVELS:
        raise _fail(f"--level must be one of {', '.join(LEVELS)}")
    tsa = tsa or os.environ.get("AXIS_TSA_URL")
    try:
        data = input_pdf.read_bytes()
        if p12 is not None:
            signer = _p12_signer(p12)
        elif pkcs11_module:
            if not (token and key):
                raise _fail("--pkcs11-module needs --token and --key")
            pin = os.environ.get("AXIS_PKCS11_PIN")
            if pin is None:
                pin = typer.prompt(f"PIN for token {token}", hide_input=True)
            signer = load_pkcs11(
                pkcs11_module,
                token,
                key,
                pin,
                cert_label=cert_label,
                chain=[str(c) for c in chain or []],
            )
        else:
            if not (pem_key and pem_cert):
                raise _fail("--pem-key and --pem-cert go together")
            signer = load_pem(
                pem_key,
                pem_cert,
                [str(c) for c in chain or []],
                key_password=os.environ.get("AXIS_PEM_KEY_PASSWORD"),
            )
        appearance = Appearance(
            role=role,  # type: ignore[arg-type]
            image=str(image) if image else None,
            name=name,
            position=position,
            number=number,
            page=-1 if page is None else page - 1,
        )
        signed = sign_pdf(
            data,
            signer,
            level=level,  # type: ignore[arg-type]
            tsa_url=tsa,
            appearance=appearance,
            trust=trust or _env_paths("AXIS_TRUST_ROOTS"),
            reason=reason,
            location=location,
        )
    except (SigningError, TrustError, OSError) as exc:
        raise _fail(str(exc)) from None
    output.write_bytes(signed)
    who = signer.certificate.subject.native.get("common_name", "?")
    typer.echo(f"signed {output} ({level}, {role}) as {who}")


@app.command()
def verify(
    pdf: Annotated[Path, typer.Argument(help="PDF whose signatures to validate.")],
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            help="More trust roots: PEM files or directories (default: $AXIS_TRUST_ROOTS).",
        ),
    ] = None,
    intermediate: Annotated[
        list[str] | None,
        typer.Option("--intermediate", help="Extra CA certificates to complete chains."),
    ] = None,
    trust_list: Annotated[
        bool | None,
        typer.Option(
            "--trust-list/--no-trust-list",
            help="Use the shipped Vietnamese trust list and its local changes "
            "(default: $AXIS_TRUST_SHIPPED, on).",
        ),
    ] = None,
    revocation: Annotated[
        str, typer.Option("--revocation", help="hard-fail | soft-fail | off.")
    ] = "soft-fail",
    fetch: Annotated[
        bool, typer.Option("--fetch/--no-fetch", help="Fetch OCSP/CRL over the network.")
    ] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds.")] = 30.0,
    json_out: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Validate every signature in a PDF (exit 0 passed, 1 indeterminate, 2 failed)."""
    from axis.config import Settings
    from axis.service.trust import trust_list as effective_trust
    from signing.validate import ValidationConfig, validate_pdf

    if revocation not in ("hard-fail", "soft-fail", "off"):
        raise _fail("--revocation must be hard-fail, soft-fail or off")
    try:
        tl = effective_trust(
            Settings(),
            shipped=trust_list,
            roots=trust or _env_paths("AXIS_TRUST_ROOTS"),
            intermediates=intermediate or _env_paths("AXIS_TRUST_INTERMEDIATES"),
        )
        if not tl.roots:
            raise _fail("no trust roots: pass --trust, set AXIS_TRUST_ROOTS or use --trust-list")
        cfg = ValidationConfig(
            trust=tl.trust_config(),
            revocation=revocation,  # type: ignore[arg-type]
            allow_fetching=fetch,
            time_limit=time_limit,
        )
        data = pdf.read_bytes()
    except (TrustError, OSError) as exc:
        raise _fail(str(exc)) from None
    report = validate_pdf(data, cfg)
    if json_out:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        typer.echo(report.render_summary())
    if report.indication == "TOTAL_PASSED":
        raise typer.Exit(EXIT_PASSED)
    if report.indication == "TOTAL_FAILED":
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_INDETERMINATE)
