"""The policy: defaults, override files (TOML, YAML, JSON), AXIS_RULES=off, bad files."""

from __future__ import annotations

import pytest

from formats.rules import RULES, PolicyError, RulePolicy, load_cert_map, load_policy
from formats.rules.catalog import Rule
from tests.rules.documents import PdfSpec, good_package, make_ctx, make_pdf, run


def _bad_package():
    pkg = good_package(make_pdf(PdfSpec(number_line="Số: 5/QĐ-UBND")))
    pkg.code.number = "5"
    pkg.other.priority = 9
    return pkg


def test_defaults_reject_what_the_law_forbids_and_warn_on_variations() -> None:
    policy = load_policy(None)
    assert policy == load_policy("") == RulePolicy()
    effective = policy.effective()
    assert effective["RULE_NUMBER_SPACES"] == "error"
    assert effective["RULE_DOC_TYPE_UNKNOWN"] == "warning"  # other types travel too
    assert effective["RULE_NOT_CHECKED"] == "info"
    assert all(isinstance(r, Rule) and r.code.startswith("RULE_") for r in RULES.values())


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("rules.toml", 'RULE_PRIORITY_RANGE = "warning"\nRULE_NUMBER_LEADING_ZERO = "off"\n'),
        (
            "rules.toml",
            '[rules]\nRULE_PRIORITY_RANGE = "warning"\nRULE_NUMBER_LEADING_ZERO = "off"\n',
        ),
        ("rules.yaml", "RULE_PRIORITY_RANGE: warning\nRULE_NUMBER_LEADING_ZERO: 'off'\n"),
        ("rules.json", '{"RULE_PRIORITY_RANGE": "WARNING", "RULE_NUMBER_LEADING_ZERO": "off"}'),
    ],
)
def test_override_file(tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    policy = load_policy(str(path))
    findings = run(_bad_package(), pdf=_bad_package().attachments[0].data, policy=policy)
    codes = {f.code: f.severity for f in findings}
    assert codes["RULE_PRIORITY_RANGE"] == "warning"
    assert "RULE_NUMBER_LEADING_ZERO" not in codes
    defaults = run(_bad_package(), pdf=_bad_package().attachments[0].data)
    assert {f.code: f.severity for f in defaults}["RULE_PRIORITY_RANGE"] == "error"


def test_off_turns_every_rule_off() -> None:
    for value in ("off", "OFF", " off "):
        policy = load_policy(value)
        assert run(_bad_package(), policy=policy) == []
        assert set(policy.effective().values()) == {"off"}


def test_a_rule_turned_off_says_nothing_about_not_being_checked(tmp_path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('RULE_AGENCY_UNKNOWN = "off"\n', encoding="utf-8")
    findings = run(ctx=make_ctx(known_agency=None), policy=load_policy(str(path)))
    assert findings == []
    findings = run(ctx=make_ctx(known_agency=None))
    assert [f.code for f in findings] == ["RULE_NOT_CHECKED"]
    assert findings[0].message.startswith("RULE_AGENCY_UNKNOWN not checked")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('RULE_NO_SUCH = "error"\n', "unknown rule"),
        ('RULE_PRIORITY_RANGE = "fatal"\n', "not one of"),
        ("RULE_PRIORITY_RANGE = [\n", "cannot parse"),
        ('"just a string"', "expected a table"),
    ],
)
def test_bad_policy_files_fail_loudly(tmp_path, text: str, fragment: str) -> None:
    path = tmp_path / ("p.toml" if "[" in text or "=" in text else "p.yaml")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=fragment):
        load_policy(str(path))


def test_missing_policy_file(tmp_path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(str(tmp_path / "nope.toml"))


def test_cert_map_file(tmp_path) -> None:
    path = tmp_path / "certs.yaml"
    path.write_text(
        "certificates:\n  'CN=Ủy ban nhân dân thành phố Hà Nội': 000.00.00.H26\n"
        "  'sha256:ABCD': 000.00.00.G06\n",
        encoding="utf-8",
    )
    mapping = load_cert_map(str(path))
    # NFC, case and spacing do not matter; the decomposed form below is how some CAs write it.
    import unicodedata

    from formats.rules import SignerFacts

    cn = unicodedata.normalize("NFD", "ỦY BAN NHÂN DÂN  thành phố Hà Nội")
    assert mapping.agency_of(SignerFacts(common_name=cn)) == "000.00.00.H26"
    assert mapping.agency_of(SignerFacts(common_name="x", cert_sha256="abcd")) == "000.00.00.G06"
    assert mapping.agency_of(SignerFacts(common_name="Sở Nội vụ")) is None
    assert not load_cert_map(None)
    bad = tmp_path / "bad.toml"
    bad.write_text('"no separator" = "000.00.00.H26"\n', encoding="utf-8")
    with pytest.raises(PolicyError):
        load_cert_map(str(bad))


def test_rules_of_counts_not_checked_per_rule() -> None:
    from formats.findings import Finding
    from formats.rules import rules_of

    nc = Finding(
        "RULE_NOT_CHECKED", "info", "x", "RULE_CERT_SIGNER_NAME, RULE_CERT_AGENCY not checked: …"
    )
    assert rules_of(nc) == ["RULE_CERT_SIGNER_NAME", "RULE_CERT_AGENCY"]
    assert rules_of(
        Finding("RULE_NOT_CHECKED", "info", "envelope", "the envelope rules stopped")
    ) == ["RULE_NOT_CHECKED"]
    assert rules_of(Finding("RULE_PDF_MOTTO", "error", "p", "m")) == ["RULE_PDF_MOTTO"]


def test_needs_pdf_text() -> None:
    assert RulePolicy().needs_pdf_text()
    assert not RulePolicy.off().needs_pdf_text()
    pdf_off = {code: "off" for code in RULES if code.startswith("RULE_PDF_")}
    assert not RulePolicy(overrides=pdf_off).needs_pdf_text()
