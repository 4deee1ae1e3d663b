"""Sample inputs for signing tests: small PDFs and PNG images, generated (nothing downloaded)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter


def make_pdf(
    pages: int = 1, text: str = "CONG VAN so 15/QD-UBND", user_password: str | None = None
) -> bytes:
    """An A4 PDF with a line of text per page (Helvetica, ASCII: the content is not the point)."""
    w = PdfFileWriter()
    font = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Font"),
                generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
            }
        )
    )
    for i in range(pages):
        stream = generic.StreamObject(
            stream_data=f"BT /F1 14 Tf 85 760 Td ({text} - trang {i + 1}) Tj ET".encode()
        )
        resources = generic.DictionaryObject(
            {
                generic.NameObject("/Font"): generic.DictionaryObject(
                    {generic.NameObject("/F1"): font}
                )
            }
        )
        page = PageObject(
            contents=w.add_object(stream), media_box=(0, 0, 595, 842), resources=resources
        )
        w.insert_page(page)
    if user_password is not None:
        w.encrypt("owner-" + user_password, user_password)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def signature_png(path: Path) -> Path:
    """A blue scribble on a transparent background, like a leader's scanned signature."""
    img = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.line(
        [(20, 90), (60, 30), (100, 95), (150, 25), (200, 90), (280, 40)],
        fill=(20, 40, 200, 255),
        width=6,
    )
    img.save(path)
    return path


def seal_png(path: Path) -> Path:
    """A red round seal on a transparent background."""
    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse([5, 5, 195, 195], outline=(220, 0, 0, 255), width=8)
    d.ellipse([35, 35, 165, 165], outline=(220, 0, 0, 255), width=4)
    d.regular_polygon((100, 100, 30), 5, fill=(220, 0, 0, 255))
    img.save(path)
    return path
