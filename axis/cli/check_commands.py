"""`axis check PACKAGE.edxml|DOC.pdf`: the hub's Decree 30 rules, offline, before sending.

Exit code 0 clean, 1 warnings only, 2 errors (the hub would refuse the package with 422).
Offline means: agencies are not looked up in the directory, revoke/update/replace references
are not looked up, signatures are read (who signed) but not validated; each says so as an info.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from formats.findings import Finding
from formats.rules import (
    PolicyError,
    RuleContext,
    SignerFacts,
    check_package,
    check_pdf_only,
    extract_pdf_text,
    load_cert_map,
    load_policy,
    main_pdf,
)

app = typer.Typer()
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_SUBJECT_FIELDS = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "serial_number": "SERIALNUMBER",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "title": "T",
    "user_id": "UID",
}


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="An edXML package (.edxml/.xml) or a PDF.")],
    json_out: Annotated[bool, typer.Option("--json", help="Findings as JSON.")] = False,
    rules: Annotated[
        str | None,
        typer.Option("--rules", help='Rule overrides file, or "off" (default: $AXIS_RULES).'),
    ] = None,
    cert_map: Annotated[
        str | None,
        typer.Option("--cert-map", help="Certificate → agency code mapping file (TOML/YAML/JSON)."),
    ] = None,
) -> None:
    """Check a document against the clerical rules of Decree 30/2020, as the hub will."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from exc
    try:
        policy = load_policy(rules if rules is not None else os.environ.get("AXIS_RULES"))
        ctx = RuleContext(now=datetime.now(UTC), cert_agency=load_cert_map(cert_map))
    except PolicyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    findings = _check_bytes(data, policy, ctx)
    code = (
        2
        if any(f.severity == "error" for f in findings)
        else (1 if any(f.severity == "warning" for f in findings) else 0)
    )
    if json_out:
        verdict = {0: "clean", 1: "warnings", 2: "errors"}[code]
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "verdict": verdict,
                    "findings": [f.to_dict() for f in findings],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_human(path, findings, code)
    raise typer.Exit(code)


def _check_bytes(data: bytes, policy, ctx: RuleContext) -> list[Finding]:  # noqa: ANN001
    if data.lstrip()[:5] == b"%PDF-":
        text = extract_pdf_text(data)
        findings = check_pdf_only(text, policy=policy)
        return findings
    from formats.edxml import parse

    result = parse(data)
    findings = list(result.findings)
    pkg = result.package
    if pkg is None:
        return findings
    if getattr(pkg, "kind", "") != "edoc":
        findings.append(
            Finding(
                "RULE_NOT_CHECKED",
                "info",
                "/",
                "A status package: Decree 30 rules concern documents.",
            )
        )
        return findings
    found = main_pdf(pkg)
    text = extract_pdf_text(found[1].data) if found else None
    signers = signer_facts_from_pdf(found[1].data, found[0]) if found else []
    findings += check_package(pkg, pdf_texts=text, signers=signers, ctx=ctx, policy=policy)
    if signers and not policy.all_off:
        findings.append(
            Finding(
                "RULE_NOT_CHECKED",
                "info",
                "signatures",
                "Signatures were read but not validated offline: the hub also checks "
                "integrity, trust chain, revocation and time.",
            )
        )
    return findings


def signer_facts_from_pdf(data: bytes, attachment_index: int = 1) -> list[SignerFacts]:
    """Who signed the PDF, read from its signature dictionaries (no validation here)."""
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(io.BytesIO(data), strict=False)
        facts = []
        for i, sig in enumerate(reader.embedded_regular_signatures, 1):
            cert = sig.signer_cert
            subject = {
                _SUBJECT_FIELDS.get(k, k.upper()): ", ".join(v) if isinstance(v, list) else str(v)
                for k, v in cert.subject.native.items()
            }
            facts.append(
                SignerFacts(
                    common_name=subject.get("CN", ""),
                    organization=subject.get("O", ""),
                    subject_fields=subject,
                    key_sha256=hashlib.sha256(cert.public_key.dump()).hexdigest(),
                    cert_sha256=cert.sha256.hex(),
                    path=f"AttachmentEncoded/Attachment[{attachment_index}]/signature[{i}]",
                )
            )
        return facts
    except Exception:  # noqa: BLE001 - an unreadable signature is the signature check's finding
        return []


def _print_human(path: Path, findings: list[Finding], code: int) -> None:
    console = Console()
    if findings:
        table = Table(show_lines=False, title=str(path), title_justify="left")
        table.add_column("", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("where", overflow="fold", max_width=38)
        table.add_column("what to fix", overflow="fold")
        for f in findings:
            table.add_row(f"[{_STYLE[f.severity]}]{f.severity}[/]", f.code, f.path, f.message)
        console.print(table)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    summary = (
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)"
    )
    verdict = {
        0: "[green]clean: the hub accepts it as far as these rules go[/]",
        1: "[yellow]the hub accepts it and lists the warnings in the receipt[/]",
        2: "[bold red]the hub refuses it (422): fix the errors first[/]",
    }[code]
    console.print(f"{summary} — {verdict}")
