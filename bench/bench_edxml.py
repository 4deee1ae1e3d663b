"""How fast formats.edxml reads and writes a realistic package (one ~100 KB PDF, 3 recipients).

Run: `python -m bench.bench_edxml [--seconds 1.0]`. Absolute times drift on a shared machine,
so each figure is also given as a ratio to a baseline measured in the same run: the least any
reader must do, `lxml.etree.fromstring` of the same bytes plus `base64.b64decode` of the
attachment text plus its SHA-256.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from formats import edxml  # noqa: E402
from formats.edxml import build_document, build_status, parse  # noqa: E402
from tests.factories import (  # noqa: E402
    make_attachment,
    make_document,
    make_status,
    minimal_pdf,
)


def _best_per_call(fn: Callable[[], object], seconds: float) -> float:
    """Best mean seconds per call over a few rounds (the least disturbed by other processes)."""
    fn()  # warm up
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        n = 0
        start = time.perf_counter()
        while n < 20:
            fn()
            n += 1
        best = min(best, (time.perf_counter() - start) / n)
    return best


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--seconds", type=float, default=1.0, help="time spent on each row")
    args.add_argument("--size", type=int, default=100_000, help="PDF attachment size in bytes")
    opts = args.parse_args(argv)

    pdf = minimal_pdf(size=opts.size)
    pkg = make_document(
        recipients=["000.00.00.G06", "000.00.00.H26", "000.00.00.H29"],
        attachments=[("QD-15-UBND.pdf", pdf, "application/pdf")],
    )
    data = build_document(pkg)
    wrapped = base64.encodebytes(pdf).decode()  # 76-character lines, as many senders write
    data_wrapped = data.replace(base64.b64encode(pdf), wrapped.encode())
    zipped_pkg = make_document(attachments=[make_attachment("QD.pdf", pdf, was_zipped=True)])
    data_zipped = build_document(zipped_pkg)
    header_only = build_document(make_document(attachments=[], references=[]))
    status = build_status(make_status())
    for sample in (data, data_wrapped, data_zipped, header_only, status):
        assert parse(sample).ok, parse(sample).findings

    def baseline() -> None:
        root = etree.fromstring(data)
        text = root[-1][0][-1].text  # AttachmentEncoded/Attachment/ContentTransferEncoded
        hashlib.sha256(base64.b64decode(text)).hexdigest()

    rows = [
        ("baseline: fromstring + b64decode + sha256", baseline),
        ("parse document (base64 one line)", lambda: parse(data)),
        ("parse document (base64 76-char lines)", lambda: parse(data_wrapped)),
        ("parse document (PDF zipped by the sender)", lambda: parse(data_zipped)),
        ("parse header only (no attachment)", lambda: parse(header_only)),
        ("build document", lambda: build_document(pkg)),
        ("parse status", lambda: parse(status)),
    ]
    backend = edxml.BASE64_BACKEND
    print(
        f"package {len(data)} bytes, PDF {len(pdf)} bytes, base64 via {backend}, "
        f"best of ~{opts.seconds:.1f} s each"
    )
    print(f"{'operation':<46} {'µs/call':>10} {'calls/s':>10} {'× baseline':>11}")
    base = None
    for name, fn in rows:
        t = _best_per_call(fn, opts.seconds)
        base = base or t
        print(f"{name:<46} {t * 1e6:>10.1f} {1 / t:>10.0f} {t / base:>11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
