"""Formal documents (书面告知) as PDF files, their outbox notices and ``/document``.

What a document says is the store's (``store.documents``); this module lays
it out on an A4 page: the organisation, the title, the case number, the
petitioner (or the case's code name), the text of the step (the catalog's
template, or the organisation file's ``[documents.zh]`` / ``[documents.en]``),
the dates, and a place for the seal with the organisation's name and date.

Chinese renders on a machine with no CJK font of its own: the font is
Noto Sans CJK SC from the ``noto-cjk-sans-otc`` package the project
installs. That file is a font collection with CFF outlines; fpdf2 embeds
such a font through a custom encoding CMap that some PDF readers cannot
read (pdfminer.six extracts no text from it). So each document takes a
font with only its own characters (fontTools), their outlines turned into
TrueType ones (cu2qu), and hands that to fpdf2, which
embeds it the common way (Identity-H, CIDFontType2). The file stays small
(tens of kilobytes). A glyph is converted once per process and kept (``TrueTypeGlyphs``),
and each document's font assembled from the kept ones: the first documents take a few
tenths of a second of CPU, in a worker thread, the next ones milliseconds.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler

from handlers.common import Context, Handler, deps, lang_of, send
from handlers.i18n import Html, catalog, language_for, t
from handlers.refusals import answers_refusals, unless_refused
from handlers.render import category_name, day, unit_name
from store.document_kinds import DocumentKind
from store.documents import Document, parse_kinds
from store.errors import NoDocument
from store.models import OutboxItem, ReviewOutcome
from store.notices import DocumentParams, params_of
from store.org import Destination, LocalizedText, Organization
from store.services import Services

#: The face of the collection that has simplified Chinese glyphs.
CJK_FACE = "Noto Sans CJK SC"
#: Put in place of a character the font cannot draw (an emoji in an opinion, say).
MISSING = "□"
#: A paragraph's first line is indented by two of these in Chinese.
INDENT = "\u3000"

# The words /document takes for each document (its name, or the office's Chinese word).
KIND_WORDS: dict[str, DocumentKind] = {
    **{kind.value: kind for kind in DocumentKind},
    "受理": DocumentKind.ACCEPTED, "受理告知书": DocumentKind.ACCEPTED,
    "不予受理": DocumentKind.DECLINED, "不予受理告知书": DocumentKind.DECLINED, "decline": DocumentKind.DECLINED,
    "延期": DocumentKind.EXTENDED, "延期告知书": DocumentKind.EXTENDED, "extension": DocumentKind.EXTENDED,
    "处理意见": DocumentKind.OPINION, "处理意见书": DocumentKind.OPINION, "信访处理意见书": DocumentKind.OPINION,
    "意见书": DocumentKind.OPINION,
    "复查": DocumentKind.REVIEW, "复查意见书": DocumentKind.REVIEW,
    "复核": DocumentKind.REREVIEW, "复核意见书": DocumentKind.REREVIEW, "re-review": DocumentKind.REREVIEW,
    "终结": DocumentKind.FINAL, "信访终结": DocumentKind.FINAL, "终结告知书": DocumentKind.FINAL,
}


# ------------------------------------------------------------------ font


@cache
def _face() -> tuple[str, int]:
    """The font collection installed with the project, and the index of its simplified Chinese face."""
    from fontTools.ttLib import TTCollection
    from noto_cjk_sans_otc import FONT_PATH

    path = str(FONT_PATH)
    collection = TTCollection(path, lazy=True)
    try:
        names = [font["name"].getDebugName(1) for font in collection.fonts]
    finally:
        collection.close()
    return path, names.index(CJK_FACE) if CJK_FACE in names else 0


@cache
def _covered() -> frozenset[int]:
    """Every character the face can draw."""
    from fontTools.ttLib import TTFont

    path, index = _face()
    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def drawable(text: str) -> str:
    """``text`` with what the font cannot draw replaced, and tabs and carriage returns as spaces."""
    covered = _covered()
    out = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "):
        out.append(char if char == "\n" or ord(char) in covered else MISSING)
    return "".join(out)


@dataclass(frozen=True)
class _Glyph:
    outline: Any  # a fontTools TrueType (quadratic) glyph, on its own (CFF outlines have no components)
    advance: int
    lsb: int


@dataclass(frozen=True)
class _Metrics:
    """What a font built from the face's glyphs keeps of the face: its size, and how high and low it reaches."""

    units_per_em: int
    hhea: dict[str, int]
    os2: dict[str, int]
    post: dict[str, float]


class TrueTypeGlyphs:
    """The face's glyphs as TrueType outlines, each converted once per process and kept.

    Converting a glyph (drawing its CFF outline through cu2qu) is the costly part of a document, and
    opening the face the costlier: the face stays open, each glyph is converted the first time a
    document has its character, and a document's font is assembled from kept glyphs (fontTools'
    FontBuilder), which takes milliseconds. Documents are made in worker
    threads: the lock keeps one conversion at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._glyphs: dict[str, _Glyph] = {}  # by character; ".notdef" by that name
        self._absent: set[str] = set()  # characters the face has no glyph for (asked once)
        self._metrics: _Metrics | None = None
        self._face: Any = None  # the face, opened on first use and kept open

    @property
    def kept(self) -> int:
        """Glyphs converted so far (the notdef one included)."""
        return len(self._glyphs)

    def font(self, text: str) -> bytes:
        """A .ttf file's bytes: the face with only the glyphs of ``text`` (and the one for what it cannot draw)."""
        from fontTools.fontBuilder import FontBuilder

        chars = sorted(set(text + " " + MISSING) - {"\n"})
        # Under the lock to the end: fontTools may compile a kept glyph in place while it writes the font.
        with self._lock:
            self._convert([c for c in chars if c not in self._glyphs and c not in self._absent])
            assert ".notdef" in self._glyphs
            glyphs = {".notdef": self._glyphs[".notdef"]}
            cmap: dict[int, str] = {}
            for char in chars:
                if char in self._glyphs:  # a character the face cannot draw has none (drawable() replaced it)
                    name = f"uni{ord(char):04X}"
                    glyphs[name], cmap[ord(char)] = self._glyphs[char], name
            metrics = self._metrics
            assert metrics is not None
            builder = FontBuilder(metrics.units_per_em, isTTF=True)
            builder.setupGlyphOrder(list(glyphs))
            builder.setupCharacterMap(cmap)
            builder.setupGlyf({name: glyph.outline for name, glyph in glyphs.items()})
            builder.setupHorizontalMetrics({name: (glyph.advance, glyph.lsb) for name, glyph in glyphs.items()})
            builder.setupHorizontalHeader(**metrics.hhea)
            builder.setupNameTable({"familyName": CJK_FACE, "styleName": "Regular"}, mac=False)
            builder.setupOS2(**metrics.os2)
            builder.setupPost(keepGlyphNames=False, **metrics.post)
            out = io.BytesIO()
            builder.save(out)
        return out.getvalue()

    def _convert(self, chars: list[str]) -> None:
        """Draw each of ``chars`` from the face as a TrueType outline and keep it (under the lock).

        The face stays open for the process, read lazily: its character map and metrics once, then
        only the outlines asked for (no subsetting of the whole collection's CFF table).
        """
        from fontTools.pens.cu2quPen import Cu2QuPen
        from fontTools.pens.ttGlyphPen import TTGlyphPen

        face = self._open()
        names, outlines, hmtx = face.getBestCmap(), face.getGlyphSet(), face["hmtx"]
        wanted = {char: names[ord(char)] for char in chars if ord(char) in names}
        self._absent.update(char for char in chars if char not in wanted)
        if ".notdef" not in self._glyphs:
            wanted[".notdef"] = ".notdef"
        for key, name in wanted.items():
            pen = TTGlyphPen(outlines)
            outlines[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyph = pen.glyph()
            glyph.recalcBounds(None)
            self._glyphs[key] = _Glyph(glyph, hmtx[name][0], getattr(glyph, "xMin", 0))

    def _open(self) -> Any:
        """The face (a lazily read TTFont), and its metrics read once."""
        if self._face is None:
            from fontTools.ttLib import TTFont

            path, index = _face()
            face = TTFont(path, fontNumber=index, lazy=True)
            hhea, os2, post = face["hhea"], face["OS/2"], face["post"]
            self._metrics = _Metrics(
                units_per_em=face["head"].unitsPerEm,
                hhea={"ascent": hhea.ascent, "descent": hhea.descent, "lineGap": hhea.lineGap},
                os2={name: getattr(os2, name) for name in (
                    "usWeightClass", "usWidthClass", "fsType", "sTypoAscender", "sTypoDescender",
                    "sTypoLineGap", "usWinAscent", "usWinDescent", "sxHeight", "sCapHeight")},
                post={"italicAngle": post.italicAngle, "underlinePosition": post.underlinePosition,
                      "underlineThickness": post.underlineThickness, "isFixedPitch": post.isFixedPitch},
            )
            self._face = face
        return self._face


_TRUETYPE = TrueTypeGlyphs()


def truetype_subset(text: str) -> bytes:
    """The face with only the glyphs of ``text``, its outlines made TrueType (quadratic): a .ttf file's bytes."""
    return _TRUETYPE.font(text)


# ---------------------------------------------------------------- layout


def _raw(lang: str, key: str) -> str:
    """A catalog text as written (documents are plain text: nothing is escaped for HTML)."""
    return catalog(lang).get(key) or catalog("zh")[key]


def _day(value: date | None, lang: str) -> str:
    if value is None:
        return ""
    return day(value, lang)  # the one formatter of dates people read (handlers/render.py)


def body_template(org: Organization, lang: str, kind: DocumentKind, doc: Document | None = None) -> str:
    """The text of a document: the organisation file's own, else the catalog's.

    A written opinion with its parts (Art. 32), a 复查 / 复核 opinion with its (Art. 35-36) and a decline
    with its grounds (Art. 21-22) need the sections: the organisation's text is used only if it names them
    ({facts}, {destination}), else the catalog's sectioned text, so no part the officer gave is lost;
    older ones keep the plain text.
    """
    own = org.documents.text(lang, kind.value)
    if doc is not None and kind is DocumentKind.OPINION and doc.parts is not None:
        return own if own and "{facts}" in own else _raw(lang, "opinion.doc_opinion")
    if doc is not None and kind in (DocumentKind.REVIEW, DocumentKind.REREVIEW) and doc.parts is not None:
        # A 复查 / 复核 opinion with its request, facts and basis (Art. 35-36); 责令重办 its own closing.
        if doc.decision is ReviewOutcome.REDO:
            return _raw(lang, f"review_form.doc_redo_{kind.value}")
        return own if own and "{facts}" in own else _raw(lang, f"review_form.doc_{kind.value}")
    if doc is not None and kind is DocumentKind.DECLINED and doc.reason is not None:
        return own if own and "{destination}" in own else _raw(lang, "opinion.doc_declined")
    return own or _raw(lang, f"document.body.{kind.value}")


def destination_text(destination: Destination | None, lang: str) -> str:
    """Where a declined petitioner should turn (诉访分离): the body's name, address and phone, as recorded."""
    return _destination(destination, lang, "opinion.doc_destination") if destination is not None else ""


def destination_line(destination: Destination, lang: str) -> str:
    """A destination in one line, for chat (plain text: the caller escapes it)."""
    return _destination(destination, lang, "opinion.destination_line")


def _destination(destination: Destination, lang: str, key: str) -> str:
    """A destination in the catalog's words under ``key`` (``key_phone`` when it has a phone)."""
    return _raw(lang, f"{key}_phone" if destination.phone else key).format(
        name=destination.name.get(lang), address=destination.address, phone=destination.phone or "")


def reason_text(reason: LocalizedText | None, lang: str) -> str:
    return reason.get(lang) if reason is not None else ""


@dataclass
class Page:
    """A document as the words on its page, in one language."""

    lang: str
    org: str
    title: str
    number_line: str
    salutation: str
    paragraphs: list[str]
    rows: list[tuple[str, str]]
    seal: str
    seal_hint: str
    seal_date: str
    footer: str  # on every page, with {page}: the case, the document and the page number
    doc_no: str = ""  # the 文号, under the title
    copy_mark: str = ""  # 电子告知件 (the petitioner's copy in chat) or the officer's copy to seal, top right

    def text(self) -> str:
        """Every character drawn (the font is cut to these)."""
        words = [self.org, self.title, self.number_line, self.salutation, *self.paragraphs,
                 *(f"{label}：{value}" for label, value in self.rows), self.seal, self.seal_hint, self.seal_date,
                 self.footer, self.doc_no, self.copy_mark]
        return "\n".join(words) + INDENT + "：:0123456789"


def petitioner_shown(doc: Document, lang: str) -> str:
    """The name on the document: the petitioner's, or the case's code name (保密件-7F3A)."""
    if doc.petitioner.name:
        return doc.petitioner.name
    return _raw(lang, "field.pseudonym").format(code=doc.petitioner.code or "")


def issuer_rows(doc: Document, org: Organization, lang: str) -> list[tuple[str, str]]:
    """Who handles the matter and how to reach them (Art. 23): the issuing unit, its contact, phone and address."""
    unit = org.find_unit(doc.issuer_unit)
    if unit is None:
        return []
    rows = [(_raw(lang, "document.handling_unit"), drawable(unit.issuer))]
    for key, value in (("contact", unit.contact), ("phone", unit.phone), ("address", unit.address)):
        if value:
            rows.append((_raw(lang, f"document.{key}"), drawable(value)))
    return rows


def issuer_name(doc: Document, org: Organization) -> str:
    """The name at the top and over the seal: the handling unit's formal name (the organisation's before it)."""
    unit = org.find_unit(doc.issuer_unit)
    if unit is None:
        return doc.org_name
    return unit.formal_name or f"{doc.org_name}{unit.name.get('zh')}"


def reviewer_text(doc: Document, org: Organization, lang: str) -> str:
    """The body the petitioner asks for the next review (复查 after the opinion, 复核 after the review opinion).

    The unit ``Organization.reviewing_unit`` names (``reviewed_by``, else the parent), with its address;
    above the top unit, ``[organization.review_body]`` with its address and phone (Art. 35-36).
    """
    level = {DocumentKind.OPINION: 1, DocumentKind.REVIEW: 2}.get(doc.kind)
    base = doc.issuer_unit if org.find_unit(doc.issuer_unit) else doc.unit
    if level is None or org.find_unit(base) is None:
        return ""
    reviewing = org.reviewing_unit(doc.unit, level)
    if reviewing is not None:
        unit = org.unit(reviewing)
        name = unit.formal_name or f"{doc.org_name}{unit.name.get('zh')}"
        return _raw(lang, "reviewer.unit").format(name=name, address=unit.address or "-") if unit.address else name
    body = org.organization.review_body
    if body is None:
        return _raw(lang, "reviewer.unnamed")
    return _raw(lang, "reviewer.body").format(name=body.name.get(lang), address=body.address, phone=body.phone or "-")


def page(doc: Document, org: Organization, lang: str, copy: str | None = None) -> Page:
    """The words of ``doc`` in ``lang``: the template filled with what the store recorded.

    ``copy``: ``"petitioner"`` marks the copy sent in chat 电子告知件, ``"officer"`` the one to print and seal.
    """
    values: dict[str, Any] = {
        "org": doc.org_name,
        "number": doc.number,
        "name": petitioner_shown(doc, lang),
        "subject": doc.subject,
        "unit": unit_name(org, doc.unit, lang),
        "category": category_name(org, doc.category, lang),
        "received": _day(doc.received, lang),
        "issued": _day(doc.issued, lang),
        "due": _day(doc.due, lang),
        "until": _raw(lang, "document.until").format(due=_day(doc.due, lang)) if doc.due is not None else "",
        "days": doc.days if doc.days is not None else "",
        "window": doc.window if doc.window is not None else "",
        "decision": _raw(lang, f"decision.{doc.decision.value}") if doc.decision else "",
        "text": (doc.text or "").strip(),
        "reviewer": reviewer_text(doc, org, lang),
        "approved": _raw(lang, "document.approved") if doc.approved else "",
        "request": doc.parts.request.strip() if doc.parts else "",
        "facts": doc.parts.facts.strip() if doc.parts else "",
        "basis": doc.parts.basis.strip() if doc.parts else "",
        "reason": reason_text(doc.reason, lang),
        "destination": destination_text(doc.destination, lang),
    }
    if doc.reason is not None and doc.reason_is_note:  # 其他: the note is the reason
        values.update(reason=values["text"], text="")
    values["reason"] = values["reason"].rstrip("。.；; ")  # the template ends the sentence
    if doc.reason is not None and doc.reason_is_note and not doc.destination:
        values["destination"] = _raw(lang, "opinion.doc_no_destination")
    redo = doc.decision is ReviewOutcome.REDO and doc.kind in (DocumentKind.REVIEW, DocumentKind.REREVIEW)
    try:
        # 责令重办: no right to contest this opinion, no finality; a new written opinion follows.
        template = _raw(lang, f"document.redo_{doc.kind.value}") if redo and doc.parts is None \
            else body_template(org, lang, doc.kind, doc)
        body = template.format_map(values)
    except (KeyError, ValueError, IndexError, AttributeError):  # checked at load; never lose the document
        body = _raw(lang, f"document.body.{doc.kind.value}").format_map(values)
    paragraphs = [drawable(line) for line in body.split("\n") if line.strip()]
    if doc.studied_by and doc.kind in (DocumentKind.REVIEW, DocumentKind.REREVIEW):
        # 集体研究: who studied the opinion, before the closing paragraph (the right to 复核, or finality).
        stage = _raw(lang, "review.stage_rereview" if doc.kind is DocumentKind.REREVIEW else "review.stage_review")
        study = _raw(lang, "hearing.study_document").format(
            stage=stage, names="、".join(doc.studied_by) if lang == "zh" else ", ".join(doc.studied_by),
            date=_day(doc.studied_on, lang))
        paragraphs.insert(max(len(paragraphs) - 1, 1), drawable(study))
    rows = [(_raw(lang, "document.received"), _day(doc.received, lang)),
            (_raw(lang, "document.issued"), _day(doc.issued, lang))]
    if doc.due is not None and f"document.due.{doc.kind.value}" in catalog(lang):
        rows.append((_raw(lang, f"document.due.{doc.kind.value}"), _day(doc.due, lang)))
    rows += issuer_rows(doc, org, lang)
    return Page(
        lang=lang,
        org=drawable(issuer_name(doc, org)),
        doc_no=doc.doc_no or "",
        copy_mark=_raw(lang, f"document.copy_{copy}") if copy in ("petitioner", "officer") else "",
        title=_raw(lang, f"document.title.{doc.kind.value}"),
        number_line=_raw(lang, "document.number_line").format(number=doc.number),
        salutation=drawable(_raw(lang, "document.salutation").format(name=values["name"])),
        paragraphs=paragraphs,
        rows=rows,
        seal=_raw(lang, "document.seal"),
        seal_hint=_raw(lang, "document.seal_hint"),
        seal_date=_day(doc.issued, lang),
        footer=_raw(lang, "document.footer").replace("{number}", doc.number).replace(
            "{title}", _raw(lang, f"document.title.{doc.kind.value}")),
    )


MARGIN = 25.0  # mm
LINE = 8.0
#: Documents made at once (the outbox serves several chats together): each holds the font's
#: outlines, some 50 MB, for a moment.
_AT_ONCE = threading.BoundedSemaphore(2)


def pdf_bytes(sheet: Page) -> bytes:
    """The page as a PDF (A4), with the font cut to its characters. Blocking: run it in a thread."""
    with _AT_ONCE:
        return _pdf_bytes(sheet)


def _pdf_bytes(sheet: Page) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    class Sheet(FPDF):
        def footer(self) -> None:  # every page: which case, which document, which page (printed, they come apart)
            self.set_y(-MARGIN + 8)
            self.set_font("cjk", size=8)
            self.set_text_color(120, 120, 120)
            self.cell(0, 5, sheet.footer.replace("{page}", str(self.page_no())), align="C")
            self.set_text_color(0, 0, 0)

    font_file = truetype_subset(sheet.text())
    pdf = Sheet(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"{sheet.title} {sheet.number_line}")
    pdf.set_creator("petition-bot")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    with tempfile.TemporaryDirectory(prefix="petition-doc-") as folder:
        path = Path(folder) / "font.ttf"
        path.write_bytes(font_file)
        pdf.add_font("cjk", "", str(path))
        wrap = WrapMode.CHAR if sheet.lang == "zh" else WrapMode.WORD
        indent = INDENT * 2 if sheet.lang == "zh" else ""
        pdf.add_page()
        if sheet.copy_mark:
            pdf.set_font("cjk", size=9)
            pdf.set_text_color(120, 120, 120)
            pdf.cell(0, 5, sheet.copy_mark, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
        pdf.set_font("cjk", size=14)
        pdf.multi_cell(0, LINE, sheet.org, align="C", wrapmode=wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        pdf.set_font("cjk", size=22)
        pdf.multi_cell(0, 13, sheet.title, align="C", wrapmode=wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if sheet.doc_no:
            pdf.set_font("cjk", size=12)
            pdf.cell(0, 8, sheet.doc_no, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 7, sheet.number_line, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)
        pdf.set_font("cjk", size=12)
        pdf.multi_cell(0, LINE, sheet.salutation, align="L", wrapmode=wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for paragraph in sheet.paragraphs:
            pdf.multi_cell(0, LINE, indent + paragraph, align="L", wrapmode=wrap,
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)
        pdf.set_font("cjk", size=11)
        for label, value in sheet.rows:
            pdf.cell(0, 7, f"{label}：{value}" if sheet.lang == "zh" else f"{label}: {value}",
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _seal(pdf, sheet)
        pdf.set_font("cjk", size=12)
        data = bytes(pdf.output())
    return data


def _seal(pdf: Any, sheet: Page) -> None:
    """The place for the seal: a dashed circle over the organisation's name and the date, bottom right."""
    from fpdf.enums import XPos, YPos

    height = 56.0
    if pdf.get_y() + height > pdf.h - MARGIN:
        pdf.add_page()
    top = pdf.get_y() + 10
    width = pdf.w - 2 * MARGIN
    radius = 21.0
    pdf.set_font("cjk", size=12)
    line = f"{sheet.org}{sheet.seal}"
    centre_x = pdf.w - MARGIN - min(pdf.get_string_width(line), width) / 2  # over the organisation's name
    centre_y = top + radius + 2
    pdf.set_draw_color(150, 150, 150)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.ellipse(centre_x - radius, centre_y - radius, 2 * radius, 2 * radius, style="D")
    pdf.set_dash_pattern()
    pdf.set_draw_color(0, 0, 0)
    pdf.set_text_color(150, 150, 150)
    pdf.set_font("cjk", size=9)
    pdf.set_xy(centre_x - radius, centre_y - radius + 4)
    pdf.cell(2 * radius, 5, sheet.seal_hint, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=12)
    pdf.set_xy(MARGIN, centre_y - 4)
    pdf.cell(width, 7, line, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(MARGIN)
    pdf.cell(width, 7, sheet.seal_date, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def file_name(doc: Document) -> str:
    """A plain ASCII name that names nobody: XF-2026-000123-accepted.pdf."""
    return f"{doc.number}-{doc.kind.value}.pdf"


async def render_pdf(doc: Document, org: Organization, lang: str | None = None, copy: str | None = None) -> bytes:
    """The document's PDF, in the petitioner's language unless ``lang`` is given; made in a worker thread."""
    return await asyncio.to_thread(pdf_bytes, page(doc, org, lang or language_for(doc.language), copy))


@dataclass
class Upload:
    """A file made by the bot, to send as a document."""

    file_name: str
    data: bytes


async def step_files(store: Services, case_id: int, event_id: int, kinds: list[DocumentKind]) -> list[Upload]:
    """The PDFs of one step (for a notice, or an officer's task to mail them)."""
    _, docs = await store.documents.for_event(case_id, event_id, kinds)
    return [Upload(file_name(doc), await render_pdf(doc, store.org)) for doc in docs]


def title(doc: Document | DocumentKind, lang: str) -> str:
    kind = doc.kind if isinstance(doc, Document) else doc
    return _raw(lang, f"document.title.{kind.value}")


# ---------------------------------------------------------------- notice


async def document_notice(item: OutboxItem, store: Services, lang: str) -> list[tuple[Html, Upload]]:
    """``document``: the step's PDFs, each as a file captioned with its title and the case number."""
    if item.case_id is None or item.event_id is None:
        return []
    params = params_of(item.kind, item.params, DocumentParams)
    kinds = parse_kinds(params.kinds)
    found = await unless_refused(store.documents.for_event(item.case_id, item.event_id, kinds))
    if found is None:  # the case or its step is gone
        return []
    case, docs = found
    to = params.to
    key = f"document.caption_{to}"
    out = []
    for doc in docs:
        data = await render_pdf(doc, store.org, copy=to)
        out.append((t(lang, key, title=title(doc, lang), number=case.number), Upload(file_name(doc), data)))
    return out


# --------------------------------------------------------------- command


async def _none_yet(update: Update, context: Context, error: NoDocument) -> None:
    """No such document yet: named by its kind (尚无受理告知书), or that no step has made one."""
    lang = await lang_of(update, context)
    await send(update, context, t(lang, "document.none_kind", number=error.number, title=title(error.kind, lang))
               if error.kind else t(lang, "document.none_any", number=error.number))


@answers_refusals(on={NoDocument: _none_yet})
async def document_command(update: Update, context: Context) -> None:
    """/document <number> [kind]: a document again, for staff in scope and the case's own petitioner."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    lang = await lang_of(update, context)
    if chat.type != "private":  # a document names the petitioner
        await send(update, context, t(lang, "common.private_only"))
        return
    words = (context.args or [])[:3]
    kind: DocumentKind | None = None
    if len(words) == 2:
        kind = KIND_WORDS.get(words[1].lower())
    if not words or len(words) > 2 or (len(words) == 2 and kind is None):
        await send(update, context, t(lang, "document.usage"))
        return
    d = deps(context)
    number = words[0][:40]
    actor = d.cases.actor(user.id)
    docs = await d.documents.documents(actor, number, kind)
    for doc in docs:
        data = await render_pdf(doc, d.org)
        await context.bot.send_document(
            chat.id, InputFile(data, filename=file_name(doc)),
            caption=t(lang, "document.caption_command", title=title(doc, lang), number=doc.number),
            parse_mode=ParseMode.HTML,
        )


def handlers() -> list[Handler]:
    return [CommandHandler("document", document_command)]
