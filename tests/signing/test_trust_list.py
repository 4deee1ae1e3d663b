"""The shipped Vietnamese trust list, the operator's local changes on top of it, the trust
list's identity in every report, and chains completed from the list or through AIA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from cryptography import x509 as cx509

from signing import trustlist
from signing.report import PdfReport
from signing.sign import load_pem, load_pkcs12, sign_pdf
from signing.trust import TrustError
from signing.trustlist import SHIPPED_DIR, LocalTrust, effective, load_manifest
from signing.validate import ValidationConfig, load_trust, validate_pdf
from tests.signing.pki import P12_PASSWORD, _pem
from tests.signing.samples import make_pdf

MANIFEST = yaml.safe_load((SHIPPED_DIR / "manifest.yml").read_text(encoding="utf-8"))


def _crypto(cert) -> cx509.Certificate:
    return cx509.load_der_x509_certificate(cert.dump())


# -- the shipped list ----------------------------------------------------------------------


def test_every_shipped_certificate_parses_with_the_stated_fingerprint_and_validity():
    m = load_manifest()
    assert m.label == f"vn-{MANIFEST['version']}"
    by_fp = {a.sha256: a for a in m.anchors}
    assert len(by_fp) == len(MANIFEST["certificates"]) >= 7
    for entry in MANIFEST["certificates"]:
        # the file on disk, parsed independently of the loader
        raw = (SHIPPED_DIR / entry["file"]).read_bytes()
        c = (
            cx509.load_pem_x509_certificate(raw)
            if raw.startswith(b"-----BEGIN")
            else cx509.load_der_x509_certificate(raw)
        )
        from cryptography.hazmat.primitives import hashes

        assert c.fingerprint(hashes.SHA256()).hex() == entry["sha256"], entry["file"]
        assert c.not_valid_before_utc.isoformat() == entry["not_before"], entry["file"]
        assert c.not_valid_after_utc.isoformat() == entry["not_after"], entry["file"]
        for key in ("repository", "path", "commit"):
            assert entry["source"][key], (entry["file"], key)
        anchor = by_fp[entry["sha256"]]
        assert anchor.role == entry["role"] and anchor.origin == "shipped"
        assert c.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca


def test_shipped_roots_are_self_signed_and_intermediates_signed_by_their_root():
    m = load_manifest()
    by_fp = {a.sha256: _crypto(a.cert) for a in m.anchors}
    names = {a.name for a in m.anchors if a.role == "root"}
    assert {"Vietnam National Root CA", "RootCA chuyên dùng Chính phủ G2"} <= names
    for entry in MANIFEST["certificates"]:
        cert = by_fp[entry["sha256"]]
        issuer = by_fp[entry.get("issuer_sha256", entry["sha256"])]
        cert.verify_directly_issued_by(issuer)  # raises if the signature does not verify
        if entry["role"] == "intermediate":
            assert entry["issuer_sha256"] != entry["sha256"]
    # the licensed public CAs' intermediates chain to the national root, not to VGCA's
    national = next(a for a in m.anchors if a.name == "Vietnam National Root CA").sha256
    issuer_of = {e["name"]: e.get("issuer_sha256") for e in MANIFEST["certificates"]}
    for name in ("VNPT-CA SHA2", "FastCA SHA-256", "Viettel-CA RS", "VNPT SmartCA RS"):
        assert issuer_of[name] == national, name


def test_an_altered_shipped_file_stops_loading(tmp_path):
    d = tmp_path / "vn"
    shutil.copytree(SHIPPED_DIR, d)
    raw = yaml.safe_load((d / "manifest.yml").read_text(encoding="utf-8"))
    raw["certificates"][1]["file"] = raw["certificates"][0]["file"]  # another certificate
    (d / "manifest.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TrustError, match="SHA-256"):
        load_manifest(d)
    with pytest.raises(TrustError):
        effective(shipped_dir=d)


# -- layers: shipped, local, configured ---------------------------------------------------


def test_local_changes_and_configured_roots_layer_on_the_shipped_list(tmp_path, pki):
    local_dir = tmp_path / "trust"
    base = effective(local_dir=local_dir)
    assert base.version == base.shipped_version == load_manifest().label
    assert len(base.roots) >= 2 and base.identity() == effective(local_dir=local_dir).identity()

    vgca = base.find("rootcag2")
    LocalTrust(local_dir).remove(vgca)
    less = effective(local_dir=local_dir)
    assert less.version.endswith("+local")
    assert vgca.sha256 in less.removed and vgca.cert not in less.roots
    assert less.identity()["sha256"] != base.identity()["sha256"]

    # bringing it back restores the shipped list exactly
    LocalTrust(local_dir).add(SHIPPED_DIR / vgca.file, shipped=load_manifest().anchors)
    assert effective(local_dir=local_dir).identity() == base.identity()

    added = LocalTrust(local_dir).add(pki.intermediate)
    assert [a.role for a in added] == ["intermediate"]
    with_local = effective(local_dir=local_dir, roots=[str(pki.trust_root)])
    assert with_local.version == f"{base.version}+local+configured"
    assert with_local.find(added[0].sha256[:12]).origin == "local"
    assert with_local.find(pki.arch.get_cert("root").sha256.hex()).origin == "configured"

    # only CA certificates can be added; configured ones are changed through the setting
    with pytest.raises(TrustError, match="not a CA"):
        LocalTrust(local_dir).add(pki.cert["leader"])
    with pytest.raises(TrustError, match="AXIS_TRUST_ROOTS"):
        LocalTrust(local_dir).remove(with_local.find(pki.arch.get_cert("root").sha256.hex()))

    off = effective(shipped=False, local_dir=tmp_path / "none", roots=[str(pki.trust_root)])
    assert off.version == "configured" and len(off.roots) == 1


# -- the report records the list ----------------------------------------------------------


def test_every_report_records_the_trust_list(pki, tmp_path):
    signed = sign_pdf(make_pdf(), load_pkcs12(pki.p12["leader"], P12_PASSWORD))
    tl = effective(local_dir=tmp_path / "trust", roots=[str(pki.trust_root)])
    cfg = ValidationConfig(trust=tl.trust_config(), time_limit=20)
    rep = validate_pdf(signed, cfg)
    assert rep.indication == "TOTAL_PASSED", rep.render_summary()
    assert rep.trust_list == tl.identity()
    assert rep.trust_list["version"].startswith("vn-")
    d = rep.to_dict()
    assert d["trust_list"] == tl.identity()
    assert PdfReport.from_dict(d).trust_list == tl.identity()
    assert f"trust list {tl.version}" in rep.render_summary()
    # reports of unreadable input carry it too
    assert validate_pdf(b"not a pdf", cfg).trust_list == tl.identity()
    # trust loaded from paths alone has no version, still a fingerprint of its set
    plain = load_trust([str(pki.trust_root)])
    assert plain.trust_list["version"] is None
    assert plain.trust_list["sha256"] == trustlist.identity(plain.roots, ())["sha256"]


# -- chain completion ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaf_only(pki) -> bytes:
    """Signed with only the leader's certificate embedded (no intermediate, no root)."""
    return sign_pdf(make_pdf(), load_pem(pki.key["leader"], pki.cert["leader"]))


def _list_dir(tmp_path: Path, pki) -> Path:
    """A trust list directory laid out as the shipped one, holding the test PKI."""
    d = tmp_path / "list"
    d.mkdir()
    entries = []
    for label, role in (("root", "root"), ("interm", "intermediate")):
        cert = pki.arch.get_cert(label)
        (d / f"{label}.pem").write_bytes(_pem("CERTIFICATE", cert.dump()))
        entries.append(
            {
                "file": f"{label}.pem",
                "role": role,
                "name": label,
                "sha256": cert.sha256.hex(),
                "source": {"repository": "test"},
            }
        )
    manifest = {"name": "test", "version": "1", "certificates": entries}
    (d / "manifest.yml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return d


def test_leaf_only_pdf_is_completed_from_the_lists_intermediates(leaf_only, pki, tmp_path):
    roots_only = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=20)
    assert validate_pdf(leaf_only, roots_only).sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"

    shipped = effective(shipped_dir=_list_dir(tmp_path, pki), local_dir=tmp_path / "trust")
    rep = validate_pdf(leaf_only, ValidationConfig(trust=shipped.trust_config(), time_limit=20))
    assert rep.indication == "TOTAL_PASSED", rep.render_summary()
    assert [c.common_name for c in rep.signatures[0].chain] == [  # root first
        "Test RootCA chuyên dùng Chính phủ",
        "Test CA phục vụ các cơ quan Nhà nước",
        "Nguyễn Văn An",
    ]
    assert rep.trust_list["version"] == "test-1"

    # the same through the operator's local list, on top of the real shipped one
    LocalTrust(tmp_path / "trust").add(pki.intermediate)
    local = effective(local_dir=tmp_path / "trust", roots=[str(pki.trust_root)])
    rep = validate_pdf(leaf_only, ValidationConfig(trust=local.trust_config(), time_limit=20))
    assert rep.indication == "TOTAL_PASSED", rep.render_summary()


def test_leaf_only_pdf_is_completed_through_aia_where_fetching_is_allowed(pki, tmp_path):
    aia_cert = tmp_path / "leader-aia.pem"
    aia_cert.write_bytes(_pem("CERTIFICATE", pki.arch.get_cert("leader-aia").dump()))
    data = sign_pdf(make_pdf(), load_pem(pki.key["leader"], aia_cert))
    trustlist.ISSUERS.clear()  # no issuer remembered from another test

    offline = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=20)
    assert validate_pdf(data, offline).sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert trustlist.ISSUERS.certs() == []

    online = ValidationConfig.from_paths(
        [str(pki.trust_root)], allow_fetching=True, time_limit=20, fetch_timeout=5
    )
    rep = validate_pdf(data, online)
    assert rep.indication == "TOTAL_PASSED", rep.render_summary()
    assert rep.signatures[0].chain[1].common_name == "Test CA phục vụ các cơ quan Nhà nước"
    # the fetched intermediate is remembered for the next documents
    interm = pki.arch.get_cert("interm").sha256
    assert [c.sha256 for c in trustlist.ISSUERS.certs()] == [interm]
    # ...but never used where fetching is off
    assert validate_pdf(data, offline).sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    trustlist.ISSUERS.clear()


def test_issuer_cache_keeps_ca_certificates_for_a_while(pki):
    cache = trustlist.IssuerCache(ttl=3600, max_entries=1)
    cache.add(pki.arch.get_cert("leader"))  # not a CA: ignored
    assert cache.certs() == []
    cache.add(pki.arch.get_cert("interm"))
    cache.add(pki.arch.get_cert("root"))  # the oldest goes when full
    assert [c.sha256 for c in cache.certs()] == [pki.arch.get_cert("root").sha256]
    expired = trustlist.IssuerCache(ttl=-1)
    expired.add(pki.arch.get_cert("interm"))
    assert expired.certs() == []
