"""formats.pdf_guard: bounded walks over untrusted page trees, in both PDF libraries the hub
uses, and through each entry point that opens a PDF (rules' text, validation)."""

from __future__ import annotations

import io
import time

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from formats.pdf_guard import CODE, PdfStructureError, page_size, page_tree
from formats.rules import extract_pdf_text
from signing.validate import TrustConfig, ValidationConfig, validate_pdf
from tests.factories import minimal_pdf
from tests.hardening.hostile import HOSTILE_PDFS


def _pages_pypdf(data: bytes):
    return PdfReader(io.BytesIO(data), strict=False).trailer["/Root"].raw_get("/Pages")


def _pages_pyhanko(data: bytes):
    return PdfFileReader(io.BytesIO(data), strict=False).root.raw_get("/Pages")


@pytest.mark.parametrize("opener", [_pages_pypdf, _pages_pyhanko])
@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_hostile_page_trees_are_refused_quickly(opener, name):
    started = time.perf_counter()
    with pytest.raises(PdfStructureError) as err:
        page_tree(opener(HOSTILE_PDFS[name]()))
    assert err.value.code == CODE
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("opener", [_pages_pypdf, _pages_pyhanko])
def test_a_real_page_tree_is_walked_in_order_with_inherited_sizes(opener):
    data = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])
    pages = page_tree(opener(data))
    assert len(pages) == 1
    width, height = page_size(pages[0])
    assert (round(width), round(height)) == (595, 842)


def test_limits_are_parameters():
    with pytest.raises(PdfStructureError, match="deeper"):
        page_tree(_pages_pyhanko(HOSTILE_PDFS["deep"]()), max_depth=10)
    assert len(page_tree(_pages_pyhanko(HOSTILE_PDFS["deep"]()), max_depth=300)) == 1


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_rules_text_and_validation_answer_with_the_code(name):
    data = HOSTILE_PDFS[name]()
    started = time.perf_counter()
    text = extract_pdf_text(data)
    assert text.error.startswith(CODE), text.error
    report = validate_pdf(data, ValidationConfig(trust=TrustConfig(()), time_limit=None))
    assert [f.code for f in report.findings] == [CODE]
    assert time.perf_counter() - started < 5


@pytest.fixture
def checking_hub(tmp_path):
    """A hub that opens every PDF it receives: signatures strict, the default rules."""
    from tests.support.live import LiveHub

    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_SIGNATURE_POLICY": "strict",
        "AXIS_REVOCATION_FETCH": "false",
    }
    with LiveHub.start(env) as hub:
        yield hub


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_a_package_carrying_a_hostile_pdf_is_refused_in_time(checking_hub, name):
    import httpx

    from tests.hub.conftest import document

    key = checking_hub.add_agency("000.00.00.G22")
    checking_hub.add_agency("000.00.00.G06")
    body = document(
        recipients=["000.00.00.G06"],
        attachments=[("QD-15-UBND.pdf", HOSTILE_PDFS[name](), "application/pdf")],
    )
    started = time.perf_counter()
    with httpx.Client(base_url=checking_hub.url, timeout=10) as c:
        r = c.post(
            "/v1/messages",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"},
        )
    assert time.perf_counter() - started < 8
    assert r.status_code == 422, r.text
    codes = {f["code"] for f in r.json()["findings"]}
    assert CODE in codes, codes
