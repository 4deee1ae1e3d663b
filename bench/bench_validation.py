"""Per-PDF cost of the real workload's checks against the crypto floor, and where the time goes.

The documents are those of `bench.real_workload` (a Decree 30 decision signed by the leader,
then sealed by the agency, B-T or B-LT, certomancer's test PKI and TSA). For each level:

- floor: what cannot be avoided per document: SHA-256 of both byte ranges of each signature,
  the CMS parse and one RSA verification of each signature (its signed attributes);
- validate_pdf once warm (the same signers seen before, as in the hub after its first
  documents), with revocation fetched over HTTP (the hub's default) and offline;
- the hub's two checks as `axis serve` builds them (signatures, then the Decree 30 rules);
- the ratio to the floor (target: validation <= 3x once warm).

`--profile` prints cProfile's heaviest functions (cumulative) of the warm checks;
`--cold` clears the validation caches before every call (what each document cost before);
`--cpu` times the process's CPU instead of wall time (steadier on a loaded machine).

    python -m bench.bench_validation [--rounds 30] [--profile] [--cold] [--cpu]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import logging
import pstats
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_signing import interleaved  # noqa: E402


def crypto_floor(data: bytes) -> None:
    """Digests of every signature's byte ranges, its CMS parsed, its signature verified."""
    import re

    from asn1crypto import cms
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.x509 import load_der_x509_certificate

    for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data):
        a, b, c, d = (int(x) for x in m.groups())
        h = hashlib.sha256()
        h.update(data[a : a + b])
        h.update(data[c : c + d])
        h.digest()
        contents = bytes.fromhex(data[a + b + 1 : c - 1].decode())  # zero-padded DER
        signed = cms.ContentInfo.load(contents, strict=False)["content"]
        si = signed["signer_infos"][0]
        sid = si["sid"].chosen
        cert = next(
            c.chosen
            for c in signed["certificates"]
            if c.chosen.serial_number == sid["serial_number"].native
            and c.chosen.issuer == sid["issuer"]
        )
        key = load_der_x509_certificate(cert.dump()).public_key()
        key.verify(
            si["signature"].native,
            si["signed_attrs"].untag().dump(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cold", action="store_true", help="clear the validation caches per call")
    ap.add_argument("--cpu", action="store_true", help="CPU time of the process, not wall time")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from tests.signing.pki import start_pki

    with tempfile.TemporaryDirectory() as tmp:
        pki = start_pki(Path(tmp) / "pki")
        try:
            return _run(pki, args)
        finally:
            pki.stop()


def _run(pki, args) -> int:
    import os
    import time

    from axis.bootstrap import default_checks
    from axis.config import Settings
    from axis.service.checks import CheckInput, run_checks
    from bench import real_workload
    from formats.edxml import parse
    from signing.validate import validate_pdf

    # the hub's settings for the real run (bench.real_workload), read as `axis serve` reads them
    env = {
        "AXIS_SIGNATURE_POLICY": "strict",
        "AXIS_RULES": "",
        "AXIS_TRUST_ROOTS": str(pki.trust_root),
        "AXIS_REVOCATION_POLICY": "soft-fail",
    }
    os.environ.update(env)
    checks = {
        fetch: default_checks(Settings(revocation_fetch=fetch, data_dir=Path(tempfile.mkdtemp())))
        for fetch in (True, False)
    }
    what = "median CPU ms per PDF" if args.cpu else "median ms per PDF"
    print(
        f"{what:30} {'floor':>7} {'fetch':>7} {'offline':>8} "
        f"{'checks':>7} {'fetch:floor':>11} {'offline:floor':>13}"
    )
    cfg_fetch, cfg_off = checks[True][0].config, checks[False][0].config

    def cold() -> None:
        if args.cold:  # every document validated from scratch, as before issue 17
            cfg_fetch.engine().clear_caches()
            cfg_off.engine().clear_caches()

    results = {}
    for level in ("B-T", "B-LT"):
        real_workload._init_signer(
            {k: str(v) for k, v in pki.p12.items()},
            "1234",
            pki.tsa_url,
            level,
            str(pki.trust_root),
        )
        [(_sender, body, pdf)] = real_workload.signed_packages_inline(1)
        pkg = parse(body).package

        def run_hub_checks(pkg=pkg, body=body):
            cold()
            item = CheckInput(pkg, body, real_workload.SENDER, lambda c: True, lambda d: None)
            findings = run_checks(checks[True], item)
            assert not [f for f in findings if f.severity == "error"], findings

        def fetch_validate(pdf=pdf):
            cold()
            r = validate_pdf(pdf, cfg_fetch)
            assert r.indication == "TOTAL_PASSED", r.to_dict()

        def off_validate(pdf=pdf):
            cold()
            validate_pdf(pdf, cfg_off)

        floor, fetch, off, hub = interleaved(
            [lambda pdf=pdf: crypto_floor(pdf), fetch_validate, off_validate, run_hub_checks],
            args.rounds,
            timer=time.process_time if args.cpu else time.perf_counter,
        )
        results[level] = (floor, fetch, off, hub)
        print(
            f"{level + (' (cold)' if args.cold else ' (warm)'):30} {floor:7.2f} {fetch:7.2f} "
            f"{off:8.2f} {hub:7.2f} {fetch / floor:11.1f} {off / floor:13.1f}"
        )
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.rounds):
                run_hub_checks()
            prof.disable()
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
            stats.print_stats(45)
            print(f"\nprofile of the hub's checks, {level}, {args.rounds} documents:")
            print("\n".join(out.getvalue().splitlines()[:75]))
    ok = all(fetch <= 3 * floor for floor, fetch, *_ in results.values())
    print(f"target (validation <= 3x the floor once warm): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
