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
