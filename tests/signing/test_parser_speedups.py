"""pyHanko's PDF tokenizer, sped up (signing/_speedups.py, 5.), must read exactly as pyHanko's.

Each replaced function is run beside pyHanko's own on the same bytes from every start offset
(names, escapes, comments, whitespace runs longer than the read chunk, the end of the stream):
same result or same exception, stream left at the same place. Then every object of every
revision of the real-world corpus is read with and without the speed-ups: same objects.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import _speedups

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "pdfs"

# the characters that decide where tokens end, plus escapes, comments and non-ASCII bytes
ALPHABET = b" \n\r\t\f\x00()<>[]{}/%#AZaz09.-+\x80\xc3\xa9\xff"
SAMPLES = [
    b"/Type /Page/Parent 3 0 R>>",
    b"/A#20B /C#2 /D#zz /\xc3\xa9t\xc3\xa9 /\xff/ /",
    b"   %a comment\n  /Name",
    b" " * 200 + b"/Far",
    b"\n" * 64 + b"%x\r\n" + b"\t" * 70 + b"<<",
    b"/" + b"N" * 150 + b" ",
    b"/" + b"N" * 128,
    b"",
    b"   ",
    b"% only a comment",
]


def _random_samples(n: int) -> list[bytes]:
    rnd = random.Random(17)
    out = []
    for _ in range(n):
        size = rnd.choice((3, 20, 70, 150))
        out.append(bytes(rnd.choice(ALPHABET) for _ in range(size)))
    return out


def _outcome(fn, data: bytes, start: int, *args, **kwargs):
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        result = fn(stream, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the exception is part of the behaviour compared
        result = ("raised", type(exc).__name__)
    return result, type(result).__name__, stream.tell()


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("read_until_delimiter", {}),
        ("read_non_whitespace", {}),
        ("read_non_whitespace", {"seek_back": True}),
        ("read_non_whitespace", {"allow_eof": True}),
        ("read_non_whitespace", {"seek_back": True, "allow_eof": True}),
    ],
)
def test_tokenizer_reads_as_pyhanko_does(name, kwargs):
    fast = getattr(_speedups, name)
    orig = getattr(_speedups, f"_orig_{name}")
    compared = 0
    for data in SAMPLES + _random_samples(400):
        for start in range(len(data) + 1):
            assert _outcome(fast, data, start, **kwargs) == _outcome(orig, data, start, **kwargs), (
                data,
                start,
            )
            compared += 1
    assert compared > 20000


def test_names_decode_as_pyhanko_does():
    cases = [s for data in SAMPLES + _random_samples(400) for s in data.split(b"/")]
    cases += [b"", b"Type", b"A#20B", b"#", b"A#2", b"\xc3\xa9", b"\xff", b"a b"]
    for raw in cases:
        try:
            want = _speedups._orig_decode_name(raw)
        except Exception as exc:  # noqa: BLE001
            want = type(exc).__name__
        try:
            got = _speedups._decode_name(raw)
        except Exception as exc:  # noqa: BLE001
            got = type(exc).__name__
        assert (got, type(got)) == (want, type(want)), raw


def test_pdfdocencoding_decodes_as_pyhanko_does():
    rnd = random.Random(30)
    cases = [bytes(range(256)), bytes(range(24, 127)), b"", b"abc\x7f", "Số: 12".encode()]
    cases += [
        bytes(rnd.randrange(24, 256) for _ in range(rnd.randrange(1, 80))) for _ in range(500)
    ]
    kinds = set()
    for raw in cases:
        try:
            want = _speedups._orig_decode_pdfdoc(raw)
        except UnicodeDecodeError as exc:
            want = ("raised", exc.args)
        try:
            got = _speedups.decode_pdfdocencoding(raw)
        except UnicodeDecodeError as exc:
            got = ("raised", exc.args)
        assert got == want, raw
        kinds.add(type(want))
    assert kinds == {str, tuple}  # both decoded text and refused bytes were compared


def _dump(obj, depth: int = 0):
    """A comparable form of a parsed object (references by number, not followed)."""
    if depth > 50:
        return "..."
    if isinstance(obj, generic.IndirectObject):
        return ("ref", obj.idnum, obj.generation)
    if isinstance(obj, generic.StreamObject):
        return (
            "stream",
            sorted((k, _dump(obj.raw_get(k), depth + 1)) for k in obj),
            obj.encoded_data,
        )
    if isinstance(obj, generic.DictionaryObject):
        return ("dict", sorted((k, _dump(obj.raw_get(k), depth + 1)) for k in obj))
    if isinstance(obj, generic.ArrayObject):
        return ("array", [_dump(obj.raw_get(i), depth + 1) for i in range(len(obj))])
    if isinstance(obj, generic.TextStringObject | generic.ByteStringObject):
        return (type(obj).__name__, obj.original_bytes)
    if isinstance(obj, generic.NullObject):
        return ("null",)
    return (type(obj).__name__, repr(obj))


def _read_all(data: bytes) -> list:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    out = [_dump(reader.trailer.flatten())]
    for rev in range(reader.xrefs.total_revisions):
        for ref in sorted(reader.xrefs.explicit_refs_in_revision(rev), key=lambda r: r.idnum):
            try:
                out.append((rev, ref.idnum, _dump(reader.get_object(ref, revision=rev))))
            except Exception as exc:  # noqa: BLE001 - a broken object must break the same way
                out.append((rev, ref.idnum, type(exc).__name__))
    return out


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_corpus_reads_the_same_with_and_without_the_speedups(path):
    data = path.read_bytes()
    fast = _read_all(data)
    _speedups.uninstall()
    try:
        plain = _read_all(data)
    finally:
        _speedups.install()
    assert fast == plain
    assert len(fast) > 5


def _reachable_through_resolver(res) -> set[int]:
    """The walk of modifications._walk_reachable as it was, every object read through the
    historical resolver (its copies)."""
    seen: set[int] = set()
    trailer = res.trailer_view
    stack = [trailer.raw_get(k) for k in ("/Root", "/Info", "/Encrypt") if k in trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            try:
                obj = res(obj.reference)
            except Exception:  # noqa: BLE001
                continue
        if isinstance(obj, generic.DictionaryObject):
            stack.extend(obj.raw_get(k) for k in obj)
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj.raw_get(i) for i in range(len(obj)))
    return seen


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_reachable_objects_are_those_the_historical_resolver_reaches(path):
    """The freed-object rule's walk reads the reader's objects instead of the resolver's
    copies: the same objects reached in every revision."""
    from signing import modifications

    reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
    walked = 0
    for rev in range(reader.xrefs.total_revisions):
        fresh = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
        want = _reachable_through_resolver(fresh.get_historical_resolver(rev))
        got = modifications._walk_reachable(reader.get_historical_resolver(rev))
        assert got == want, rev
        walked += len(got)
    assert walked > 5


def test_ess_signing_certificate_answers_as_pyhanko_does():
    """The remembered ESSCertID check (signing/_speedups.py, 6.) answers as pyHanko's for a
    signature's own certificate and for every other certificate of the corpus, twice."""
    from pyhanko.sign.validation.generic_cms import get_signing_cert_attr

    pairs, certs = [], []
    for path in sorted(CORPUS.glob("*.pdf")):
        try:
            reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
            embedded = reader.embedded_signatures
        except Exception:  # noqa: BLE001 - a corpus file pyHanko cannot open has nothing here
            continue
        for es in embedded:
            try:
                attr = get_signing_cert_attr(es.signer_info["signed_attrs"])
                cert = es.signer_cert
            except Exception:  # noqa: BLE001
                continue
            certs.append(cert)
            if attr is not None:
                pairs.append(attr["certs"][0])
    answers = []
    for _ in range(2):  # the second round is answered from what the first remembered
        for certid in pairs:
            for cert in certs:
                want = _speedups._orig_check_ess(cert, certid)
                assert _speedups.check_ess_certid(cert, certid) == want
                answers.append(want)
    assert True in answers and False in answers
    assert len(pairs) >= 10


# -- whole objects (signing/_speedups.py, 7.) -------------------------------------------------


def _dump_with_containers(obj, depth: int = 0):
    """As `_dump`, with each value's type, `container_ref` and, for references, the handler."""

    def container(o):
        ref = getattr(o, "container_ref", None)
        if ref is None:
            return None
        return (type(ref).__name__, getattr(ref, "idnum", None), getattr(ref, "generation", None))

    if depth > 50:
        return "..."
    head = (type(obj).__name__, container(obj))
    if isinstance(obj, generic.IndirectObject):
        return (*head, obj.idnum, obj.generation, type(obj.reference.pdf).__name__)
    if isinstance(obj, generic.DictionaryObject):
        items = [(k, type(k).__name__, container(k)) for k in obj]  # keys in reading order
        values = [_dump_with_containers(obj.raw_get(k), depth + 1) for k in obj]
        data = obj.encoded_data if isinstance(obj, generic.StreamObject) else None
        return (*head, items, values, data)
    if isinstance(obj, generic.ArrayObject):
        return (*head, [_dump_with_containers(obj.raw_get(i), depth + 1) for i in range(len(obj))])
    if isinstance(obj, generic.TextStringObject | generic.ByteStringObject):
        return (*head, obj.original_bytes)
    if isinstance(obj, generic.NullObject):
        return head
    return (*head, repr(obj))


def _object_outcome(data: bytes, start: int, handler):
    stream = io.BytesIO(data)
    stream.seek(start)
    container = generic.Reference(7, 0, handler)
    try:
        result = _dump_with_containers(generic.read_object(stream, container))
    except Exception as exc:  # noqa: BLE001 - the exception is part of the behaviour compared
        result = ("raised", type(exc).__name__)
    return result, stream.tell()


def _both_ways(data: bytes, starts, handler) -> tuple[list, list]:
    assert generic.read_object is _speedups.read_object
    fast = [_object_outcome(data, s, handler) for s in starts]
    _speedups.uninstall()
    try:
        plain = [_object_outcome(data, s, handler) for s in starts]
    finally:
        _speedups.install()
    return fast, plain


def _object_starts(data: bytes) -> list[int]:
    """Where each indirect object's value begins (after `N G obj`)."""
    import re

    return [m.end() for m in re.finditer(rb"(?<![0-9])[0-9]+ [0-9]+ obj\s*", data)]


OBJECT_SAMPLES = [
    b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 595.28 841.89] /Rotate -90 >>",
    b"<</A 1/B+2/C-.5/D 1,5/E 3.0.1/F true/G false/H null/I(a\\)b)/J<41 42>/K[/L[1 2 R]]>>",
    b"<< /Length 5 >>\nstream\nhello\nendstream",
    b"<< /Length 9 >> stream\r\nhello\nendstream",  # a length too long by one
    b"<< /Length 3 >>\n% c\nstream\nabc\nendstream",
    b"<< /A 1 % comment\n /B 2 >>",
    b"<< /A 1 /A 2 >>",
    b"<< /A 1 >x",
    b"<< 1 2 >>",
    b"<< /A#20B 1 /\xc3\xa9 2 >>",
    b"[1 0 R 2 0 R 3 0 Rx 4 0 obj 0 0 R 1 -1 R 12345678901234567 0 R]",
    b"[1\x0b0 R 1 0\x0bR 1\x000 R 1 0\x00R 1 0\n\nR]",
    b"[ /a /b ] ",
    b"[(open",
    b"<<",
    b"[",
    b"tru",
    b"nul",
    b"12",
    b"1 0 R",
    b"<48656c6c6f>",
    b"<< /K << /L [ << /M 1 >> ] >> >>stream",
    b"<< /Length 4 0 R >>\nstream\nabcd\nendstream",
    b"%comment\n<< /A 1 >>",
    b"{1}",
    b"[0 [0 722 722.5 -667 ] 4 8 722 9 9 -.5 1.]",  # a font's widths: runs of numbers
    b"[1 2 3 4 5 6 7 8 9 10 11 12 0 R]",
    b"[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 0 R]",
    b"[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 0 R]",
    b"[1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 0 R]",
    b"[1 2 3-4 5,6 7..8 +9 10]",
    b"[1\x000\x00R 2\t0\tR 3]",
]


def _endless_comment(data: bytes) -> bool:
    """pyHanko's read_object loops for ever on a comment the data ends in (no end of line)."""
    at = data.rfind(b"%")
    return at >= 0 and b"\n" not in data[at:] and b"\r" not in data[at:]


def test_objects_read_as_pyhanko_does():
    """Every offset of hand-written and randomly mutated objects: the same objects (types,
    container references), the same exception, the stream left at the same place."""
    rnd = random.Random(7)
    corpus_objects = []
    for path in sorted(CORPUS.glob("*.pdf"))[:8]:
        data = path.read_bytes()
        for start in _object_starts(data)[:40]:
            corpus_objects.append(data[start : start + rnd.choice((40, 120, 400))])
    samples = OBJECT_SAMPLES + corpus_objects
    mutated = []
    for _ in range(1000):
        base = bytearray(rnd.choice(samples))
        for _ in range(rnd.randrange(1, 4)):
            at = rnd.randrange(len(base) + 1)
            op = rnd.randrange(3)
            if op == 0:
                base[at:at] = bytes([rnd.choice(ALPHABET + b"RtfnsE>]")])
            elif op == 1 and base:
                del base[at : at + 1]
            else:
                base[at:at] = rnd.choice([b" ", b"%x\n", b"0 R", b">>", b"]", b"<<", b"/N"])
        mutated.append(bytes(base))
    handler = PdfFileReader(io.BytesIO((CORPUS / "pades-bes.pdf").read_bytes()), strict=False)
    compared = raised = 0
    for data in samples + mutated:
        starts = [s for s in range(len(data) + 1) if not _endless_comment(data[s:])]
        fast, plain = _both_ways(data, starts, handler)
        for start, got, want in zip(starts, fast, plain, strict=True):
            assert got == want, (data, start)
            compared += 1
            raised += want[0][0] == "raised"
    assert compared > 50000 and 0 < raised < compared


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_corpus_objects_read_as_pyhanko_does(path):
    """Every indirect object of the corpus, read from its offset: the same object, container
    references included, the stream left at the same place."""
    data = path.read_bytes()
    handler = PdfFileReader(io.BytesIO(data), strict=False)
    starts = _object_starts(data)
    fast, plain = _both_ways(data, starts, handler)
    assert fast == plain
    assert len(starts) > 5


def test_common_objects_do_not_go_back_to_pyhanko(monkeypatch):
    """The fast path is taken for the usual objects (else the tests above compare pyHanko with
    itself): only the comment goes to pyHanko's reader."""
    deferred = []

    def counting(stream, *args):
        deferred.append(stream.tell())
        return _orig(stream, *args)

    _orig = _speedups._orig_read_object
    monkeypatch.setattr(_speedups, "_orig_read_object", counting)
    handler = PdfFileReader(io.BytesIO((CORPUS / "pades-bes.pdf").read_bytes()), strict=False)
    for data in [OBJECT_SAMPLES[0], OBJECT_SAMPLES[2], b"[1 0 R /N (s) <41> true null -1.5]"]:
        assert _object_outcome(data, 0, handler)[0][0] != "raised"
    assert deferred == []
    _object_outcome(b"<< /A 1 % comment\n /B 2 >>", 0, handler)
    assert deferred == [0]


def _dump_subsumed(obj, res, depth: int = 0):
    """A comparable form of a historical resolver's copy: every container reference and
    reference handler must be the resolver itself (or, for primitives, the reader's)."""

    def container(o):
        ref = getattr(o, "container_ref", None)
        if ref is None:
            return None
        pdf = getattr(ref, "pdf", None)
        return (type(ref).__name__, ref.idnum, ref.generation, pdf is res, type(pdf).__name__)

    if depth > 50:
        return "..."
    head = (type(obj).__name__, container(obj))
    if isinstance(obj, generic.IndirectObject):
        return (*head, obj.idnum, obj.generation, obj.reference.pdf is res)
    if isinstance(obj, generic.DictionaryObject):
        values = [(k, _dump_subsumed(obj.raw_get(k), res, depth + 1)) for k in obj]
        data = obj.encoded_data if isinstance(obj, generic.StreamObject) else None
        return (*head, values, data)
    if isinstance(obj, generic.ArrayObject):
        return (*head, [_dump_subsumed(obj.raw_get(i), res, depth + 1) for i in range(len(obj))])
    return (*head, _dump(obj))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_historical_copies_are_pyhankos(path):
    """HistoricalResolver._subsume_object sped up (signing/_speedups.py, 8.): the same copy of
    every object of every revision of the corpus."""
    reader = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False)
    compared = 0
    for rev in range(reader.xrefs.total_revisions):
        res = reader.get_historical_resolver(rev)
        for ref in reader.xrefs.explicit_refs_in_revision(rev):
            try:
                raw = reader.get_object(ref, revision=rev, transparent_decrypt=False)
            except Exception:  # noqa: BLE001 - unreadable: nothing to copy
                continue
            outcomes = []
            for subsume in (_speedups._subsume_object, _speedups._orig_subsume):
                try:
                    outcomes.append(_dump_subsumed(subsume(res, raw), res))
                except Exception as exc:  # noqa: BLE001 - the same failure, if any
                    outcomes.append(("raised", type(exc).__name__))
            assert outcomes[0] == outcomes[1], (rev, ref)
            compared += 1
    assert compared > 5


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_cross_reference_answers_are_pyhankos(path):
    """XRefCache look-ups remembered (signing/_speedups.py, 9.): the same answers, asked twice,
    for every object of the file and for numbers it does not use."""
    xrefs = PdfFileReader(io.BytesIO(path.read_bytes()), strict=False).xrefs
    refs = {r for rev in range(xrefs.total_revisions) for r in xrefs.explicit_refs_in_revision(rev)}
    top = max(r.idnum for r in refs)
    refs |= {generic.Reference(n, g) for n in (top + 1, top + 50) for g in (0, 1)}
    refs |= {generic.Reference(r.idnum, r.generation + 1) for r in list(refs)[:20]}

    def answer(fn, ref):
        try:
            return fn(xrefs, ref)
        except Exception as exc:  # noqa: BLE001 - the same failure
            return ("raised", type(exc).__name__)

    answers = set()
    for _ in range(2):
        for ref in refs:
            want = answer(_speedups._orig_get_last_change, ref)
            assert answer(_speedups.get_last_change, ref) == want, ref
            answers.add(type(want).__name__)
            assert answer(_speedups._xref_getitem, ref) == answer(_speedups._orig_xref_getitem, ref)
    assert answers == {"int", "tuple"}  # found and missing both compared
