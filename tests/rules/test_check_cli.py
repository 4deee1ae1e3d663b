"""`axis check` on real files: exit codes 0/1/2, JSON, AXIS_RULES, bare PDFs, signed PDFs."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from axis.cli.check_commands import app, signer_facts_from_pdf
from formats.edxml import build_document
from tests.rules.documents import PdfSpec, good_package, make_pdf

runner = CliRunner()


@pytest.fixture
def cli():
    # The lead mounts `check` on the main app; here it is a one-command app of its own.
    root = typer.Typer()
    root.command()(app.registered_commands[0].callback)
    root.command("noop", hidden=True)(lambda: None)  # keep `check` a sub-command
    return root


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _invoke(cli, *args, env=None, signatures: bool = False):
    """The rules alone (--no-signatures), unless `signatures`: drafts, unsigned."""
    flags = [] if signatures else ["--no-signatures"]
    return runner.invoke(cli, ["check", *flags, *args], env=env or {"AXIS_RULES": ""})


def test_clean_package_exits_0(cli, tmp_path) -> None:
    path = _write(tmp_path, "qd.edxml", build_document(good_package()))
    result = _invoke(cli, path)
    assert result.exit_code == 0, result.output
    assert "RULE_NOT_CHECKED" in result.output  # offline, and says so


def test_warnings_exit_1_errors_exit_2_and_json(cli, tmp_path) -> None:
    pkg = good_package()
    pkg.code.number = "5"  # envelope only: a warning
    warn = _write(tmp_path, "w.edxml", build_document(pkg))
    result = _invoke(cli, "--json", warn)
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["verdict"] == "warnings"
    assert "RULE_NUMBER_LEADING_ZERO" in {f["code"] for f in report["findings"]}

    bad = good_package(make_pdf(PdfSpec(number_line="Số: 5/QĐ-UBND")))
    err = _write(tmp_path, "e.edxml", build_document(bad))
    result = _invoke(cli, err)
    assert result.exit_code == 2, result.output
    assert "RULE_NUMBER_LEADING_ZERO" in result.output and "422" in result.output


def test_rules_off_and_overrides(cli, tmp_path) -> None:
    bad = good_package(make_pdf(PdfSpec(number_line="Số: 5/QĐ-UBND")))
    path = _write(tmp_path, "e.edxml", build_document(bad))
    assert _invoke(cli, path, env={"AXIS_RULES": "off"}).exit_code == 0
    overrides = _write(tmp_path, "r.toml", b'RULE_NUMBER_LEADING_ZERO = "warning"\n')
    assert _invoke(cli, "--rules", overrides, path).exit_code == 1
    broken = _write(tmp_path, "b.toml", b'RULE_NOPE = "error"\n')
    result = _invoke(cli, "--rules", broken, path)
    assert result.exit_code == 2 and "unknown rule" in result.output  # usage error


def test_bare_pdf(cli, tmp_path) -> None:
    assert _invoke(cli, _write(tmp_path, "ok.pdf", make_pdf())).exit_code == 0
    result = _invoke(
        cli, "--json", _write(tmp_path, "bad.pdf", make_pdf(PdfSpec(motto="", page_format="A3")))
    )
    assert result.exit_code == 2
    codes = {f["code"] for f in json.loads(result.output)["findings"]}
    assert {"RULE_PDF_MOTTO", "RULE_PDF_PAGE_SIZE"} <= codes


def test_unparsable_package_gives_the_parser_findings(cli, tmp_path) -> None:
    result = _invoke(cli, "--json", _write(tmp_path, "x.edxml", b"<edXML><oops"))
    assert result.exit_code == 2
    assert all(not f["code"].startswith("RULE_") for f in json.loads(result.output)["findings"])


def _signed_pdf(common_name: str) -> bytes:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ủy ban nhân dân thành phố Hà Nội"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore(),
    )
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(make_pdf())),
        signers.PdfSignatureMetadata(field_name="Leader"),
        signer=signer,
    )
    return out.getvalue()


def test_signed_package_is_compared_with_its_signers(cli, tmp_path) -> None:
    pdf = _signed_pdf("Trần Thị Bình")
    facts = signer_facts_from_pdf(pdf)
    assert [f.common_name for f in facts] == ["Trần Thị Bình"]
    assert facts[0].organization == "Ủy ban nhân dân thành phố Hà Nội" and facts[0].key_sha256
    path = _write(tmp_path, "s.edxml", build_document(good_package(pdf)))
    result = _invoke(cli, "--json", path)
    findings = json.loads(result.output)["findings"]
    assert result.exit_code == 2
    assert "RULE_CERT_SIGNER_NAME" in {f["code"] for f in findings}
    assert any("not validated (--no-signatures)" in f["message"] for f in findings)
    # Validated (the default): a self-signed certificate is no trusted signer, and the rules
    # still compare the envelope with the signer the validation found.
    result = _invoke(cli, "--json", path, signatures=True)
    report = json.loads(result.output)
    assert result.exit_code == 2, result.output
    codes = {f["code"] for f in report["findings"]}
    assert {"RULE_CERT_SIGNER_NAME", "SIG_MAIN_NOT_VALID"} <= codes
    assert [(s["signer"], s["indication"]) for s in report["signatures"]] == [
        ("Trần Thị Bình", "INDETERMINATE")
    ]
