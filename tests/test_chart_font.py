"""/stats charts are labelled in Chinese on a machine with no CJK font of its own.

The font comes with the project's dependencies (``noto-cjk-sans-otc``), not
from the operating system: this test machine has none installed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from handlers import reports
from store.models import SYSTEM
from store.org import example_org
from store.services import Services


def test_the_bundled_font_is_found_and_draws_chinese() -> None:
    from noto_cjk_sans_otc import FONT_PATH

    font = reports._cjk_font()
    assert font in ("Noto Sans CJK SC", "Noto Sans CJK JP"), font
    entries = [e for e in font_manager.fontManager.ttflist if e.name == font]
    assert entries, font
    system = [e for e in entries if e.fname != str(FONT_PATH)]
    if not system:  # as on a fresh machine: the font is the one the project installed
        assert {e.fname for e in entries} == {str(FONT_PATH)}
    face = FT2Font(entries[0].fname, face_index=getattr(entries[0], "index", 0))
    assert all(face.get_char_index(ord(ch)) for ch in "信访事项受理率按期办结满意度")


async def test_the_chart_has_chinese_labels_without_missing_glyphs(tmp_path: Path) -> None:
    store = await Services.open(tmp_path / "chart.db", example_org())
    try:
        report = await store.indicators.indicators(SYSTEM, None, "2026-11")
    finally:
        await store.close()
    assert reports._cjk_font() is not None  # so the labels are Chinese, not the English fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" when it cannot draw one
        png = reports.chart_png(report, "zh")
    assert png.startswith(b"\x89PNG")
