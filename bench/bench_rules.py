"""What the Decree 30 rules cost per package, against the edXML parse of the same package.

Run: `python -m bench.bench_rules [--seconds 1.0] [--pages 3]`. The package is a realistic
Quyết định: a 3-page PDF with an embedded Unicode font (Vietnamese text layer), 3 recipients.
Absolute times drift on a shared machine, so every row is also a ratio to `formats.edxml.parse`
of the same bytes, measured in the same run. The rejected ways to read the text (pypdf's own
extractor, poppler's pdftotext in a subprocess) are timed too, for the record.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from formats.edxml import build_document, parse  # noqa: E402
from formats.rules import (  # noqa: E402
    CertAgencyMap,
    RuleContext,
    RulePolicy,
    SignerFacts,
    check_package,
    extract_pdf_text,
    main_pdf,
)
from tests.factories import AGENCIES, organization  # noqa: E402
from tests.rules.documents import HISTORY, PdfSpec, good_package, make_pdf  # noqa: E402


def _best_per_call(fn: Callable[[], object], seconds: float) -> float:
    """Best mean seconds per call over rounds of 10 (the least disturbed by other processes)."""
    fn()
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        start = time.perf_counter()
        for _ in range(10):
            fn()
        best = min(best, (time.perf_counter() - start) / 10)
    return best


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--seconds", type=float, default=1.0, help="time spent on each row")
    args.add_argument("--pages", type=int, default=3, help="pages of the PDF")
    opts = args.parse_args(argv)

    pkg = good_package(make_pdf(PdfSpec(pages=opts.pages)))
    pkg.recipients.append(organization("000.00.00.H29"))
    data = build_document(pkg)
    parsed = parse(data).package
    assert parsed is not None
    pdf = main_pdf(parsed).data
    directory = set(AGENCIES)
    ctx = RuleContext(
        now=datetime.now(UTC),
        known_agency=directory.__contains__,
        lookup_document=HISTORY.get,
        cert_agency=CertAgencyMap({"CN=Ủy ban nhân dân thành phố Hà Nội": "000.00.00.H26"}),
    )
    signers = [
        SignerFacts(common_name="Nguyễn Văn An", organization="UBND thành phố Hà Nội"),
        SignerFacts(common_name="Ủy ban nhân dân thành phố Hà Nội"),
    ]
    policy = RulePolicy()
    text = extract_pdf_text(pdf)
    findings = check_package(parsed, pdf_texts=text, signers=signers, ctx=ctx, policy=policy)

    def rules_and_text() -> None:
        t = extract_pdf_text(main_pdf(parsed).data)
        check_package(parsed, pdf_texts=t, signers=signers, ctx=ctx, policy=policy)

    def pypdf_text() -> None:
        from pypdf import PdfReader

        pages = PdfReader(io.BytesIO(pdf)).pages
        pages[0].extract_text()
        pages[len(pages) - 1].extract_text()

    rows: list[tuple[str, Callable[[], object]]] = [
        ("edxml.parse (baseline)", lambda: parse(data)),
        ("extract_pdf_text (first+last page)", lambda: extract_pdf_text(pdf)),
        ("check_package (rules only)", lambda: check_package(
            parsed, pdf_texts=text, signers=signers, ctx=ctx, policy=policy)),
        ("rules + text extraction", rules_and_text),
        ("  for comparison: pypdf extract_text", pypdf_text),
    ]  # fmt: skip
    if shutil.which("pdftotext"):
        rows.append(
            (
                "  for comparison: pdftotext x2 (subprocess)",
                lambda: [
                    subprocess.run(
                        ["pdftotext", "-f", str(p), "-l", str(p), "-", "-"],
                        input=pdf,
                        capture_output=True,
                        check=False,
                    )
                    for p in (1, opts.pages)
                ],
            )
        )
    print(
        f"package {len(data) / 1024:.0f} KB, PDF {len(pdf) / 1024:.0f} KB, {opts.pages} pages, "
        f"{len(findings)} findings on the good package"
    )
    print(f"{'step':46} {'ms/package':>11} {'x parse':>8}")
    base = None
    for name, fn in rows:
        seconds = _best_per_call(fn, opts.seconds)
        base = base or seconds
        print(f"{name:46} {seconds * 1000:11.3f} {seconds / base:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
