"""Validation verdicts over the corpus: good signatures pass, every bad input gets its
indication, sub-indication and finding code, within the time limit, without raising."""

from __future__ import annotations

import json
import threading

import pytest

from signing.report import TOTAL_FAILED, TOTAL_PASSED, PdfReport
from signing.trust import TrustError
from signing.validate import ValidationConfig, load_trust, validate_pdf
from tests.signing.corpus import garbage_cms

GOOD = [
    "leader-B-B",
    "leader-B-T",
    "leader-B-LT",
    "leader-B-LTA",
    "leader-then-agency",
    "five-signatures",
    "expired-timestamped-in-time",
    "revoked-timestamped-before",
]
BAD = [
    "not-a-pdf",
    "truncated",
    "broken-xref",
    "byterange-gap",
    "garbage-cms",
    "truncated-cms",
    "wrong-digest",
    "modified-after-signing",
    "unknown-ca",
    "expired",
    "sha1",
    "rsa-1024",
    "encryption-only-key",
    "expired-timestamped-late",
    "revoked-timestamped-after",
    "revoked",
]


@pytest.mark.parametrize("name", GOOD + BAD)
def test_corpus_verdict(name, corpus, offline_config, online_config):
    case = corpus[name]
    cfg = online_config if case.online else offline_config
    rep = validate_pdf(case.data, cfg)
    assert rep.indication == case.indication, rep.render_summary()
    if case.sub_indication:
        assert rep.sub_indication == case.sub_indication, rep.render_summary()
    if case.code:
        assert case.code in [f.code for f in rep.all_findings], rep.render_summary()
    if case.indication != TOTAL_PASSED:
        assert not rep.passed_signatures or rep.indication == TOTAL_FAILED
    assert rep.duration_ms < cfg.time_limit * 1000
    json.dumps(rep.to_dict())  # always serialisable


def test_pades_levels(corpus, offline_config):
    levels = {
        name: [
            s.pades_level
            for s in validate_pdf(corpus[name].data, offline_config).signatures
            if s.kind == "signature"
        ]
        for name in ("leader-B-B", "leader-B-T", "leader-B-LT", "leader-B-LTA")
    }
    assert levels == {
        "leader-B-B": ["B-B"],
        "leader-B-T": ["B-T"],
        "leader-B-LT": ["B-LT"],
        "leader-B-LTA": ["B-LTA"],
    }


def test_signer_details_keep_vietnamese(corpus, offline_config):
    rep = validate_pdf(corpus["leader-then-agency"].data, offline_config)
    leader, agency = [s for s in rep.signatures if s.kind == "signature"]
    assert leader.signer.common_name == "Nguyễn Văn An"
    assert leader.signer.organization == "Ủy ban nhân dân tỉnh Hà Giang"
    assert agency.signer.organization == "Văn phòng Chính phủ"
    assert agency.signer.agency_code == "000.00.00.G22"
    assert [c.common_name for c in leader.chain][0] == "Test RootCA chuyên dùng Chính phủ"
    assert leader.coverage == "ENTIRE_REVISION" and agency.coverage == "ENTIRE_FILE"
    assert agency.timestamp_time is not None and leader.timestamp_time is None
    assert "non_repudiation" in leader.key_usage
    text = rep.render_summary()
    assert "Nguyễn Văn An" in text and "Văn phòng Chính phủ" in text
    d = rep.to_dict()
    assert d["signatures"][0]["signer"]["common_name"] == "Nguyễn Văn An"
    again = PdfReport.from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
    assert again.to_dict() == d and again.render_summary() == text


def test_revoked_needs_revocation_data(corpus, offline_config, pki):
    # offline soft-fail: no revocation data in a B-B file, so no way to know it is revoked
    rep = validate_pdf(corpus["revoked"].data, offline_config)
    assert rep.indication == TOTAL_PASSED
    hard = ValidationConfig.from_paths([str(pki.trust_root)], revocation="hard-fail")
    rep = validate_pdf(corpus["revoked"].data, hard)
    assert (rep.indication, rep.sub_indication) == ("INDETERMINATE", "TRY_LATER")
    assert "SIG_REVOCATION_UNKNOWN" in [f.code for f in rep.all_findings]


def test_hard_fail_offline_uses_embedded_revocation_data(corpus, pki):
    hard = ValidationConfig.from_paths([str(pki.trust_root)], revocation="hard-fail")
    assert validate_pdf(corpus["leader-B-LT"].data, hard).indication == TOTAL_PASSED


def test_leaf_only_pdf_chains_through_configured_intermediate(pki, tmp_path):
    from signing.sign import load_pem, sign_pdf
    from tests.signing.samples import make_pdf

    leaf_only = load_pem(pki.key["leader"], pki.cert["leader"])  # no chain embedded
    data = sign_pdf(make_pdf(), leaf_only)
    roots_only = ValidationConfig.from_paths([str(pki.trust_root)])
    rep = validate_pdf(data, roots_only)
    assert rep.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    with_interm = ValidationConfig.from_paths([str(pki.trust_root)], [str(pki.intermediate)])
    assert validate_pdf(data, with_interm).indication == TOTAL_PASSED
    # a directory holding root and intermediate works the same
    d = tmp_path / "trust"
    d.mkdir()
    (d / "root.pem").write_bytes(pki.trust_root.read_bytes())
    (d / "sub.crt").write_bytes(pki.intermediate.read_bytes())
    trust = load_trust([str(d)])
    assert len(trust.roots) == 1 and len(trust.intermediates) == 1
    assert validate_pdf(data, ValidationConfig(trust=trust)).indication == TOTAL_PASSED


def test_unsigned_pdf_is_reported_not_failed(offline_config):
    from tests.signing.samples import make_pdf

    rep = validate_pdf(make_pdf(), offline_config)
    assert rep.indication is None and rep.signatures == []
    assert [f.code for f in rep.findings] == ["SIG_NO_SIGNATURE"]


def test_time_limit_gives_timeout_report(corpus, pki):
    tiny = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=0.0005)
    rep = validate_pdf(corpus["five-signatures"].data, tiny)
    assert "SIG_TIMEOUT" in [f.code for f in rep.findings], rep.render_summary()
    assert rep.indication == "INDETERMINATE"
    assert rep.duration_ms < 2000, rep.duration_ms  # the deadline, plus thread wake-up


def test_concurrent_calls_agree(corpus, offline_config):
    names = ["leader-B-B", "unknown-ca", "wrong-digest", "five-signatures"] * 3
    results: dict[int, str] = {}

    def work(i: int, name: str) -> None:
        results[i] = validate_pdf(corpus[name].data, offline_config).indication

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(names))] == [corpus[n].indication for n in names]


def test_random_garbage_never_raises(corpus, offline_config):
    bb = corpus["leader-B-B"].data
    samples = [
        b"",
        b"%PDF-1.7",
        b"%PDF-1.7\n" + b"\x00" * 500,
        bb[:100],
        bb[:-40],
        garbage_cms(bb, seed=1),
        bb.replace(b"/ByteRange", b"/ByteRangX"),
    ]
    for data in samples:
        rep = validate_pdf(data, offline_config)
        assert rep.indication != TOTAL_PASSED


def test_bad_trust_path_raises():
    with pytest.raises(TrustError):
        load_trust(["/nonexistent/trust.pem"])


def test_encrypted_pdf_is_reported(offline_config):
    from tests.signing.samples import make_pdf

    rep = validate_pdf(make_pdf(user_password="bi-mat"), offline_config)
    assert rep.indication == TOTAL_FAILED
    assert [f.code for f in rep.findings] == ["SIG_ENCRYPTED"]


@pytest.mark.parametrize(
    ("subfilter", "sub", "code"),
    [
        (b"/adbe.x509.rsa_sha1", "CRYPTO_CONSTRAINTS_FAILURE", "SIG_WEAK_ALGORITHM"),
        (b"/X.Unknown.Format", "FORMAT_FAILURE", "SIG_UNSUPPORTED"),
    ],
)
def test_signatures_pyhanko_skips_are_still_reported(corpus, offline_config, subfilter, sub, code):
    bb = corpus["leader-B-B"].data
    old = b"/ETSI.CAdES.detached"
    assert old in bb
    data = bb.replace(old, subfilter + b" " * (len(old) - len(subfilter)))
    rep = validate_pdf(data, offline_config)
    assert (rep.indication, rep.sub_indication) == ("INDETERMINATE", sub), rep.render_summary()
    assert code in [f.code for f in rep.all_findings]


def test_callable_from_async_code_without_limit(corpus, pki):
    import asyncio

    cfg = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=None)

    async def main():
        return validate_pdf(corpus["leader-B-B"].data, cfg)

    assert asyncio.run(main()).indication == TOTAL_PASSED


def test_any_changed_signed_byte_is_caught(corpus, offline_config):
    """Flip bytes across the signed ranges (structure, content, signature dictionary, xref):
    never a pass, never an exception."""
    import random
    import re

    bb = corpus["leader-B-B"].data
    a, b, c, d = (
        int(x) for x in re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", bb)[-1]
    )
    rnd = random.Random(20201)
    positions = [rnd.randrange(a, a + b) for _ in range(15)] + [
        rnd.randrange(c, c + d) for _ in range(10)
    ]
    for pos in positions:
        mutated = bytearray(bb)
        mutated[pos] ^= 0x5A
        rep = validate_pdf(bytes(mutated), offline_config)
        assert rep.indication != TOTAL_PASSED, (pos, rep.render_summary())


def test_size_limit(pki):
    cfg = ValidationConfig.from_paths([str(pki.trust_root)], max_bytes=1000)
    rep = validate_pdf(b"%PDF-1.7\n" + b"0" * 2000, cfg)
    assert [f.code for f in rep.findings] == ["SIG_TOO_LARGE"]


def _plain_json(value, path="$") -> None:
    """Only exact JSON types: a str subclass (pyHanko's TextStringObject) keeps the parsed
    PDF alive and made dataclasses.asdict deep-copy it (issue 17)."""
    kind = type(value)
    assert kind in (dict, list, str, int, float, bool, type(None)), (path, kind)
    if kind is dict:
        for k, v in value.items():
            assert type(k) is str, (path, type(k))
            _plain_json(v, f"{path}.{k}")
    elif kind is list:
        for i, v in enumerate(value):
            _plain_json(v, f"{path}[{i}]")


def test_report_holds_only_plain_json_types(corpus, offline_config):
    from pathlib import Path

    real = Path(__file__).parents[1] / "corpus" / "pdfs" / "PAdES-LT.pdf"
    for data in (corpus["leader-then-agency"].data, real.read_bytes()):
        rep = validate_pdf(data, offline_config)
        assert rep.signatures
        _plain_json(rep.to_dict())
