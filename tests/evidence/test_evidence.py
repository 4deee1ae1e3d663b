"""Evidence that holds in a dispute (issue 18): signed receipts checked by openssl, the log
rechecked after every kind of tampering, bundles checked offline after the hub is gone, a TSA
that is down. Live hub over HTTP, SQLite and PostgreSQL, the test PKI's TSA (certomancer)."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from axis.service import evidence
from axis.service.evidence_bundle import verify_bundle
from signing import receipts as rc
from tests.hub.conftest import RECIPIENTS, SENDER, document, status
from tests.support.live import LiveHub

ROOT = Path(__file__).resolve().parents[2]


def _der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )


def _exchange(parties) -> dict:
    """A document to two recipients; one acknowledges and completes, the other registers it
    with a status package. Returns the sender's receipt and the answers."""
    sender = parties[SENDER]
    r1, r2 = (parties[c] for c in RECIPIENTS)
    sent = sender.send(document())
    assert sent.status_code == 202, sent.text
    receipt = sent.json()
    ack = r1.ack(receipt["id"])
    assert ack.status_code == 200, ack.text
    done = r1.http.post(f"/v1/messages/{receipt['id']}/status", json={"code": "06"})
    assert done.status_code == 202, done.text
    reg = r2.send(status("03", r2.code, receipt["document_id"]))
    assert reg.status_code == 202, reg.text
    return {"receipt": receipt, "ack": ack.json(), "done": done.json(), "reg": reg.json()}


def _openssl_cms(
    tmp: Path, body: bytes, sig: bytes, cert_der: bytes, chain: bytes = b""
) -> subprocess.Popen:
    """openssl's verdict on a receipt; `chain` (PEM) when the hub's certificate is issued by a
    CA rather than self-signed."""
    (tmp / "r.json").write_bytes(body)
    (tmp / "r.p7s").write_bytes(sig)
    (tmp / "hub.pem").write_bytes(chain or rc.pem(cert_der))
    return subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", tmp / "r.p7s",
         "-content", tmp / "r.json", "-CAfile", tmp / "hub.pem", "-purpose", "any",
         "-out", os.devnull],
        capture_output=True, text=True,
    )  # fmt: skip


def test_every_receipt_is_signed_and_openssl_accepts_it(live, parties, tmp_path):
    answers = _exchange(parties)
    cert = live.hub.evidence.keys.signer.cert_der
    receipt = answers["receipt"]
    for name in ("receipt", "ack", "done", "reg"):
        signed = answers[name]["evidence"]
        body, sig = signed["receipt"].encode(), base64.b64decode(signed["signature"])
        facts = json.loads(body)
        assert facts["hub"] == rc.sha256_hex(cert)
        done = _openssl_cms(tmp_path, body, sig, cert)
        assert done.returncode == 0, done.stderr
        # one byte changed: openssl refuses
        forged = body.replace(b'"v":1', b'"v":2')
        assert _openssl_cms(tmp_path, forged, sig, cert).returncode != 0
    first = json.loads(answers["receipt"]["evidence"]["receipt"])
    assert first["event"] == "accepted" and first["sender"] == SENDER
    assert first["recipients"] == RECIPIENTS and first["sha256"] == receipt["sha256"]
    ack = json.loads(answers["ack"]["evidence"]["receipt"])
    assert ack["event"] == "acknowledged" and ack["recipient"] == RECIPIENTS[0]
    # a resend answers the very receipt the log holds
    again = parties[SENDER].send(document())
    assert again.status_code == 200 and again.json() == receipt
    # Every message a client sent has its signed receipt in the log; the status 01 the hub
    # made for the acknowledgement has none (nobody is handed it: the acknowledgement's own
    # receipt proves that fact), and is logged all the same.
    with live.hub.db.read() as session:
        accepted = session.execute(
            text(
                "SELECT m.status_code, m.sender_code, e.receipt FROM evidence_log e "
                "JOIN messages m ON m.id = e.row_key WHERE e.event = 'accepted'"
            )
        ).all()
    signed = {(code, sender) for code, sender, body in accepted if body}
    assert signed == {(None, SENDER), ("06", RECIPIENTS[0]), ("03", RECIPIENTS[1])}
    assert [(code, sender) for code, sender, body in accepted if not body] == [
        ("01", RECIPIENTS[0])
    ]


def test_receipt_times_are_written_as_ever():
    """`utc_text` (made faster) writes every time as the strftime every earlier entry used."""
    import random
    from datetime import UTC, datetime, timedelta, timezone

    rng = random.Random(18)
    for _ in range(20_000):
        value = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(0, 3_000_000_000), microseconds=rng.choice([0, 7, 999_999])
        )
        value = value.astimezone(timezone(timedelta(minutes=rng.randrange(-720, 840, 15))))
        assert rc.utc_text(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _sealed(live) -> evidence.SealResult:
    result = evidence.seal(live.hub, force=True)
    assert result.head_id is not None and result.timestamped >= 1, result
    return result


def _codes(report) -> set[str]:
    return {f["code"] for f in report.findings if f["severity"] == "error"}


def _sql(live, statement: str, **params) -> None:
    with live.hub.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_an_untouched_log_verifies_and_openssl_accepts_the_head_token(live, parties, tmp_path):
    _exchange(parties)
    _sealed(live)
    report = evidence.verify_log(live.hub)
    assert report.ok, report.findings
    assert report.heads == 1 and report.entries > 10 and report.objects == 1
    with live.hub.db.read() as s:
        head = s.execute(text("SELECT head_hash, tst FROM evidence_heads")).one()
    (tmp_path / "t.tst").write_bytes(head.tst)
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", head.head_hash, "-token_in", "-in",
         tmp_path / "t.tst", "-CAfile", os.environ["AXIS_EVIDENCE_TSA_ROOTS"]],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


TAMPERING = {
    "delivery time edited": (
        "UPDATE deliveries SET created_at = created_at - INTERVAL '1 day'",
        "UPDATE deliveries SET created_at = '2020-01-01 00:00:00.000000'",
        "EVIDENCE_ROW_CHANGED",
    ),
    "status deleted": (None, None, "EVIDENCE_ROW_DELETED"),
    "row inserted": (None, None, "EVIDENCE_ROW_NOT_LOGGED"),
    "package bytes swapped in the store": (None, None, "EVIDENCE_OBJECT_CHANGED"),
    "log rows re-ordered": (None, None, "EVIDENCE_ROOT_MISMATCH"),
    "log entry edited": (
        "UPDATE evidence_log SET at = at + INTERVAL '1 hour' WHERE seq = 2",
        "UPDATE evidence_log SET at = '2020-01-01 00:00:00.000000' WHERE seq = 2",
        "EVIDENCE_ENTRY_ALTERED",
    ),
    "head edited": (
        "UPDATE evidence_heads SET count = count - 1",
        "UPDATE evidence_heads SET count = count - 1",
        "EVIDENCE_HEAD_ALTERED",
    ),
    "receipt replaced in the log": (None, None, "EVIDENCE_ENTRY_ALTERED"),
    "receipt signature replaced in the log": (None, None, "EVIDENCE_RECEIPT_CMS_DIGEST_MISMATCH"),
    "archival record edited": (
        "UPDATE archive_records SET package_sha256 = repeat('0', 64)",
        "UPDATE archive_records SET package_sha256 = '" + "0" * 64 + "'",
        "EVIDENCE_ROW_CHANGED",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_verify_log_catches_tampering(live, parties, kind):
    answers = _exchange(parties)
    _sealed(live)
    assert evidence.verify_log(live.hub).ok
    pg, sqlite, expected = TAMPERING[kind]
    is_sqlite = live.hub.db.is_sqlite
    if pg is not None:
        _sql(live, sqlite if is_sqlite else pg)
    elif kind == "status deleted":
        sid = answers["reg"]["id"]
        _sql(live, "DELETE FROM timeline WHERE message_id = :m", m=sid)
        _sql(live, "DELETE FROM deliveries WHERE message_id = :m", m=sid)
        _sql(live, "DELETE FROM messages WHERE id = :m", m=sid)
    elif kind == "row inserted":
        _sql(
            live,
            "INSERT INTO deliveries (message_id, recipient_code, pending, created_at) "
            "VALUES (:m, '000.00.00.G12', true, :t)",
            m=answers["receipt"]["id"],
            t="2099-01-01 00:00:00.000000" if is_sqlite else "2099-01-01T00:00:00Z",
        )
    elif kind == "package bytes swapped in the store":
        path = live.hub.store.path_of(answers["receipt"]["sha256"])
        os.chmod(path, 0o644)
        original = path.read_bytes()
        path.write_bytes(original + b"<!-- swapped -->")
    elif kind == "log rows re-ordered":
        with live.hub.db.engine.begin() as conn:
            rows = conn.execute(text("SELECT * FROM evidence_log WHERE seq IN (3, 4)")).mappings()
            a, b = (dict(r) for r in rows)
            cols = [c for c in a if c != "seq"]
            sets = ", ".join(f"{c} = :{c}" for c in cols)
            conn.execute(text(f"UPDATE evidence_log SET {sets} WHERE seq = 3"), {**b, "seq": 3})
            conn.execute(text(f"UPDATE evidence_log SET {sets} WHERE seq = 4"), {**a, "seq": 4})
    elif kind.startswith("receipt"):
        # the acknowledgement's receipt (or its signature alone) replaced by the document's
        # acceptance receipt, both genuinely signed by the hub
        with live.hub.db.engine.begin() as conn:
            rows = {
                r.event: r
                for r in conn.execute(
                    text(
                        "SELECT seq, event, receipt, receipt_sig FROM evidence_log "
                        "WHERE message_id = :m AND receipt IS NOT NULL"
                    ),
                    {"m": answers["receipt"]["id"]},
                )
            }
            src, dst = rows["accepted"], rows["acknowledged"]
            values = {"sig": src.receipt_sig, "seq": dst.seq, "r": src.receipt}
            if kind == "receipt replaced in the log":
                conn.execute(
                    text(
                        "UPDATE evidence_log SET receipt = :r, receipt_sig = :sig WHERE seq = :seq"
                    ),
                    values,
                )
            else:
                conn.execute(
                    text("UPDATE evidence_log SET receipt_sig = :sig WHERE seq = :seq"), values
                )
    report = evidence.verify_log(live.hub)
    assert not report.ok
    assert expected in _codes(report), report.findings
    assert report.to_dict()["first_break"]["severity"] == "error"


def _bundle(live, parties) -> tuple[bytes, dict]:
    answers = _exchange(parties)
    _sealed(live)
    got = parties[SENDER].http.get(f"/v1/messages/{answers['receipt']['id']}/evidence")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    return got.content, answers


def test_an_untouched_bundle_verifies_offline_after_the_hub_is_gone(
    evidence_env, pki, tmp_path, database_url
):
    with LiveHub.start(evidence_env) as live:
        from tests.hub.conftest import Party

        parties = {}
        for code in [SENDER, *RECIPIENTS, "000.00.00.G12"]:
            key = live.add_agency(code)
            parties[code] = Party(code, key, live.client(key))
        data, answers = _bundle(live, parties)
        outsider = parties["000.00.00.G12"].http.get(
            f"/v1/messages/{answers['receipt']['id']}/evidence"
        )
        assert outsider.status_code == 404
        mine = parties[RECIPIENTS[1]].http.get(f"/v1/messages/{answers['receipt']['id']}/evidence")
        cert = live.hub.evidence.keys.signer.cert_der
        for p in parties.values():
            p.http.close()
    # the hub is gone: no server, and the database and store are not read
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(data)
    (tmp_path / "hub.pem").write_bytes(rc.pem(cert))
    report = verify_bundle(data, [cert], [_der(pki.trust_root)])
    assert report.verdict == "valid", report.findings
    assert any(SENDER in f and "trục nhận lúc" in f for f in report.facts_vi)
    assert any(f"{RECIPIENTS[0]} acknowledged" in f for f in report.facts_en)
    assert any("status 03" in f for f in report.facts_en)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"packages/{answers['receipt']['id']}.edxml" in names
    # openssl alone accepts what the bundle carries: the manifest's signature, each head's
    # signature and its timestamp token, each receipt
    z = zipfile.ZipFile(io.BytesIO(data))
    done = _openssl_cms(tmp_path, z.read("manifest.json"), z.read("manifest.p7s"), cert)
    assert done.returncode == 0, done.stderr
    heads = json.loads(z.read("log/heads.json"))
    assert heads
    for h in heads:
        body = rc.canonical(h["body"])
        assert rc.sha256_hex(body) == h["head_hash"]
        done = _openssl_cms(tmp_path, body, z.read(f"log/heads/{h['id']}.p7s"), cert)
        assert done.returncode == 0, done.stderr
        (tmp_path / "h.tst").write_bytes(z.read(f"log/heads/{h['id']}.tst"))
        done = subprocess.run(
            ["openssl", "ts", "-verify", "-digest", h["head_hash"], "-token_in", "-in",
             tmp_path / "h.tst", "-CAfile", pki.trust_root],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    receipts = [n for n in names if n.startswith("receipts/") and n.endswith(".json")]
    assert len(receipts) >= 3
    for n in receipts:
        done = _openssl_cms(tmp_path, z.read(n), z.read(n[:-5] + ".p7s"), cert)
        assert done.returncode == 0, n + done.stderr
    assert sum(n.startswith("statuses/") for n in names) == 3  # 01, 06 and 03
    # a recipient's bundle leaves out the other recipient's lines, and still verifies
    rep2 = verify_bundle(mine.content, [cert], [_der(pki.trust_root)])
    assert rep2.verdict == "valid", rep2.findings
    assert not any(RECIPIENTS[0] in f and "acknowledged" in f for f in rep2.facts_en)
    # the CLI, in a process with no hub configured at all
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "axis.cli", "evidence", "verify", str(bundle), "--hub-cert",
         str(tmp_path / "hub.pem"), "--tsa-root", str(pki.trust_root)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HỢP LỆ / VALID" in done.stdout


def _rezip(data: bytes, change) -> bytes:  # noqa: ANN001
    src = zipfile.ZipFile(io.BytesIO(data))
    files = {n: src.read(n) for n in src.namelist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return out.getvalue()


def _entries(files: dict) -> list[dict]:
    return json.loads(files["log/entries.json"])


def _set_entries(files: dict, entries: list[dict]) -> None:
    files["log/entries.json"] = json.dumps(entries, ensure_ascii=False).encode()


def test_a_bundle_that_was_tampered_with_never_verifies(live, parties, pki, tmp_path):
    data, answers = _bundle(live, parties)
    cert = live.hub.evidence.keys.signer.cert_der
    roots = [_der(pki.trust_root)]

    def check(bundle: bytes, hub=(cert,), tsa=roots) -> set[str]:  # noqa: ANN001
        rep = verify_bundle(bundle, list(hub), tsa)
        assert rep.verdict != "valid"
        return _codes(rep)

    # truncated
    assert "BUNDLE_MALFORMED" in check(data[: len(data) // 2])
    assert "BUNDLE_FILE_MISSING" in check(
        _rezip(data, lambda f: f.pop(f"packages/{answers['receipt']['id']}.edxml"))
    )

    # forged: an acknowledgement time moved, the manifest's hash updated (not re-signable)
    def forge(files: dict) -> None:
        entries = _entries(files)
        for e in entries:
            if e["event"] == "acknowledged":
                e["content"] = e["content"].replace('"acked_at":"2', '"acked_at":"1')
        _set_entries(files, entries)
        manifest = json.loads(files["manifest.json"])
        manifest["files"]["log/entries.json"] = rc.sha256_hex(files["log/entries.json"])
        files["manifest.json"] = json.dumps(manifest).encode()

    codes = check(_rezip(data, forge))
    assert {"BUNDLE_MANIFEST_CMS_DIGEST_MISMATCH", "BUNDLE_ENTRY_ALTERED"} <= codes

    # re-ordered entries
    def reorder(files: dict) -> None:
        entries = _entries(files)
        entries[1], entries[2] = entries[2], entries[1]
        _set_entries(files, entries)

    assert "BUNDLE_ENTRIES_REORDERED" in check(_rezip(data, reorder))

    # a receipt replaced by another one the hub signed (the 06's in place of the ack's)
    def swap_receipt(files: dict) -> None:
        names = sorted(n for n in files if n.startswith("receipts/") and n.endswith(".json"))
        a, b = names[0], names[-1]
        files[a], files[b] = files[b], files[a]
        files[a[:-5] + ".p7s"], files[b[:-5] + ".p7s"] = (
            files[b[:-5] + ".p7s"],
            files[a[:-5] + ".p7s"],
        )

    codes = check(_rezip(data, swap_receipt))
    assert "BUNDLE_RECEIPT_CHANGED" in codes and "BUNDLE_FILE_CHANGED" in codes

    # signed by another key: everything re-signed and the manifest rebuilt by someone else
    other = rc.create_test_key(tmp_path / "other.p12", "not the hub")
    other_signer = rc.load_hub_signer({"p12": str(tmp_path / "other.p12")})

    def resign(files: dict) -> None:
        for n in list(files):
            if n.endswith(".p7s") and n != "manifest.p7s":
                src = files[n[:-4] + ".json"] if n.startswith("receipts/") else None
                if src is not None:
                    files[n] = other_signer.sign(src)
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {
            n: rc.sha256_hex(b) for n, b in files.items() if not n.startswith("manifest.")
        }
        files["manifest.json"] = json.dumps(manifest).encode()
        files["manifest.p7s"] = other_signer.sign(files["manifest.json"])

    assert other is not None
    codes = check(_rezip(data, resign))
    assert {"BUNDLE_MANIFEST_CMS_SIGNER_UNTRUSTED", "BUNDLE_RECEIPT_CMS_SIGNER_UNTRUSTED"} <= codes

    # a timestamp from a TSA the verifier does not trust
    rogue = [_der(pki.cert["rogue-root"])]
    assert "BUNDLE_HEAD_TST_UNTRUSTED" in check(data, tsa=rogue)
    # no pinned hub certificate: never "valid"
    assert verify_bundle(data, None, roots).verdict == "incomplete"


def test_a_tsa_that_is_down_never_blocks_the_exchange_and_the_gap_shows(live, parties, pki):
    live.hub.settings.evidence_tsa_url = "http://127.0.0.1:9/tsa"  # nothing listens there
    answers = _exchange(parties)
    assert answers["receipt"]["evidence"]
    result = evidence.seal(live.hub, force=True)
    assert result.head_id is not None and result.timestamped == 0 and result.tsa_error
    report = evidence.verify_log(live.hub)
    assert report.ok and report.not_timestamped == 1
    assert "EVIDENCE_HEAD_NOT_TIMESTAMPED" in {f["code"] for f in report.findings}
    # the TSA comes back: the waiting head is timestamped, late, and says so
    live.hub.settings.evidence_tsa_url = pki.tsa_url
    result = evidence.seal(live.hub, force=True)
    assert result.timestamped == 1
    report = evidence.verify_log(live.hub)
    assert report.ok and report.not_timestamped == 0
    assert "EVIDENCE_HEAD_TIMESTAMP_LATE" in {f["code"] for f in report.findings}


def test_verify_log_never_accepts_a_timestamp_from_a_tsa_it_does_not_trust(live, parties, pki):
    _exchange(parties)
    _sealed(live)
    assert evidence.verify_log(live.hub, roots=[_der(pki.trust_root)]).ok
    report = evidence.verify_log(live.hub, roots=[_der(pki.cert["rogue-root"])])
    assert not report.ok
    assert "EVIDENCE_HEAD_TST_UNTRUSTED" in _codes(report), report.findings


def test_concurrent_writers_and_sealers_leave_a_log_that_verifies(live, parties):
    """Writers in threads (SQLite: their units share group commits; PostgreSQL: transactions
    that take their seqs in one order and commit in another) while two sealers append heads:
    every entry ends up under exactly one head, no entry lands in a range already sealed, and
    the whole log verifies."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from axis.domain import Principal
    from axis.service import messages, statuses

    hub = live.hub
    n = 24
    stop = threading.Event()

    def sealer() -> int:
        made = 0
        while not stop.is_set():
            made += evidence.seal(hub, force=True, timestamp=False, wait_s=30).head_id is not None
        return made

    def one(i: int) -> None:
        body = document(number=f"{500 + i}")
        receipt, created = messages.submit(hub, body, Principal("t", "agency", SENDER))
        assert created
        for code in RECIPIENTS:
            [res] = statuses.acknowledge(hub, Principal("t", "agency", code), [receipt.id])
            assert res["acked"] and res["evidence"]["signature"]

    with ThreadPoolExecutor(2) as sealers:
        running = [sealers.submit(sealer) for _ in range(2)]
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(one, range(n)))
        stop.set()
        made_meanwhile = sum(f.result() for f in running)
    evidence.seal(hub, force=True)
    assert made_meanwhile >= 1
    report = evidence.verify_log(hub)
    assert report.ok, report.errors
    # per document: accepted, 2 delivered, archived; per acknowledgement: acknowledged, and
    # its 01 accepted, delivered to the sender, and its status line
    assert report.entries == n * 12 and report.unsealed == 0
    with hub.db.read() as s:
        heads = s.execute(text("SELECT seq_from, seq_to, count FROM evidence_heads ORDER BY id"))
        ranges = [tuple(h) for h in heads]
    assert sum(c for _, _, c in ranges) == n * 12
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))


def test_rotating_the_hub_key_keeps_old_evidence_verifiable(live, parties):
    _exchange(parties)
    _sealed(live)
    keys = live.hub.evidence.keys
    old = keys.signer.cert_sha256
    keys.create(replace=True)
    evidence.register_cert(live.hub, keys.signer.cert_der)
    assert keys.signer.cert_sha256 != old
    sent = parties[SENDER].send(document(number="16"))
    assert json.loads(sent.json()["evidence"]["receipt"])["hub"] == keys.signer.cert_sha256
    _sealed(live)
    report = evidence.verify_log(live.hub)
    assert report.ok and report.heads == 2, report.findings


def test_a_hub_key_on_a_pkcs11_token_signs_receipts_and_bundles(
    evidence_env, pki, tmp_path, monkeypatch
):
    """AXIS_HUB_KEY names a spec of a key held on a PKCS#11 token (SoftHSM2): the hub never
    sees the key, and what it signs verifies with openssl and offline like a file key's."""
    from tests.signing.hsm import TokenSpec, make_tokens

    [token] = make_tokens(
        tmp_path / "hsm",
        [
            TokenSpec(
                f"axis-hub-{uuid.uuid4().hex[:12]}", "hub", pki.key["agency"], pki.cert["agency"]
            )
        ],
    ).values()
    monkeypatch.setenv("AXIS_TEST_HUB_PIN", token.pin)
    spec = tmp_path / "hub-key.json"
    spec.write_text(
        json.dumps(
            {
                "hub_key": {
                    "pkcs11_module": token.module,
                    "token": token.label,
                    "key": token.key_label,
                    "pin_env": "AXIS_TEST_HUB_PIN",
                }
            }
        )
    )
    with LiveHub.start({**evidence_env, "AXIS_HUB_KEY": str(spec)}) as live:
        from tests.hub.conftest import Party

        parties = {}
        for code in [SENDER, *RECIPIENTS]:
            key = live.add_agency(code)
            parties[code] = Party(code, key, live.client(key))
        bundle, answers = _bundle(live, parties)
        for p in parties.values():
            p.http.close()
    cert = _der(pki.cert["agency"])
    signed = answers["receipt"]["evidence"]
    body, sig = signed["receipt"].encode(), base64.b64decode(signed["signature"])
    assert json.loads(body)["hub"] == rc.sha256_hex(cert)
    chain = pki.trust_root.read_bytes() + pki.intermediate.read_bytes()
    done = _openssl_cms(tmp_path, body, sig, cert, chain)
    assert done.returncode == 0, done.stderr
    report = verify_bundle(bundle, [cert], [_der(pki.trust_root)])
    assert report.verdict == "valid", report.findings
