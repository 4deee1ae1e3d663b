"""Hostile inputs built by hand, byte by byte: what an attacker (or a broken tool) sends."""

from __future__ import annotations


def pdf(objects: dict[int, bytes], root: int = 1) -> bytes:
    """A PDF of these numbered objects with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + objects[n] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for n in range(1, size):
        out += b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)
    return bytes(out)


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"


def cyclic_page_tree() -> bytes:
    """Two /Pages nodes, each the other's only kid, claiming five pages."""
    return pdf(
        {
            1: _CATALOG,
            2: b"<< /Type /Pages /Kids [3 0 R] /Count 5 >>",
            3: b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 5 >>",
        }
    )


def self_kid_page_tree() -> bytes:
    """A /Pages node that lists itself among its kids, beside one real page."""
    return pdf({1: _CATALOG, 2: b"<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 3 >>", 4: _PAGE})


def deep_page_tree(depth: int = 200) -> bytes:
    """A chain of /Pages nodes `depth` deep above one page (no loop, just absurd)."""
    objects = {1: _CATALOG}
    for i in range(depth):
        n = 2 + i
        objects[n] = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (n + 1)
    objects[2 + depth] = _PAGE
    return pdf(objects)


def shared_page_tree() -> bytes:
    """One page object listed twice: a DAG, not a tree (a page with two parents)."""
    return pdf({1: _CATALOG, 2: b"<< /Type /Pages /Kids [4 0 R 4 0 R] /Count 2 >>", 4: _PAGE})


HOSTILE_PDFS = {
    "cyclic": cyclic_page_tree,
    "self-kid": self_kid_page_tree,
    "deep": deep_page_tree,
    "shared-page": shared_page_tree,
}
