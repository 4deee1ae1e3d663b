"""`axis check PACKAGE.edxml|DOC.pdf`: the hub's checks, offline, before sending.

The Decree 30 rules and the signatures of every PDF, validated as the hub does (trust roots,
signature and revocation policies from the same AXIS_* settings; `--trust` overrides the roots;
OCSP/CRL are fetched only with `--fetch`).

Exit code 0 clean, 1 warnings only, 2 errors (the hub would refuse the package with 422),
3 a signature failed (TOTAL_FAILED: the document was changed after signing, or a signature is
broken or revoked), whatever the rules say. `--no-signatures` checks the rules alone (a draft
before signing). Offline means: agencies are not looked up in the directory and
revoke/update/replace references are not looked up; each says so as an info.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from formats.findings import Finding
from formats.model import PdfFile
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

if TYPE_CHECKING:
    from axis.checks.signatures import SignatureResult, SignaturesCheck

app = typer.Typer()
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_VERDICT_STYLE = {"TOTAL_PASSED": "green", "INDETERMINATE": "yellow", "TOTAL_FAILED": "bold red"}
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
    signatures: Annotated[
        bool,
        typer.Option(
            "--signatures/--no-signatures",
            help="Validate the PDF signatures as the hub does (default), or check the rules only.",
        ),
    ] = True,
    trust: Annotated[
        list[str] | None,
        typer.Option("--trust", help="Trust roots: PEM files or directories ($AXIS_TRUST_ROOTS)."),
    ] = None,
    fetch: Annotated[
        bool, typer.Option("--fetch/--no-fetch", help="Fetch OCSP/CRL over the network.")
    ] = False,
) -> None:
    """Check a document as the hub will: Decree 30/2020 rules and every PDF signature."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}") from exc
    try:
        policy = load_policy(rules if rules is not None else os.environ.get("AXIS_RULES"))
        ctx = RuleContext(now=datetime.now(UTC), cert_agency=load_cert_map(cert_map))
    except PolicyError as exc:
        raise typer.BadParameter(str(exc)) from exc
    checker = _signatures_check(trust, fetch) if signatures else None
    findings, sigs = _check_bytes(data, policy, ctx, checker)
    code = (
        2
        if any(f.severity == "error" for f in findings)
        else (1 if any(f.severity == "warning" for f in findings) else 0)
    )
    if sigs is not None and sigs.any_failed:
        code = EXIT_SIGNATURE_FAILED
    if json_out:
        verdict = {0: "clean", 1: "warnings", 2: "errors", 3: "signature failed"}[code]
        typer.echo(
            json.dumps(
                {
                    "path": str(path),
                    "verdict": verdict,
                    "findings": [f.to_dict() for f in findings],
                    "signatures": None if sigs is None else _signature_rows(sigs),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_human(path, findings, code, sigs)
    raise typer.Exit(code)


EXIT_SIGNATURE_FAILED = 3


def _signatures_check(trust: list[str] | None, fetch: bool) -> SignaturesCheck:
    """The hub's signature check, from the same settings; `--trust` replaces the roots."""
    from axis.checks.signatures import SignaturesCheck
    from axis.config import Settings

    overrides: dict[str, object] = {"revocation_fetch": fetch}
    if trust:
        overrides["trust_roots"] = ",".join(trust)
    try:
        return SignaturesCheck.from_settings(Settings(**overrides))
    except Exception as exc:  # noqa: BLE001 - a bad trust file is a usage error, said plainly
        raise typer.BadParameter(f"cannot load the trust roots: {exc}") from exc


def _check_bytes(
    data: bytes, policy, ctx: RuleContext, checker: SignaturesCheck | None
) -> tuple[list[Finding], SignatureResult | None]:  # noqa: ANN001
    if data.lstrip()[:5] == b"%PDF-":
        text = extract_pdf_text(data)
        findings = check_pdf_only(text, policy=policy)
        if checker is None:
            return findings, None
        sigs = checker.validate([PdfFile("pdf", "", data)], "pdf")
        return sigs.findings + findings, sigs
    from formats.edxml import parse

    result = parse(data)
    findings = list(result.findings)
    pkg = result.package
    if pkg is None:
        return findings, None
    if getattr(pkg, "kind", "") != "edoc":
        findings.append(
            Finding(
                "RULE_NOT_CHECKED",
                "info",
                "/",
                "A status package: Decree 30 rules concern documents.",
            )
        )
        return findings, None
    found = main_pdf(pkg)
    text = extract_pdf_text(found.data) if found else None
    sigs = None
    if checker is not None:
        sigs = checker.validate(pkg.pdf_files(), found.path if found else "AttachmentEncoded")
        findings += sigs.findings
        signers = sigs.signers
    else:
        signers = signer_facts_from_pdf(found.data, found.path) if found else []
    findings += check_package(pkg, pdf_texts=text, signers=signers, ctx=ctx, policy=policy)
    if checker is None and signers and not policy.all_off:
        findings.append(
            Finding(
                "RULE_NOT_CHECKED",
                "info",
                "signatures",
                "Signatures were read but not validated (--no-signatures): the hub also "
                "checks integrity, trust chain, revocation and time.",
            )
        )
    return findings, sigs


def _signature_rows(sigs: SignatureResult) -> list[dict]:
    """One row per signature (and per PDF that could not be read): who, verdict, findings."""
    rows: list[dict] = []
    for name, report in sigs.reports:
        if report.findings and not report.signatures:
            rows.append(
                {
                    "document": name,
                    "index": None,
                    "indication": report.indication,
                    "findings": [f.to_dict() for f in report.findings],
                }
            )
        for s in report.signatures:
            rows.append(
                {
                    "document": name,
                    "index": s.index,
                    "kind": s.kind,
                    "field": s.field_name,
                    "signer": (s.signer.common_name or s.signer.subject) if s.signer else None,
                    "subject": s.signer.subject if s.signer else None,
                    "indication": s.indication,
                    "sub_indication": s.sub_indication,
                    "findings": [f.to_dict() for f in s.findings],
                }
            )
    return rows


def signer_facts_from_pdf(
    data: bytes, pdf_path: str = "AttachmentEncoded/Attachment[1]"
) -> list[SignerFacts]:
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
                    path=f"{pdf_path}/signature[{i}]",
                )
            )
        return facts
    except Exception:  # noqa: BLE001 - an unreadable signature is the signature check's finding
        return []


def _print_human(
    path: Path, findings: list[Finding], code: int, sigs: SignatureResult | None
) -> None:
    console = Console()
    if sigs is not None and any(r.signatures for _, r in sigs.reports):
        table = Table(title=f"{path}: signatures", title_justify="left")
        table.add_column("document", overflow="fold", max_width=38)
        table.add_column("#", no_wrap=True)
        table.add_column("signer", overflow="fold")
        table.add_column("verdict", no_wrap=True)
        for row in _signature_rows(sigs):
            if row["index"] is None:
                continue
            style = _VERDICT_STYLE.get(row["indication"], "")
            verdict = row["indication"] + (
                f" ({row['sub_indication']})" if row.get("sub_indication") else ""
            )
            table.add_row(row["document"], str(row["index"]), row["signer"] or "?",
                          f"[{style}]{verdict}[/]")  # fmt: skip
        console.print(table)
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
        3: "[bold red]a signature failed: the document was changed after signing, or a "
        "signature is broken or revoked; the hub refuses it (422)[/]",
    }[code]
    console.print(f"{summary} — {verdict}")
