"""Signature validation and signing against plain pyHanko, measured in the same run.

Validation: ``signing.validate.validate_pdf`` (per-config engine, speed-ups, worker thread
with a deadline) against the naive use of pyHanko: open the file, then
``validate_pdf_signature`` with a fresh ``ValidationContext`` per signature (trust roots
parsed once, to be kind to the baseline), with the speed-ups switched off. Verdicts must be
identical over the whole corpus (pass = every signature valid; an exception = not passed).

Signing: ``signing.sign.sign_pdf`` with a cached ``LoadedSigner`` against
``SimpleSigner.load(...)`` plus ``signers.sign_pdf`` per call (invisible B-B, same key).

    python -m bench.bench_signing [--rounds 30]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign import signers  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402

from signing import _speedups  # noqa: E402
from signing.sign import clear_signer_cache, load_pem, sign_pdf  # noqa: E402
from signing.trust import load_certs  # noqa: E402
from signing.validate import ValidationConfig, validate_pdf  # noqa: E402
from tests.signing.corpus import build_corpus  # noqa: E402
from tests.signing.pki import start_pki  # noqa: E402
from tests.signing.samples import make_pdf  # noqa: E402

# Where axis deliberately goes further than one call of pyHanko's validate_pdf_signature.
INTENDED = {
    "expired-timestamped-in-time": "validation with time: the signature timestamp predates "
    "the certificate's expiry (ETSI EN 319 102-1); plain pyHanko validates at 'now' only",
}


def naive_validate(data: bytes, roots) -> bool:
    """Plain pyHanko, as a newcomer would call it. True = every signature valid."""
    _speedups.uninstall()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_regular_signatures
        if not sigs:
            return False
        ok = True
        for es in sigs:
            vc = ValidationContext(trust_roots=roots, allow_fetching=False)
            ok = validate_pdf_signature(es, vc).bottom_line and ok
        return ok
    except Exception:
        return False
    finally:
        _speedups.install()


def interleaved(fns, rounds: int, timer=time.perf_counter) -> list[float]:
    """Median ms per call of each function, calls interleaved so load drifts hit all alike.
    `timer=time.process_time`: CPU time of the process (all its threads) instead of wall
    time, which on a loaded machine also counts the time spent waiting for a core."""
    for f in fns:
        f()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            t = timer()
            f()
            times[i].append((timer() - t) * 1000)
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # pyHanko logs every failed chain with a traceback

    with tempfile.TemporaryDirectory() as tmp:
        pki = start_pki(Path(tmp) / "pki")
        try:
            return _run(pki, args.rounds)
        finally:
            pki.stop()


def _run(pki, rounds: int) -> int:
    roots = load_certs([pki.trust_root])
    cfg = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=30)
    cfg_inline = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=None)
    cases = [c for c in build_corpus(pki) if not c.online]

    # 1. identical verdicts over the corpus
    mismatches, intended = [], []
    for c in cases:
        ours = validate_pdf(c.data, cfg).indication == "TOTAL_PASSED"
        base = naive_validate(c.data, roots)
        if ours != base:
            (intended if c.name in INTENDED else mismatches).append((c.name, ours, base))
    same = len(cases) - len(mismatches) - len(intended)
    print(f"verdicts: {same}/{len(cases)} identical to naive pyHanko, {len(intended)} intended")
    for name, ours, base in intended:
        print(f"  intended {name}: axis passed={ours}, naive passed={base}: {INTENDED[name]}")
    for name, ours, base in mismatches:
        print(f"  MISMATCH {name}: axis passed={ours}, naive passed={base}")

    # 2. validation speed
    by_name = {c.name: c.data for c in cases}
    print(f"\n{'validation (median ms)':34} {'naive':>8} {'axis':>8} {'inline':>8} {'ratio':>6}")
    ratios = {}
    for name in ("leader-B-B", "leader-B-T", "leader-B-LTA", "five-signatures", "wrong-digest"):
        d = by_name[name]
        n = rounds if name != "five-signatures" else max(5, rounds // 3)
        base, ours, inline = interleaved(
            [
                lambda d=d: naive_validate(d, roots),
                lambda d=d: validate_pdf(d, cfg),
                lambda d=d: validate_pdf(d, cfg_inline),
            ],
            n,
        )
        ratios[name] = base / ours
        print(f"  {name:32} {base:8.2f} {ours:8.2f} {inline:8.2f} {base / ours:5.1f}x")
    five = by_name["five-signatures"]
    five_ms = interleaved([lambda: validate_pdf(five, cfg)], max(5, rounds // 3))[0]
    print(f"  5-signature PDF: {five_ms:.1f} ms (target < 100 ms)")

    # 3. signing speed
    pdf = make_pdf()
    key, cert, chain = pki.key["leader"], pki.cert["leader"], [str(pki.intermediate)]

    def naive_sign() -> bytes:
        _speedups.uninstall()
        try:
            s = signers.SimpleSigner.load(str(key), str(cert), ca_chain_files=chain)
            w = IncrementalPdfFileWriter(io.BytesIO(pdf))
            meta = signers.PdfSignatureMetadata(field_name="Sig1")
            return signers.sign_pdf(w, meta, signer=s).getvalue()
        finally:
            _speedups.install()

    clear_signer_cache()
    loaded = load_pem(key, cert, chain)

    def ours_sign() -> bytes:
        return sign_pdf(pdf, load_pem(key, cert, chain))  # a cache hit, as in the hub

    base, ours = interleaved([naive_sign, ours_sign], rounds)
    sign_ratio = base / ours
    print(
        f"\n{'signing B-B invisible (median ms)':34} {'naive':>8} {'axis':>8} {'':>8} {'ratio':>6}"
    )
    print(f"  {'SimpleSigner.load+sign_pdf':32} {base:8.2f} {ours:8.2f} {'':>8} {sign_ratio:5.1f}x")
    assert loaded is load_pem(key, cert, chain)

    ok = not mismatches and ratios["leader-B-B"] >= 3 and five_ms < 100 and sign_ratio >= 8
    print(
        f"\ntargets: validation >= 3x ({ratios['leader-B-B']:.1f}x), 5 signatures < 100 ms "
        f"({five_ms:.0f} ms), signing >= 8x ({sign_ratio:.1f}x): {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
