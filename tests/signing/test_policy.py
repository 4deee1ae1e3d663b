"""Signature policy over a package's reports: strict, lenient, off."""

from __future__ import annotations

import pytest

from formats.findings import has_errors
from signing.policy import evaluate
from signing.validate import validate_pdf


@pytest.fixture(scope="module")
def reports(corpus, offline_config):
    return {
        n: validate_pdf(corpus[n].data, offline_config)
        for n in ("leader-B-B", "unknown-ca", "wrong-digest", "expired")
    }


def codes(findings):
    return sorted({f.code for f in findings if f.severity == "error"})


def test_strict_accepts_valid_main(reports):
    f = evaluate([("main.pdf", reports["leader-B-B"])], "strict", "main.pdf")
    assert not has_errors(f)


def test_strict_needs_a_passed_main_signature(reports):
    f = evaluate([("main.pdf", reports["unknown-ca"])], "strict", "main.pdf")
    assert codes(f) == ["SIG_CHAIN_UNTRUSTED", "SIG_MAIN_NOT_VALID"]
    # an indeterminate attachment is only a warning when the main document passed
    f = evaluate(
        [("main.pdf", reports["leader-B-B"]), ("phu-luc.pdf", reports["expired"])],
        "strict",
        "main.pdf",
    )
    assert not has_errors(f)
    assert any(x.code == "SIG_EXPIRED" and x.path.startswith("phu-luc.pdf/") for x in f)


def test_strict_and_lenient_reject_total_failed_anywhere(reports):
    pair = [("main.pdf", reports["leader-B-B"]), ("phu-luc.pdf", reports["wrong-digest"])]
    assert codes(evaluate(pair, "strict", "main.pdf")) == ["SIG_HASH_FAILURE"]
    assert codes(evaluate(pair, "lenient", "main.pdf")) == ["SIG_HASH_FAILURE"]


def test_lenient_accepts_indeterminate(reports):
    f = evaluate([("main.pdf", reports["unknown-ca"])], "lenient", "main.pdf")
    assert not has_errors(f)
    assert [x.code for x in f] == ["SIG_CHAIN_UNTRUSTED"]


def test_off_never_errors(reports):
    f = evaluate(
        [("main.pdf", reports["wrong-digest"]), ("x.pdf", reports["unknown-ca"])], "off", "main.pdf"
    )
    assert not has_errors(f) and {x.code for x in f} >= {"SIG_HASH_FAILURE", "SIG_CHAIN_UNTRUSTED"}


def test_missing_main_and_bad_policy(reports):
    assert codes(evaluate([], "strict", "main.pdf")) == ["SIG_MAIN_MISSING"]
    with pytest.raises(ValueError):
        evaluate([], "sometimes", "main.pdf")
