"""Bounded walks over the page tree of an untrusted PDF.

A page tree is a graph in the file, not a tree: a /Kids entry naming an ancestor (or the node
itself) sent a naive walk round forever, holding a thread and a core per request (issue 16).
Every part of the hub that needs the pages (signing, validation, the rules' text extraction)
walks them here first, once, with a set of the nodes seen and limits on depth and count, and
refuses a tree that breaks them with PdfStructureError (code PDF_PAGE_TREE_INVALID).

Duck-typed over the two PDF libraries the hub uses (pyHanko and pypdf): both give indirect
references with ``idnum``/``generation``/``get_object()`` and dictionaries with ``raw_get``;
pyHanko's arrays dereference on access, so their raw items are read with ``raw_get`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64  # real trees are balanced, a few levels deep even for thousands of pages
MAX_NODES = 100_000  # pages and intermediate nodes together
CODE = "PDF_PAGE_TREE_INVALID"


class PdfStructureError(ValueError):
    """The PDF's structure cannot be walked safely; ``code`` is a stable finding code."""

    def __init__(self, message: str, code: str = CODE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Page:
    node: Any  # the page dictionary
    ref: Any  # the indirect reference to it (None when written inline)
    media_box: Any  # the page's /MediaBox, inherited from its ancestors when absent


def _deref(obj: Any) -> Any:
    get = getattr(obj, "get_object", None)
    return get() if get is not None else obj


def _raw(container: Any, key: Any) -> Any:
    raw_get = getattr(container, "raw_get", None)
    return raw_get(key) if raw_get is not None else container[key]


def _items(array: Any) -> list[Any]:
    if hasattr(array, "raw_get"):
        return [array.raw_get(i) for i in range(len(array))]
    return list(array)


def _key(ref: Any, node: Any) -> tuple:
    idnum = getattr(ref, "idnum", None)
    if idnum is not None:
        return ("ref", idnum, getattr(ref, "generation", 0))
    return ("inline", id(node))


def page_tree(pages: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> list[Page]:
    """The pages under ``pages`` (the catalog's raw /Pages value), in document order.

    Raises PdfStructureError if the tree loops (a node reached twice), is deeper than
    ``max_depth``, holds more than ``max_nodes`` nodes, or a node is not a dictionary."""
    seen: set[tuple] = set()
    out: list[Page] = []
    # an explicit stack, not recursion: depth is bounded by the limit, not the interpreter
    stack: list[tuple[Any, int, Any]] = [(pages, 0, None)]
    while stack:
        ref, depth, inherited = stack.pop()
        try:
            node = _deref(ref)
        except Exception as exc:  # a dangling or unreadable reference
            raise PdfStructureError(f"the page tree names an unreadable object: {exc}") from exc
        if not hasattr(node, "keys"):
            raise PdfStructureError("a node of the page tree is not a dictionary")
        key = _key(ref, node)
        if key in seen:
            raise PdfStructureError("the page tree loops: a node is its own ancestor or kid")
        seen.add(key)
        if len(seen) > max_nodes:
            raise PdfStructureError(f"the page tree has more than {max_nodes} nodes")
        box = _raw(node, "/MediaBox") if "/MediaBox" in node else inherited
        if "/Kids" not in node:
            out.append(Page(node, ref if getattr(ref, "idnum", None) is not None else None, box))
            continue
        if depth >= max_depth:
            raise PdfStructureError(f"the page tree is deeper than {max_depth} levels")
        kids = _deref(_raw(node, "/Kids"))
        if not isinstance(kids, list):
            raise PdfStructureError("/Kids of a page tree node is not an array")
        if len(seen) + len(stack) + len(kids) > max_nodes:
            raise PdfStructureError(f"the page tree has more than {max_nodes} nodes")
        # reversed onto the stack, so the pages come off it in document order
        stack.extend((kid, depth + 1, box) for kid in reversed(_items(kids)))
    return out


def page_size(page: Page, default: tuple[float, float] = (595.0, 842.0)) -> tuple[float, float]:
    """Width and height in points from the page's (possibly inherited) /MediaBox."""
    box = _deref(page.media_box)
    try:
        x0, y0, x1, y1 = (float(_deref(v)) for v in _items(box))
    except (TypeError, ValueError):
        return default
    return abs(x1 - x0), abs(y1 - y0)
