"""Clean per-page text from a PDF, for indexing.

pypdf's plain extraction gets the words right but loses the layout: every printed line
becomes a line of text, running headers and page numbers sit among the prose, and a
letter's sender block lands wherever the PDF happens to draw it. Left in, that furniture
is embedded and retrieved as if it were evidence, and a quote cannot be found when a
sentence is split by a line break or a hyphen.

So the text is rebuilt from what a reader sees. pypdf's visitor reports where each
line starts and its font size; paragraphs are the line groups separated by more than the
document's usual line pitch, a change of font size, or a bullet or paragraph number.
Furniture is recognised by kind, not by string: lines repeated at the top or bottom of
many pages (digits ignored, so "Page 3 of 9" repeats), bare page numbers at the edges,
and contact lines (phone, email, web address, postcode) together with the short address
lines printed next to them.

Plain extraction is used rather than ``extraction_mode="layout"``: on real Ofsted PDFs
layout mode splits words ("ha    ve", "de   liver") and puts margin blocks on the
same line as the body, while plain mode keeps words whole.
"""

from __future__ import annotations

import io
import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError

from rag.cleaning import contact_kind
from rag.words import (
    EMAIL,
    HYPHEN_END,
    PDF_ASCII_BULLET,
    PDF_BULLET_GLYPH,
    PDF_NUMBERED,
    PDF_PAGE_NUMBER,
    PDF_RULE_LINE,
    PDF_SENTENCE_END,
    SPELLED_COMPOUND,
    SPELLED_WORD,
    URL,
    mend_hyphen,
)


class PdfError(Exception):
    """A PDF that cannot be indexed; the message says why and what to do."""


# --------------------------------------------------------------------------- tuning

_EDGE_FRACTION = 0.10  # top and bottom share of the page where headers and footers live
_EDGE_EXTREMES = 2  # the topmost and bottommost lines of a page are edge lines too
_REPEAT_SHARE = 0.4  # an edge line on this share of pages (and on two or more) is furniture
_GAP_FACTOR = 0.35  # a gap this many font sizes beyond the usual line pitch ends a paragraph
_SIZE_CHANGE = 0.15  # a relative change of font size ends a paragraph (heading to body)
_SHORT_LINE = 0.6  # a line shorter than this share of a full line ends where its author broke it
_FULL_LINE = 60.0  # characters in a full line, when a document has too few lines to measure
_FEW_LINES = 20
_SUPERSCRIPT = 0.8  # a raised number in a font this much smaller is a footnote marker
_BLOCK_WORDS = 8  # address and contact lines are at most this many words ...
_BLOCK_CHARS = 60  # ... and this many characters

# --------------------------------------------------------------------------- characters
# Line and word patterns are in rag/words.py; these tidy what pypdf returns.

_CHARS = str.maketrans(
    {
        "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ",
        "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",
        "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
        "\ufb05": "st", "\ufb06": "st",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff]")  # C0, C1, private use
_SPACES = re.compile(r"[ \t]+")
# The hyphenated half word a line ends with; from the start of its run of non-space
# characters only, as trying every start inside a long run was quadratic.
_BROKEN_WORD_END = re.compile(r"(?<!\S)\S*[-\u2010]$")


# --------------------------------------------------------------------------- lines


@dataclass
class _Line:
    """One printed line: its text and, when pypdf reported it, where it starts."""

    text: str = ""
    x: float | None = None
    y: float | None = None
    size: float | None = None
    bullet: bool = False
    numbered: bool = False
    edge: bool = False

    @property
    def placed(self) -> bool:
        return self.y is not None and self.size is not None and self.size > 0


def _multiply(tm: list[float], cm: list[float]) -> list[float]:
    a, b, c, d, e, f = tm
    return [
        a * cm[0] + b * cm[2],
        a * cm[1] + b * cm[3],
        c * cm[0] + d * cm[2],
        c * cm[1] + d * cm[3],
        e * cm[0] + f * cm[2] + cm[4],
        e * cm[1] + f * cm[3] + cm[5],
    ]


def _page_lines(page: object) -> list[_Line]:
    """Extract a page's lines with the position of each, via pypdf's text visitor.

    The visitor sees the same pieces that make up ``extract_text``'s result, so the
    lines are pypdf's own; it only adds where each starts, and the size and baseline of
    the piece carrying most of its characters (not a leading footnote mark). Superscript
    footnote numbers inside a line are dropped, while their size and rise are known
    ("area1" otherwise).
    """
    lines = [_Line()]
    placed: list[list[tuple[int, float, float, float]]] = [[]]  # (chars, x, y, size)
    pieces: list[str] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        pieces.append(text)
        for n, part in enumerate(text.split("\n")):
            if n:
                lines.append(_Line())
                placed.append([])
            if not part:
                continue
            if part.strip():
                try:
                    m = _multiply([float(v) for v in tm], [float(v) for v in cm])
                    eff = float(size) * math.hypot(m[2], m[3])
                except (TypeError, ValueError):
                    m, eff = [], 0.0
                if m and eff > 0:
                    here = placed[-1]
                    main = max(here, default=None)
                    if (
                        main is not None
                        and part.strip().isdigit()
                        and eff < _SUPERSCRIPT * main[3]
                        and m[5] > main[2] + 1
                    ):
                        continue
                    here.append((len(part.strip()), m[4], m[5], eff))
            lines[-1].text += part

    text = page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    if "".join(pieces) != text:  # a pypdf that reports pieces differently: keep its text
        return [_Line(t) for t in text.split("\n")]
    for line, where in zip(lines, placed, strict=True):
        if where:
            main = max(where)
            line.x, line.y, line.size = where[0][1], main[2], main[3]
    return lines


def _tidy(text: str) -> str:
    """Plain spaces, no ligatures or control characters, nothing at either end."""
    text = _CONTROL.sub("", text.translate(_CHARS))
    return _SPACES.sub(" ", text).strip()


_NO_SPACE_BEFORE = re.compile(r"^[,.;:!?’')\]]")
_NO_SPACE_AFTER = re.compile(r"[(‘“\[/-]$")


def _same_row(raw: list[_Line]) -> list[_Line]:
    """Put back together what pypdf split at one baseline.

    pypdf starts a new line for each text object, so a bullet or paragraph number drawn
    apart from its text ("12." then "Services for …") comes out as two lines at the
    same height; joined, the number again starts its paragraph. Each line's pieces are
    joined once at the end: a row of thousands of pieces is not copied at every piece.
    """
    out: list[_Line] = []
    pieces: list[list[str]] = []  # the text of each line of out, in pieces
    for line in raw:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.placed
            and line.placed
            and prev.text.strip()
            and line.text.strip()
            and abs((prev.y or 0.0) - (line.y or 0.0)) < 0.25 * (line.size or 0.0)
            and (line.x or 0.0) > (prev.x or 0.0)
        ):
            left, right = pieces[-1][-1].rstrip(), line.text.lstrip()
            glue = "" if _NO_SPACE_BEFORE.match(right) or _NO_SPACE_AFTER.search(left) else " "
            pieces[-1][-1:] = [left, glue, right]
            continue
        out.append(_Line(line.text, line.x, line.y, line.size))
        pieces.append([line.text])
    for joined, parts in zip(out, pieces, strict=True):
        joined.text = "".join(parts)
    return out


def _prepare(raw: list[_Line]) -> list[_Line]:
    """Tidy each line and mark bullets (glyph made "- ") and numbered paragraphs."""
    out = []
    for line in _same_row(raw):
        text = line.text.translate(_CHARS).strip()
        bullet = False
        m = PDF_BULLET_GLYPH.match(text)
        if m:
            text, bullet = text[m.end() :], True
        text = _tidy(text)
        if not bullet and PDF_ASCII_BULLET.match(text):
            text, bullet = PDF_ASCII_BULLET.sub("", text), True
        if bullet and not text:  # a lone glyph: decoration, not a list item
            bullet = False
        out.append(
            _Line(
                text=text,
                x=line.x,
                y=line.y,
                size=line.size,
                bullet=bullet,
                numbered=not bullet and bool(PDF_NUMBERED.match(text)),
            )
        )
    return out


def _mark_edges(lines: list[_Line], bottom: float, top: float) -> None:
    """Mark the lines where headers and footers live: the top and bottom bands of the
    page, the few lines nearest each edge, or (without positions) the first and last."""
    text_lines = [ln for ln in lines if ln.text]
    placed = [ln for ln in text_lines if ln.placed]
    if placed:
        band = (top - bottom) * _EDGE_FRACTION
        by_height = sorted(placed, key=lambda ln: ln.y or 0.0)
        extremes = by_height[:_EDGE_EXTREMES] + by_height[-_EDGE_EXTREMES:]
        for ln in placed:
            y = ln.y or 0.0
            ln.edge = y < bottom + band or y > top - band or any(ln is e for e in extremes)
    unplaced = [ln for ln in text_lines if not ln.placed]
    for ln in unplaced[:_EDGE_EXTREMES] + unplaced[-_EDGE_EXTREMES:]:
        ln.edge = True


def _repeat_key(line: _Line) -> str:
    """The line as a running header or footer would repeat it: digits (page numbers,
    dates) made alike, and its type size, so a title page set large in the same words
    as the running header is not taken for it."""
    words = _SPACES.sub(" ", re.sub(r"\d+", "#", line.text.casefold())).strip()
    return f"{words}@{round(line.size)}" if words and line.size else words


def _running_lines(pages: list[list[_Line]]) -> set[str]:
    """Keys of edge lines repeated on many pages: running headers and footers."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_repeat_key(ln) for ln in lines if ln.edge and ln.text})
    need = max(2, math.ceil(_REPEAT_SHARE * len(pages)))
    return {key for key, n in counts.items() if n >= need and key}


def _short_plain(line: _Line) -> bool:
    """Short, unpunctuated and not a list item: the shape of an address line."""
    if line.bullet or line.numbered:
        return False
    text = URL.sub("", EMAIL.sub("", line.text)).strip()
    return (
        len(line.text.split()) <= _BLOCK_WORDS
        and len(line.text) <= _BLOCK_CHARS
        and not PDF_SENTENCE_END.search(text)
    )


def _letterhead(lines: list[_Line], contact: set[int]) -> set[int]:
    """Indices of address lines printed beside contact lines (a sender block).

    The block is a run of short lines around the contact lines, in extraction order,
    kept to lines near them on the page so a signature just before a footer survives.
    """
    drop: set[int] = set()
    order = [i for i, ln in enumerate(lines) if ln.text]
    run: list[int] = []
    for i in [*order, -1]:
        if i >= 0 and (i in contact or _short_plain(lines[i])):
            run.append(i)
            continue
        clusters: list[_Block] = []
        for j in run:
            ln = lines[j]
            last = clusters[-1] if clusters else None
            if last is not None and last.near(ln):
                last.add(j, ln)
            else:
                clusters.append(_Block(j, ln))
        for cluster in clusters:
            if any(j in contact for j in cluster.members):
                drop.update(cluster.members)
        run = []
    return drop


class _Block:
    """A run of lines that belong together, with the extent of its placed lines kept as
    it grows, so that asking whether the next line is near it does not re-read every
    line (which made a page of thousands of short lines quadratic)."""

    def __init__(self, index: int, line: _Line) -> None:
        self.members: list[int] = []
        self.placed = False
        self.min_size = self.max_size = self.min_y = self.max_y = 0.0
        self.add(index, line)

    def add(self, index: int, line: _Line) -> None:
        self.members.append(index)
        if not line.placed:
            return
        size, y = line.size or 0.0, line.y or 0.0
        if not self.placed:
            self.placed = True
            self.min_size = self.max_size = size
            self.min_y = self.max_y = y
            return
        self.min_size, self.max_size = min(self.min_size, size), max(self.max_size, size)
        self.min_y, self.max_y = min(self.min_y, y), max(self.max_y, y)

    def near(self, line: _Line) -> bool:
        """Whether a line belongs with the block: typeset alike and close above or below.

        Sizes are compared with the block's smallest and largest: a size differs too
        much from some line of the block exactly when it does from one of those two.
        """
        if not line.placed or not self.placed:
            return True
        size = line.size or 0.0
        for other in (self.min_size, self.max_size):
            if abs(size - other) > _SIZE_CHANGE * max(size, other):
                return False
        reach = 2.5 * max(size, self.max_size)
        return self.min_y - reach <= (line.y or 0.0) <= self.max_y + reach


def _strip_furniture(lines: list[_Line], running: set[str]) -> list[_Line | None]:
    """The page's lines with furniture removed; None marks a blank line (a break)."""
    contact: set[int] = set()
    drop: set[int] = set()
    for i, ln in enumerate(lines):
        if not ln.text:
            continue
        if ln.edge and (PDF_PAGE_NUMBER.match(ln.text) or _repeat_key(ln) in running):
            drop.add(i)
        elif PDF_RULE_LINE.match(ln.text):
            drop.add(i)
        else:
            kind = contact_kind(ln.text)
            if kind == "contact":
                contact.add(i)
            elif kind == "postcode":
                drop.add(i)
    drop |= contact | _letterhead(
        [ln if i not in drop else _Line() for i, ln in enumerate(lines)], contact
    )
    out: list[_Line | None] = []
    for i, ln in enumerate(lines):
        if not ln.text:
            out.append(None)
        elif i not in drop:
            out.append(ln)
    return out


# --------------------------------------------------------------------------- paragraphs


@dataclass
class _Layout:
    """What "usual" means in this document: line pitch per font size, full line length."""

    pitch: dict[float, float]
    full_line: float

    @classmethod
    def of(cls, pages: list[list[_Line]]) -> _Layout:
        gaps: dict[float, Counter[float]] = {}
        lengths: list[int] = []
        for lines in pages:
            placed = [ln for ln in lines if ln.text and ln.placed]
            for a, b in zip(placed, placed[1:], strict=False):
                size = round(a.size or 0.0)
                dy = (a.y or 0.0) - (b.y or 0.0)
                if round(b.size or 0.0) == size and 0.8 * size < dy < 3 * size:
                    gaps.setdefault(size, Counter())[round(dy * 2) / 2] += 1
            lengths += [len(ln.text) for ln in lines if len(ln.text.split()) >= 3]
        # the smallest gap seen more than once: the line pitch, which paragraph gaps exceed
        pitch = {
            size: min(g for g, n in seen.items() if n >= 2)
            for size, seen in gaps.items()
            if any(n >= 2 for n in seen.values())
        }
        lengths.sort()
        full = float(lengths[int(0.8 * (len(lengths) - 1))]) if lengths else _FULL_LINE
        if len(lengths) < _FEW_LINES:  # too few lines to know; assume a page-wide column
            full = max(full, _FULL_LINE)
        return cls(pitch, full)

    def gap_breaks(self, a: _Line, b: _Line) -> bool:
        """Whether the space between two placed lines is more than a line break."""
        size_a, size_b = a.size or 0.0, b.size or 0.0
        if abs(size_a - size_b) > _SIZE_CHANGE * max(size_a, size_b):
            return True
        dy = (a.y or 0.0) - (b.y or 0.0)
        if dy < -0.3 * size_b:  # back up the page: another block or column
            return True
        pitch = self.pitch.get(round(size_a), 1.2 * size_a)
        return dy > pitch + _GAP_FACTOR * size_a

    def short(self, line: _Line) -> bool:
        return len(line.text) < _SHORT_LINE * self.full_line


class _Vocabulary:
    """Words as the whole document spells them, to decide a hyphen at a line end."""

    def __init__(self, pages: list[list[_Line]]) -> None:
        # words and two-part compounds, counted together: only a compound has a hyphen
        self.spellings: Counter[str] = Counter()
        for lines in pages:
            for ln in lines:
                text = _BROKEN_WORD_END.sub("", ln.text)  # half a broken word is no word
                self.spellings.update(w.casefold() for w in SPELLED_WORD.findall(text))
                self.spellings.update(
                    f"{a}-{b}".casefold() for a, b in SPELLED_COMPOUND.findall(text)
                )

    def join(self, left: str, right: str) -> str:
        """Rejoin two lines, mending a word hyphenated across them.

        "assess-" + "ment" is one word when the document spells "assessment" elsewhere
        (at least as often as "assess-ment"); otherwise the hyphen is part of a
        compound ("multi-agency") and stays (rag.words.mend_hyphen).
        """
        return mend_hyphen(left, right, self.spellings)


def _separator(prev: _Line, line: _Line, blank: bool, layout: _Layout) -> str:
    """How two consecutive kept lines join: "\\n\\n" paragraph, "\\n" line break, " " wrap."""
    both_placed = prev.placed and line.placed
    gap = blank or (both_placed and layout.gap_breaks(prev, line))
    ended = bool(PDF_SENTENCE_END.search(prev.text)) or prev.text.endswith(":")
    if line.numbered:
        outdented = both_placed and (line.x or 0.0) < (prev.x or 0.0) - 2
        if gap or ended or outdented or layout.short(prev) or not both_placed:
            return "\n\n"
    if gap:
        return "\n\n"
    if line.bullet:
        return "\n"
    if layout.short(prev) and not HYPHEN_END.search(prev.text):
        if line.text[:1].islower():  # a heading or table cell wrapped in a narrow column
            return " "
        return "\n\n" if PDF_SENTENCE_END.search(prev.text) else "\n"
    return " "


def _paragraphs(items: list[_Line | None], layout: _Layout, vocab: _Vocabulary) -> str:
    """Join a page's kept lines into paragraphs separated by blank lines.

    Bullet items start on their own line as "- "; one indented further than the item
    before it is a sub-item and gets two spaces more, so nesting survives.
    """
    pieces: list[str] = []  # joined once at the end, not at every line of a long page
    prev: _Line | None = None
    blank = False
    list_x: float | None = None  # where this page's current list puts its bullets
    for item in items:
        if item is None:
            blank = True
            continue
        body = item.text
        if item.bullet:
            nested = (
                list_x is not None
                and item.x is not None
                and item.x > list_x + 0.5 * (item.size or 10.0)
            )
            if not nested:
                list_x = item.x
            body = ("  - " if nested else "- ") + body
        if prev is None:
            pieces = [body]
        else:
            sep = _separator(prev, item, blank, layout)
            if sep != " " and not item.bullet:
                list_x = None
            if sep == " ":
                pieces.append(vocab.join(pieces.pop(), body))
            else:
                pieces += [sep, body]
        prev, blank = item, False
    return "".join(pieces).strip()


# --------------------------------------------------------------------------- reading


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Hush pypdf's warnings about recoverable damage: the caller gets text or a PdfError."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _what_it_is(data: bytes) -> str:
    head = data[:1024].lstrip()
    if not data:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP archive (perhaps a .docx or .xlsx renamed .pdf)"
    if head[:1] == b"<":
        return "it is an HTML or XML page (perhaps a download error page)"
    return f"it does not start with %PDF- (it starts {data[:8]!r})"


def _open(path: Path) -> PdfReader:
    """Open and, when it has only an owner password, decrypt the PDF; or say why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PdfError(
            f"cannot be read: {exc.strerror or exc}; check the path and permissions"
        ) from exc
    if b"%PDF-" not in data[:1024]:
        raise PdfError(
            f"cannot be read as a PDF: {_what_it_is(data)}; re-export or re-download it"
        )
    if b"%%EOF" not in data[-4096:]:
        raise PdfError(
            "cannot be read as a PDF: it is truncated (no %%EOF at the end, so the download "
            "or copy was cut short); re-export or re-download it"
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise PdfError(f"cannot be read as a PDF: {exc}; re-export or re-download it") from exc
    if encrypted:
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise PdfError(
                "is encrypted with AES, which needs the 'cryptography' package even to open "
                "it without a password; install it, or save an unprotected copy"
            ) from exc
        except Exception as exc:
            raise PdfError(
                f"is password-protected and cannot be opened ({exc}); save an unprotected copy"
            ) from exc
        if not opened:
            raise PdfError(
                "is password-protected; save an unprotected copy (open it with the password "
                "and export or print to PDF without one) and index that"
            )
    return reader


def pdf_pages(path: Path) -> list[str]:
    """Return the cleaned text of each page, in order (index 0 = page 1). Raises PdfError.

    Pages stay separate so citations can name a page; an empty string stands for a
    page with no text (a picture, a blank). A document where no page has any text is an
    error, because indexing it would silently index nothing.
    """
    path = Path(path)
    with _quiet_pypdf():
        reader = _open(path)
        raw: list[list[_Line]] = []
        try:
            pages = list(reader.pages)
        except Exception as exc:
            raise PdfError(
                f"cannot be read as a PDF: {exc}; re-export or re-download it"
            ) from exc
        if not pages:
            raise PdfError("cannot be read as a PDF: it has no pages; re-export or re-download it")
        for number, page in enumerate(pages, start=1):
            try:
                lines = _prepare(_page_lines(page))
                box = page.mediabox
                _mark_edges(lines, float(box.bottom), float(box.top))
            except Exception as exc:
                raise PdfError(
                    f"cannot be read as a PDF: page {number}: {exc}; re-export or re-download it"
                ) from exc
            raw.append(lines)

    layout = _Layout.of(raw)
    vocab = _Vocabulary(raw)
    running = _running_lines(raw)
    texts = [_paragraphs(_strip_furniture(lines, running), layout, vocab) for lines in raw]
    if not any(SPELLED_WORD.search(t) for t in texts):
        raise PdfError(
            "has no extractable text (it is probably a scanned image); OCR is not supported "
            "— supply a text version (a .txt, or a PDF exported from the original document)"
        )
    return texts
