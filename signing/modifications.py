"""What changed in a PDF after a signature, judged as independent validators do.

pyHanko's difference analysis (``pyhanko.sign.diff_analysis``) explains every object written
after the signed revision by a whitelist of rules. Its default policy is stricter than real
life: it refuses object freeing, any change to an existing /VRI entry of the DSS, and objects
reached from non-standard trailer keys. Signing tools do all three in legitimate LTV and
housekeeping updates (Vietnamese signing tools free objects; the EU DSS library rewrites VRI
entries; LibreOffice keeps its hybrid ODF stream in the trailer). ``DIFF_POLICY`` is pyHanko's
standard policy with three more rules, each approving only what cannot change what is shown:

- ``LtvDssRule`` (replaces ``DSSCompareRule``): the DSS checked as strictly as pyHanko does, but a
  VRI entry may be rewritten or dropped (VRI is a cache of validation data, never displayed);
- ``UnreachableFreedRule``: a freed object is approved only when nothing in the new revision
  still refers to it (else it resolves to null and the page would change: left unexplained);
- ``TrailerExtrasRule``: a use through a trailer key other than /Root, /Info, /Encrypt is
  cleared (path by path: any other use of the same object must still be explained);
- ``NewOrphansRule`` (replaces pyHanko's orphan handling, which fails on a trailer that refers
  ahead to an object a later revision defines): new objects the document does not reach.

When pyHanko still cannot explain an update (or fails on the file), ``visible_change`` compares
what a reader shows: the page list, each page's content, resources and geometry, and its
annotations. A difference there is a modification; none means "cannot decide"
(INDETERMINATE), not a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
from pyhanko.sign.diff_analysis import (
    DiffResult,
    ModificationLevel,
    StandardDiffPolicy,
    SuspiciousModification,
)
from pyhanko.sign.diff_analysis.commons import compare_key_refs
from pyhanko.sign.diff_analysis.constants import VRI_KEY_PATTERN
from pyhanko.sign.diff_analysis.form_rules_api import FormUpdatingRule
from pyhanko.sign.diff_analysis.rules.file_structure_rules import (
    CatalogModificationRule,
    ObjectStreamRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.rules.form_field_rules import (
    GenericFieldModificationRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    _validate_dss_substructure,
)
from pyhanko.sign.diff_analysis.rules.metadata_rules import DocInfoRule, MetadataUpdateRule
from pyhanko.sign.diff_analysis.rules_api import (
    Context,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    WhitelistRule,
)

from formats import pdf_guard

log = logging.getLogger(__name__)

_DSS_STREAM_KEYS = {"/Certs", "/CRLs", "/OCSPs"}
_VRI_STREAM_KEYS = {"/Cert", "/CRL", "/OCSP"}
_TRAILER_DOCUMENT_KEYS = {"/Root", "/Info", "/Encrypt"}


class AnalysisFailed(SuspiciousModification):
    """pyHanko's analysis raised on this file (a broken or unusual structure): undecided."""


class LtvDssRule(WhitelistRule):
    """The document security store may grow, lose entries, and have its VRI entries rewritten.

    Structure is checked like pyHanko's ``DSSCompareRule``: only the known keys, arrays of
    streams, every new object reached from the DSS accounted to the DSS path."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        dss_ctx = Context.from_absolute(old, RawPdfPath("/Root", "/DSS"))
        old_dss, new_dss = yield from misc.map_with_return(
            compare_key_refs("/DSS", old, old.root, new.root),
            ReferenceUpdate.curry_ref(context_checked=dss_ctx),
        )
        if new_dss is None:
            return
        if old_dss is None:
            old_dss = generic.DictionaryObject()
        if not isinstance(new_dss, generic.DictionaryObject):
            raise SuspiciousModification("/DSS is not a dictionary")
        unexpected = set(new_dss.keys()) - (_DSS_STREAM_KEYS | {"/Type", "/VRI"})
        if unexpected:
            raise SuspiciousModification(f"Unexpected keys in DSS: {unexpected}.")
        yield from _validate_dss_substructure(
            old, new, old_dss, new_dss, _DSS_STREAM_KEYS, is_vri=False, context=dss_ctx
        )
        vri_path = RawPdfPath("/Root", "/DSS", "/VRI")
        old_vri, new_vri = yield from misc.map_with_return(
            compare_key_refs("/VRI", old, old_dss, new_dss),
            ReferenceUpdate.curry_ref(context_checked=Context.from_absolute(old, vri_path)),
        )
        if new_vri is None:
            return
        if not isinstance(new_vri, generic.DictionaryObject):
            raise SuspiciousModification("/VRI is not a dictionary")
        if not isinstance(old_vri, generic.DictionaryObject):
            old_vri = generic.DictionaryObject()
        for key in new_vri:
            value = new_vri.raw_get(key)
            if key in old_vri and old_vri.raw_get(key) == value and not _rewritten(old, new, value):
                continue  # unchanged entry
            if not VRI_KEY_PATTERN.match(key):
                raise SuspiciousModification(f"VRI key {key} is not formatted correctly.")
            ctx = Context.from_absolute(old, RawPdfPath("/Root", "/DSS", "/VRI", key))
            if isinstance(value, generic.IndirectObject):
                ref = value.reference
                # a new object, or one rewritten in place: approved on the VRI path only
                yield ReferenceUpdate(ref, context_checked=ctx)
                value = value.get_object()
            if isinstance(value, generic.StreamObject) or not isinstance(
                value, generic.DictionaryObject
            ):
                raise SuspiciousModification("VRI entries should be dictionaries")
            unexpected = set(value.keys()) - (_VRI_STREAM_KEYS | {"/Type", "/TU", "/TS"})
            if unexpected:
                raise SuspiciousModification(f"Unexpected keys in VRI dictionary: {unexpected}.")
            yield from _validate_dss_substructure(
                old,
                new,
                generic.DictionaryObject(),
                value,
                _VRI_STREAM_KEYS,
                is_vri=True,
                context=ctx,
            )
            ts = value.raw_get("/TS") if "/TS" in value else None
            if isinstance(ts, generic.IndirectObject) and old.is_ref_unassignable(ts.reference):
                yield ReferenceUpdate(ts.reference, context_checked=ctx.descend("/TS"))


def _rewritten(old: HistoricalResolver, new: HistoricalResolver, value) -> bool:
    """An indirect value whose object was written again after the old revision."""
    if not isinstance(value, generic.IndirectObject):
        return False
    return new.reader.xrefs.get_last_change(value.reference) > old.revision


class UnreachableFreedRule(QualifiedWhitelistRule):
    """Freeing an object nothing refers to any more is housekeeping (LTA_UPDATES level)."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        freed = new.refs_freed_in_revision()
        if not freed:
            return
        reachable = _reachable_ids(new)
        for ref in freed:
            if ref.idnum not in reachable:
                # blanket: its uses in the signed revision went away with objects that other
                # rules must explain themselves
                yield ModificationLevel.LTA_UPDATES, ReferenceUpdate(ref)


class NewOrphansRule(QualifiedWhitelistRule):
    """New objects the document does not reach (from /Root, /Info, /Encrypt) are cleared at
    LTA_UPDATES level, like pyHanko's ``ignore_orphaned_objects``, whose walk fails on a
    trailer that refers to an object a later revision defines (LibreOffice does that)."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        previous = new.reader.get_historical_resolver(new.revision - 1)
        fresh = [r for r in new.explicit_refs_in_revision() if previous.is_ref_unassignable(r)]
        if not fresh:
            return
        reachable = _reachable_ids(new)
        for ref in fresh:
            if ref.idnum not in reachable:
                yield ModificationLevel.LTA_UPDATES, ReferenceUpdate(ref)


def _reachable_ids(res: HistoricalResolver) -> set[int]:
    """Object numbers the document reaches in a revision (from /Root, /Info, /Encrypt;
    freed and dangling ones included). Cached on the reader, per revision."""
    cache = res.reader.__dict__.setdefault("_axis_reachable", {})
    hit = cache.get(res.revision)
    if hit is None:
        hit = cache[res.revision] = _walk_reachable(res)
    return hit


def _walk_reachable(res: HistoricalResolver) -> set[int]:
    seen: set[int] = set()
    trailer = res.trailer_view
    stack: list = [trailer.raw_get(k) for k in _TRAILER_DOCUMENT_KEYS if k in trailer]
    resolve = _structure_resolver(res)
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            if obj.idnum in seen:
                continue
            seen.add(obj.idnum)
            try:
                obj = resolve(obj.reference)
            except Exception:
                continue
        if isinstance(obj, generic.DictionaryObject):  # streams too
            stack.extend(obj.raw_get(k) for k in obj)
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj.raw_get(i) for i in range(len(obj)))
    return seen


def _structure_resolver(res: HistoricalResolver):
    """Resolve a reference as ``res`` does, for reading the object graph only: an object not
    changed after the revision is the reader's own parsed object, not the copy a historical
    resolver makes of it (re-pointing each reference to itself: most of the walk's cost).
    Same dictionaries and arrays, same numbers; other objects go through ``res``."""
    reader = res.reader
    if reader.encrypted:
        return res  # values are decrypted through the resolver
    xrefs, revision, cache = reader.xrefs, res.revision, res.cache

    def resolve(ref: generic.Reference):
        hit = cache.get(ref)
        if hit is not None:
            return hit
        try:
            last_change = xrefs.get_last_change(ref)
        except KeyError:
            last_change = None
        if last_change is None or last_change > revision:
            return res(ref)
        return reader.get_object(ref, transparent_decrypt=False)

    return resolve


class TrailerExtrasRule(QualifiedWhitelistRule):
    """Uses of an object from trailer keys no reader displays (LibreOffice's
    /AdditionalStreams, /DocChecksum...) are cleared; other uses still need a rule."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        extras = set(old.trailer_view.keys()) - _TRAILER_DOCUMENT_KEYS
        extras -= {"/Size", "/Prev", "/ID", "/XRefStm", "/Type", "/Index", "/W", "/Filter"}
        if not extras:
            return
        old._load_reverse_xref_cache()
        for ref in new.explicit_refs_in_revision():
            for path in old._get_usages_of_ref(ref):
                if path.path and path.path[0] in extras:
                    yield (
                        ModificationLevel.LTA_UPDATES,
                        ReferenceUpdate(ref, context_checked=Context.from_absolute(old, path)),
                    )


class AxisDiffPolicy(StandardDiffPolicy):
    """pyHanko's standard policy; an exception inside the analysis becomes ``AnalysisFailed``
    (a finding to report as undecided) instead of escaping validation."""

    def review_file(self, reader, base_revision, field_mdp_spec=None, doc_mdp=None):
        try:
            return super().review_file(reader, base_revision, field_mdp_spec, doc_mdp)
        except SuspiciousModification as exc:
            return exc
        except Exception as exc:  # KeyError on dangling references and the like
            log.info("difference analysis failed", exc_info=exc)
            return AnalysisFailed(f"the difference analysis failed: {type(exc).__name__}: {exc}")


DIFF_POLICY = AxisDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        DocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        LtvDssRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
        UnreachableFreedRule(),
        TrailerExtrasRule(),
        NewOrphansRule(),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(),
            SigFieldModificationRule(),
            GenericFieldModificationRule(),
        ],
    ),
    reject_object_freeing=False,
    ignore_orphaned_objects=False,  # NewOrphansRule does it
)


# -- what a reader shows ---------------------------------------------------------------------

_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_PAGE_SKIP = {"/Parent", "/Annots", "/StructParents", "/Tabs"}
# annotation flags: Hidden (2) and NoView (32) keep an annotation off the screen
_INVISIBLE_FLAGS = 2 | 32


def visible_change(
    reader: PdfFileReader, signed_revision: int, until_revision: int | None = None
) -> str | None:
    """How what a reader shows differs between the signed revision and a later one (the
    file's last by default), or None when the pages, their content, resources and geometry,
    and their visible annotations (other than signature fields) are the same. Objects are
    compared by value, not by number, so an identical copy at a new number is no change, while
    anything reached from a page that was rewritten, or a dangling reference defined later, is.
    Raises on a structure it cannot walk (the caller reports that as undecided)."""
    found = _difference(reader, signed_revision, until_revision)
    return found[0] if found else None


def countersigned_annotations(
    reader: PdfFileReader, signed_revision: int, later_signatures: Iterable[int]
) -> tuple[str, int] | None:
    """(what was added, the later signature's revision) when every visible change since
    `signed_revision` is an annotation added before a later signature signed the file and
    nothing shown changed after it; else None.

    This is how Vietnamese offices issue a document: the leader signs, then the clerk stamps
    the number and date (often as an annotation) and the agency's seal signature covers that
    revision. The seal vouches for what was added; a change no later signature covers still
    fails."""
    for later in sorted(r for r in later_signatures if r > signed_revision):
        if _difference(reader, later, None) is not None:
            continue  # something shown changed after that signature too
        found = _difference(reader, signed_revision, later)
        if found is not None and found[1]:
            return found[0], later
        return None
    return None


def _difference(
    reader: PdfFileReader, signed_revision: int, until_revision: int | None
) -> tuple[str, bool] | None:
    """(the first visible difference, whether every difference is an added annotation)."""
    old = reader.get_historical_resolver(signed_revision)
    last = reader.xrefs.total_revisions - 1 if until_revision is None else until_revision
    new = reader.get_historical_resolver(last)
    old_pages, new_pages = _page_refs(old), _page_refs(new)
    if len(old_pages) != len(new_pages):
        return f"the page count changed from {len(old_pages)} to {len(new_pages)}", False
    cmp = _Compare(old, new)
    first_added: str | None = None
    for n, (old_ref, new_ref) in enumerate(zip(old_pages, new_pages, strict=True), start=1):
        old_page, new_page = old(old_ref), new(new_ref)
        for key in set(old_page.keys()) | set(new_page.keys()):
            if key in _PAGE_SKIP or key in _INHERITED:
                continue
            if not cmp.same(_raw(old_page, key), _raw(new_page, key)):
                return f"page {n}: {key} changed", False
        for key in _INHERITED:
            if not cmp.same(_inherited(old_page, key), _inherited(new_page, key)):
                return f"page {n}: {key} changed", False
        change = _annotation_change(cmp, old_page, new_page)
        if change is not None:
            reason, added = change
            if not added:
                return f"page {n}: {reason}", False
            first_added = first_added or f"page {n}: {reason}"
    return (first_added, True) if first_added else None


def _page_refs(res: HistoricalResolver) -> list[generic.Reference]:
    pages = pdf_guard.page_tree(res.root.raw_get("/Pages"))  # refuses a looping tree
    if any(p.ref is None for p in pages):
        raise ValueError("a page is not an indirect object")
    return [p.ref.reference for p in pages]


def _raw(d: generic.DictionaryObject, key: str):
    return d.raw_get(key) if key in d else None


def _get(d, key: str):
    """A dictionary value, resolved (``DictionaryObject.get`` leaves references as they are)."""
    if not isinstance(d, generic.DictionaryObject) or key not in d:
        return None
    v = d.raw_get(key)
    return v.get_object() if isinstance(v, generic.IndirectObject) else v


def _inherited(page: generic.DictionaryObject, key: str):
    node, depth = page, 0
    while node is not None and depth < 64:
        if key in node:
            return node.raw_get(key)
        parent = _get(node, "/Parent")
        node = parent if isinstance(parent, generic.DictionaryObject) else None
        depth += 1
    return None


_BACK_LINKS = frozenset({"/Parent", "/P", "/Pg", "/StructParent", "/StructParents"})


class _Compare:
    """Value comparison of an object graph in two revisions (cycles and shared objects
    compared once; back links up the tree not followed)."""

    def __init__(self, old: HistoricalResolver, new: HistoricalResolver) -> None:
        self.old, self.new = old, new
        self.done: set[tuple] = set()

    def same(self, a, b) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return self._eq(a, b, 0)

    def _eq(self, a, b, depth: int) -> bool:
        if depth > 200:
            raise ValueError("object graph too deep")
        if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
            key = (
                a.reference if isinstance(a, generic.IndirectObject) else id(a),
                b.reference if isinstance(b, generic.IndirectObject) else id(b),
            )
            if key in self.done:
                return True
            self.done.add(key)
            if isinstance(a, generic.IndirectObject):
                a = self.old(a.reference)  # unreadable when signed: raise, undecided
            if isinstance(b, generic.IndirectObject):
                try:
                    b = self.new(b.reference)
                except Exception:
                    return False  # readable when signed, broken now: what is shown changed
        streams = isinstance(a, generic.StreamObject), isinstance(b, generic.StreamObject)
        if any(streams) and not (all(streams) and a.encoded_data == b.encoded_data):
            return False
        if isinstance(a, generic.DictionaryObject):
            if not isinstance(b, generic.DictionaryObject):
                return False
            skip = _BACK_LINKS | {"/Length"}  # a stream's length: its data is compared
            keys = set(a.keys()) - skip
            if keys != set(b.keys()) - skip:
                return False
            return all(self._eq(a.raw_get(k), b.raw_get(k), depth + 1) for k in keys)
        if isinstance(a, generic.ArrayObject):
            return (
                isinstance(b, generic.ArrayObject)
                and len(a) == len(b)
                and all(self._eq(a.raw_get(i), b.raw_get(i), depth + 1) for i in range(len(a)))
            )
        if isinstance(a, generic.TextStringObject | generic.ByteStringObject):
            return (
                isinstance(b, generic.TextStringObject | generic.ByteStringObject)
                and a.original_bytes == b.original_bytes
            )
        if isinstance(a, generic.NumberObject | generic.FloatObject):
            return isinstance(b, generic.NumberObject | generic.FloatObject) and (
                float(a) == float(b)
            )
        return type(a) is type(b) and a == b


def _annots(page: generic.DictionaryObject) -> list:
    arr = _get(page, "/Annots")
    if arr is None:
        return []
    if not isinstance(arr, generic.ArrayObject):
        raise ValueError("/Annots is not an array")
    return [arr.raw_get(i) for i in range(len(arr))]


def _annotation_change(cmp: _Compare, old_page, new_page) -> tuple[str, bool] | None:
    """(what changed, whether it is only visible annotations added), or None."""
    old_annots = {
        a.reference: a for a in _annots(old_page) if isinstance(a, generic.IndirectObject)
    }
    new_annots = {
        a.reference: a for a in _annots(new_page) if isinstance(a, generic.IndirectObject)
    }
    for ref in old_annots:
        if ref not in new_annots and _visible(cmp.old(ref)):
            return "a visible annotation was removed", False
    added = None
    for ref, ind in new_annots.items():
        annot = cmp.new(ref)
        if _is_signature_widget(annot) or not _visible(annot):
            continue
        what = f"a visible {str(_get(annot, '/Subtype') or '/Annot').lstrip('/')} annotation"
        if ref not in old_annots:
            added = added or f"{what} was added"
        elif not cmp.same(old_annots[ref], ind):
            return f"{what} was changed", False
    return (added, True) if added else None


def _is_signature_widget(annot) -> bool:
    node, depth = annot, 0
    while isinstance(node, generic.DictionaryObject) and depth < 32:
        if _get(node, "/FT") == "/Sig":
            return True
        node, depth = _get(node, "/Parent"), depth + 1
    return False


def _visible(annot) -> bool:
    if not isinstance(annot, generic.DictionaryObject):
        return False
    try:
        if int(_get(annot, "/F") or 0) & _INVISIBLE_FLAGS:
            return False
        x1, y1, x2, y2 = (float(v.get_object()) for v in _get(annot, "/Rect"))
    except (TypeError, ValueError):
        return True  # no usable /Rect or flags: assume it shows
    return abs(x2 - x1) * abs(y2 - y1) > 0


def explain(result) -> tuple[str, str]:
    """(kind, text) for a SuspiciousModification: 'failed' when pyHanko itself failed."""
    kind = "failed" if isinstance(result, AnalysisFailed) else "unexplained"
    return kind, str(result).split("\n", 1)[0][:300]


__all__ = [
    "DIFF_POLICY",
    "AnalysisFailed",
    "AxisDiffPolicy",
    "DiffResult",
    "LtvDssRule",
    "NewOrphansRule",
    "TrailerExtrasRule",
    "UnreachableFreedRule",
    "countersigned_annotations",
    "explain",
    "visible_change",
]
