"""Embedding TrueType fonts in stamps with correct metrics, and choosing a Vietnamese font.

pyHanko's GlyphAccumulator writes glyph widths (/W) and positions in the font's own units;
PDF glyph space is 1/1000 em. For fonts with 1000 units per em that is the same thing, but
Liberation Serif has 2048, so viewers would spread the letters apart. The accumulator below
asks HarfBuzz for positions at 1000 units per em and scales widths and descriptor metrics.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import tempfile
import threading
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

# Times New Roman is what Decree 30 asks for; Liberation Serif has its metrics. Liberation 2.x
# has the Vietnamese letters (1.07 lacks Ủ, Ễ, Ự...); DejaVu Serif is a last resort.
SERIF_CANDIDATES = (
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
)
VIETNAMESE_PROBE = "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸđĐơưạảấầẩẫậắằẳẵặ"


def _covers(path: str, text: str) -> bool:
    from fontTools.ttLib import TTFont

    try:
        cmap = TTFont(path, lazy=True).getBestCmap()
    except Exception:
        return False
    return all(ord(ch) in cmap for ch in text)


@functools.cache
def default_serif_font(bold: bool = False) -> str:
    """The first installed serif font that renders Vietnamese (bold: its bold face)."""
    candidates = [
        p.replace("-Regular.ttf", "-Bold.ttf").replace("Serif.ttf", "Serif-Bold.ttf") if bold else p
        for p in SERIF_CANDIDATES
    ]
    for path in candidates:
        if os.path.exists(path) and _covers(path, VIETNAMESE_PROBE):
            return path
    for path in candidates:
        if os.path.exists(path):
            return path
    raise FileNotFoundError("no serif TrueType font found (install fonts-liberation2)")


# What stamps write: Latin, Vietnamese, combining marks, punctuation, digits.
STAMP_UNICODES = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x300, 0x370),
    *range(0x1EA0, 0x1F00),
    *range(0x2010, 0x2050),
]
_reduced: dict[str, str] = {}
_reduced_lock = threading.Lock()


def stamp_font(path: str) -> str:
    """A reduced copy of ``path`` holding only what stamps write, made once per process.

    pyHanko subsets the font again for every signature it writes, and with a full font
    fontTools spends most of that time decoding layout tables; from the reduced copy (same
    glyphs, same metrics, no hinting) each signature's subset is several times cheaper."""
    with _reduced_lock:
        hit = _reduced.get(path)
        if hit is not None and os.path.exists(hit):
            return hit
        from fontTools import subset

        opts = subset.Options()
        opts.hinting = False
        opts.layout_features = ["kern", "mark", "mkmk", "ccmp"]
        opts.notdef_outline = True
        font = subset.load_font(path, opts)
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=STAMP_UNICODES)
        sub.subset(font)
        fd, out = tempfile.mkstemp(prefix="axis-stamp-font-", suffix=".ttf")
        with os.fdopen(fd, "wb") as f:
            font.save(f)
        _reduced[path] = out
        atexit.register(_remove, out)
        return out


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class ScaledGlyphAccumulator(GlyphAccumulator):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._font_upem = self.units_per_em
        if self._font_upem != 1000:
            self.hb_font.scale = (1000, 1000)
            self.units_per_em = 1000

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        hit = self._glyphs.get(glyph_id)
        if hit is not None:
            return hit
        cid, width = super()._get_cid_and_width(glyph_id)
        result = (cid, round(width * 1000 / self._font_upem))
        self._glyphs[glyph_id] = result
        return result

    def prepare_write(self) -> None:
        super().prepare_write()
        if self._font_upem == 1000:
            return
        desc = self.cidfont_obj.get("/FontDescriptor")
        if desc is None:
            return
        desc = desc.get_object()
        k = 1000 / self._font_upem
        for key in ("/Ascent", "/Descent", "/CapHeight", "/XHeight"):
            if key in desc:
                desc[generic.NameObject(key)] = generic.NumberObject(round(float(desc[key]) * k))
        if "/FontBBox" in desc:
            desc[generic.NameObject("/FontBBox")] = generic.ArrayObject(
                generic.NumberObject(round(float(v) * k)) for v in desc["/FontBBox"]
            )


@dataclass(frozen=True)
class ScaledGlyphAccumulatorFactory(GlyphAccumulatorFactory):
    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        fh = open(self.font_file, "rb")  # noqa: SIM115 -- the accumulator owns the handle
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return ScaledGlyphAccumulator(
            writer=writer,
            font_handle=fh,
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
        )
