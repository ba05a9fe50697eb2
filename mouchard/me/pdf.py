"""A letter as a PDF file: its plain text laid out on numbered A4 pages (fpdf2, pure Python).

The PDF uses the standard Helvetica font, which has no embedded glyphs for characters outside Windows-1252: those
are written visibly as `\\u{…}` (never dropped, never a crash), typographic spaces and dashes are mapped to their
nearest Windows-1252 character. Long identifiers with no space are broken across lines by the layout (a 300-
character cookie value fits), so the extracted text holds every character of the letter."""

from __future__ import annotations

import unicodedata

from mouchard.errors import UserError
from mouchard.me.model import Letter

MAX_PDF_CHARS = 2_000_000  # a letter is a few pages; an annex of thousands of items stays under this
_MAP = {
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ",
    "\u2010": "-", "\u2011": "-", "\u2012": "–", "\u2212": "-", "\u2043": "-", "\u2032": "'", "\u2033": '"',
    "\u2039": "‹", "\u203a": "›", "\t": "    ",
}


def pdf_text(text: str) -> str:
    """`text` with every character the core font can show, the others as `\\u{…}`; newlines kept; past
    MAX_PDF_CHARS the cut is said on the last line."""
    out = []
    for ch in text[:MAX_PDF_CHARS]:
        if ch == "\n":
            out.append(ch)
            continue
        ch = _MAP.get(ch, ch)
        if len(ch) == 1 and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{{{ord(ch):04x}}}")
            continue
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            out.append(f"\\u{{{ord(ch):04x}}}")
        else:
            out.append(ch)
    if len(text) > MAX_PDF_CHARS:
        out.append(f"\n[… {len(text) - MAX_PDF_CHARS} characters more: see the text file]")
    return "".join(out)


def _pdf_class() -> type:
    # Imported here: the rest of `mouchard me` works (and imports) without fpdf2; only the PDF needs it.
    try:
        from fpdf import FPDF
    except ImportError:
        raise UserError("the PDF letters need fpdf2: run scripts/setup.sh (or pip install fpdf2)") from None

    class LetterPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, f"{self.page_no()}/{{nb}}", align="C")

    return LetterPDF


def letter_pdf(letter: Letter) -> bytes:
    """The letter's text laid out on A4 pages, as PDF bytes whose extracted text is the letter's (characters outside
    Windows-1252 shown as `\\u{…}`); pages numbered `n/total`."""
    pdf = _pdf_class()(format="A4", unit="mm")
    pdf.core_fonts_encoding = "cp1252"  # Helvetica's WinAnsiEncoding: « » ’ œ € … are printable
    pdf.set_title(pdf_text(letter.subject)[:300].replace("\n", " "))
    pdf.set_creator("mouchard")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10.5)
    for paragraph in pdf_text(letter.text).split("\n"):
        if paragraph.strip():
            # WORD wrap breaks at spaces and, for a word wider than the line, inside the word.
            pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.ln(3)
    return bytes(pdf.output())
