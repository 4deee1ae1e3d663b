"""The hub's headline: the real workload beside the unsigned one, in one sitting, with the ratio.

Two runs of `bench.hub_throughput.measure` (the real `axis serve`, concurrent agency systems
sending ~100 KB documents to 3 recipients each while every agency pulls and acknowledges):

- unsigned: the former headline. Unsigned PDFs, AXIS_SIGNATURE_POLICY=off, AXIS_RULES=off.
- real: what agencies send. A Decree 30 document (national title, motto, "Số:" line, signer)
  signed twice with axis's own signer: the leader's visible signature, then the agency's seal,
  each B-T with a timestamp from the test TSA (or --level B-LT: revocation data embedded),
  certificates of certomancer's test PKI (served here: OCSP, CRL, TSA). The hub runs with the
  strict policy, the PKI's root as a trust anchor beside the shipped ones, the Decree 30 rules
  on, and revocation as `axis serve` does by default (soft-fail, responders asked over HTTP;
  --fetch off: only data in the PDF).

After the real run, every accepted document's stored report is read back: both signatures
must say TOTAL_PASSED. Then a tampered copy of a signed document (one byte of its signed content
changed) must be refused with SIG_HASH_FAILURE. Load averages are printed beside the figures:
on a shared machine, compare ratios of one sitting, not absolute rates.

    python -m bench.real_workload [--packages 1000] [--warmup 50] [--level B-T|B-LT]
        [--fetch on|off] [--workers N] [--postgres [ADMIN_URL]] [--only real|unsigned]
        [--before CHECKOUT]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.cli.serving import default_workers  # noqa: E402
from bench import hub_throughput  # noqa: E402
from bench.harness import FreshPostgres, HttpConnection, add_postgres_argument  # noqa: E402

SENDER = "000.00.00.G22"  # the agency named in the test PKI's seal certificate (its serialNumber)
RECIPIENTS = hub_throughput.RECIPIENTS
PROMULGATED = date(2024, 1, 5)  # as the PDF's "Hà Nội, ngày 05 tháng 01 năm 2024" line says


# -- the signed corpus ------------------------------------------------------------------------

_signers: dict = {}


def _init_signer(p12: dict[str, str], password: str, tsa_url: str, level: str, trust: str):
    from signing.sign import Appearance, load_pkcs12
    from tests.signing.samples import seal_png, signature_png

    logging.disable(logging.WARNING)  # fontTools' "FFTM NOT subset" per stamp
    images = Path(tempfile.mkdtemp(prefix="axis-bench-img-"))
    _signers.update(
        leader=load_pkcs12(p12["leader"], password),
        agency=load_pkcs12(p12["agency"], password),
        leader_look=Appearance(
            role="leader",
            image=str(signature_png(images / "chu-ky.png")),
            name="Nguyễn Văn An",
            position="CHỦ TỊCH",
        ),
        agency_look=Appearance(role="agency", image=str(seal_png(images / "con-dau.png"))),
        tsa_url=tsa_url,
        level=level,
        trust=[trust],
    )


def _signed_document(number: str) -> bytes:
    """A Decree 30 decision numbered `number`, signed by the leader, then sealed."""
    from signing.sign import sign_pdf
    from tests.rules.documents import PdfSpec, make_pdf

    s = _signers
    pdf = make_pdf(PdfSpec(number_line=f"Số: {number}/QĐ-UBND"))
    kw = dict(level=s["level"], tsa_url=s["tsa_url"], trust=s["trust"])
    pdf = sign_pdf(pdf, s["leader"], appearance=s["leader_look"], **kw)
    return sign_pdf(pdf, s["agency"], appearance=s["agency_look"], **kw)


def package(number: str, pdf: bytes, recipients: list[str]) -> bytes:
    """The edXML envelope a sender's system would wrap that decision in."""
    from formats.edxml import build_document
    from formats.model import DocumentType
    from tests.factories import make_attachment, make_document
    from tests.rules.documents import PdfSpec

    pkg = make_document(
        sender=SENDER,
        recipients=recipients,
        number=number,
        notation="QĐ-UBND",
        subject=PdfSpec.subject,
        promulgation_date=PROMULGATED,
        attachments=[make_attachment(f"{number}-QD-UBND.pdf", pdf)],
    )
    pkg = replace(
        pkg, document_type=DocumentType(type="2", type_detail="0", type_name="Quyết định")
    )
    return build_document(pkg)


def signed_packages(pki, n: int, level: str, first: int = 10) -> list[tuple[str, bytes, bytes]]:
    """`n` distinct signed documents as (sender, package, signed PDF), made on every core."""
    from tests.signing.pki import P12_PASSWORD

    numbers = [str(first + i) for i in range(n)]
    init = (
        {k: str(v) for k, v in pki.p12.items()},
        P12_PASSWORD,
        pki.tsa_url,
        level,
        str(pki.trust_root),
    )
    ctx = multiprocessing.get_context("spawn")  # the PKI's server threads run in this process
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=os.cpu_count() or 1, mp_context=ctx, initializer=_init_signer, initargs=init
    ) as pool:
        pdfs = list(pool.map(_signed_document, numbers, chunksize=8))
    return _wrap(numbers, pdfs)


def signed_packages_inline(n: int, first: int = 10) -> list[tuple[str, bytes, bytes]]:
    """As `signed_packages`, in this process, once `_init_signer` ran here."""
    numbers = [str(first + i) for i in range(n)]
    return _wrap(numbers, [_signed_document(number) for number in numbers])


def _wrap(numbers: list[str], pdfs: list[bytes]) -> list[tuple[str, bytes, bytes]]:
    out = []
    for i, (number, pdf) in enumerate(zip(numbers, pdfs, strict=True)):
        recipients = [RECIPIENTS[(i + k) % len(RECIPIENTS)] for k in range(3)]
        out.append((SENDER, package(number, pdf, recipients), pdf))
    return out


def tampered(pdf: bytes) -> bytes:
    """One byte of signed content changed: inside the first content stream the first
    signature's ByteRange covers, so the file still parses and only the digest is wrong."""
    at = pdf.index(b"stream\n", pdf.index(b"/Length")) + len(b"stream\n") + 16
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]


# -- checks on what the hub did ---------------------------------------------------------------


def _report_problems(report: dict) -> str | None:
    """None when the main document's report has both signatures TOTAL_PASSED."""
    docs = report.get("signatures", {}).get("documents", [])
    if len(docs) != 1:
        return f"{len(docs)} documents in the report"
    sigs = [s for s in docs[0]["signatures"] if s["kind"] == "signature"]
    verdicts = [s["indication"] for s in sigs]
    if verdicts != ["TOTAL_PASSED", "TOTAL_PASSED"]:
        return f"signatures {verdicts}"
    return None


def _after_real(tamper_body: bytes):
    async def after(url: str, keys: dict[str, str], receipts: list[dict]) -> dict:
        headers = {"Authorization": f"Bearer {keys[SENDER]}"}
        bad: list[str] = []
        async with HttpConnection(url) as conn:
            for r in receipts:
                got = await conn.request("GET", f"/v1/messages/{r['id']}/report", headers=headers)
                problem = (
                    f"GET report: {got.status_code}"
                    if got.status_code != 200
                    else _report_problems(got.json())
                )
                if problem:
                    bad.append(f"{r['id']}: {problem}")
            refused = await conn.request(
                "POST",
                "/v1/messages",
                content=tamper_body,
                headers={**headers, "Content-Type": "application/xml"},
            )
        codes = (
            {f["code"] for f in refused.json().get("findings", []) if f["severity"] == "error"}
            if refused.status_code == 422
            else set()
        )
        return {
            "validated": f"{len(receipts) - len(bad)}/{len(receipts)} TOTAL_PASSED x2",
            "problems": bad[:5],
            "tampered": f"{refused.status_code} {' '.join(sorted(codes & {'SIG_HASH_FAILURE'}))}"
            if "SIG_HASH_FAILURE" in codes
            else f"{refused.status_code} {sorted(codes)}",
            "ok": not bad and refused.status_code == 422 and "SIG_HASH_FAILURE" in codes,
        }

    return after


# -- the sitting --------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def _sitting(args, pki) -> int:
    common = dict(
        workers=args.workers,
        concurrency=args.concurrency,
        poll=args.poll,
        warmup=args.warmup,
    )
    # (tag, checkout served): with --before, an earlier checkout's hub first, then this one's
    versions = [("before", Path(args.before)), ("", ROOT)] if args.before else [("", ROOT)]
    runs, ok = [], True
    total = args.warmup + args.packages
    real = None
    if args.only in (None, "real"):
        t0 = time.perf_counter()
        docs = signed_packages(pki, total + 1, args.level)
        print(
            f"signed {total + 1} documents twice ({args.level}) in {time.perf_counter() - t0:.0f} s"
        )
        *docs, spare = docs
        bad = package(str(10 + total), tampered(spare[2]), RECIPIENTS[:3])
        real = ([(s, body) for s, body, _ in docs], bad)
    for tag, root in versions:
        suffix = f" ({tag})" if tag else ""
        if args.only in (None, "unsigned"):
            with FreshPostgres(args.postgres) as db:
                load = _load()
                run = await hub_throughput.measure(
                    "unsigned, policy off, rules off" + suffix,
                    hub_throughput._packages(total),
                    env=hub_throughput.UNSIGNED_ENV,
                    agencies=hub_throughput.SENDERS + RECIPIENTS,
                    database_url=db,
                    server_root=root,
                    **common,
                )
                run.extra.update(load=f"{load} -> {_load()}", version=tag)
                runs.append(run)
                ok &= run.durable == "yes" and run.accepted == args.packages
        if real is not None:
            env = {
                "AXIS_SIGNATURE_POLICY": "strict",
                "AXIS_RULES": "",
                "AXIS_TRUST_ROOTS": str(pki.trust_root),
                "AXIS_REVOCATION_POLICY": "soft-fail",
                "AXIS_REVOCATION_FETCH": "true" if args.fetch == "on" else "false",
            }
            with FreshPostgres(args.postgres) as db:
                load = _load()
                run = await hub_throughput.measure(
                    f"real: 2 signatures {args.level}, strict, rules on, fetch {args.fetch}"
                    + suffix,
                    real[0],
                    env=env,
                    agencies=[SENDER, *RECIPIENTS],
                    database_url=db,
                    after=_after_real(real[1]),
                    server_root=root,
                    **common,
                )
                run.extra.update(load=f"{load} -> {_load()}", version=tag)
                runs.append(run)
                ok &= run.durable == "yes" and run.accepted == args.packages and run.extra["ok"]
    _print(runs, args)
    return 0 if ok else 1


def _print(runs, args) -> None:
    where = "PostgreSQL" if args.postgres else "SQLite"
    print()
    print(
        f"{where}, {args.packages} packages (+{args.warmup} warm-up), concurrency "
        f"{args.concurrency}, {args.workers} API processes"
    )
    print(
        "| workload | accepted/s | p50 ms | p99 ms | server CPU ms/doc | healthz/s "
        "| statuses | durable | load avg (1 5 15) before -> after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r.label} | {r.rate:.1f} | {r.p50:.0f} | {r.p99:.0f} | {r.server_cpu_ms:.1f} "
            f"| {r.baseline:.0f} | {r.statuses} | {r.durable} | {r.extra.get('load', '')} |"
        )
    for r in runs:
        if r.extra["refusals"]:
            counts: dict[str, int] = {}
            for x in r.extra["refusals"]:
                counts[x] = counts.get(x, 0) + 1
            print(f"refused in {r.label} (warm-up {r.extra['warmup_statuses']}): {counts}")
        if "validated" in r.extra:
            print(
                f"reports read back{r.label[r.label.find(' (') :] if '(' in r.label else ''}: "
                f"{r.extra['validated']}"
            )
            for p in r.extra["problems"]:
                print(f"  NOT VALIDATED {p}")
            print(f"tampered document: {r.extra['tampered']}")
    for tag in dict.fromkeys(r.extra["version"] for r in runs):
        pair = [r for r in runs if r.extra["version"] == tag]
        if len(pair) == 2:
            unsigned, real = pair
            name = f" ({tag})" if tag else ""
            print(
                f"ratio real : unsigned{name} = {real.rate / unsigned.rate:.2f} (target >= 0.7); "
                f"CPU per document real : unsigned = "
                f"{real.server_cpu_ms / unsigned.server_cpu_ms:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50, help="packages sent first, not measured")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=default_workers(), help="API processes")
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--level", choices=["B-T", "B-LT"], default="B-T")
    parser.add_argument(
        "--fetch", choices=["on", "off"], default="on", help="AXIS_REVOCATION_FETCH of the hub"
    )
    parser.add_argument("--only", choices=["real", "unsigned"], default=None)
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="also serve the hub of another checkout (e.g. `git worktree add` of an earlier "
        "commit) in the same sitting, each workload before this checkout's",
    )
    add_postgres_argument(parser)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from tests.signing.pki import start_pki

    with tempfile.TemporaryDirectory(prefix="axis-bench-pki-") as tmp:
        pki = start_pki(Path(tmp))
        try:
            code = asyncio.run(_sitting(args, pki))
        finally:
            pki.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
