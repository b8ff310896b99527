"""Cleaning report text before chunking: pure functions, str in, str out.

Text extracted from a PDF, or a report saved as .txt, carries page numbers, rules,
footnote markers, contact lines and lines wrapped at the page width, which split
sentences (and so quotes) across chunk boundaries. clean_report_text drops the furniture
and rebuilds each paragraph as one line, with a blank line between paragraphs, as the
chunker expects. contact_kind, which tells a contact or address line from prose that
mentions one, is shared with the PDF reader (rag/pdf.py).

Pages saved from the web are a different problem and are cleaned by rag/webpage.py; the
line and word patterns both use (bullets, page numbers, sentence ends) are in
rag/words.py.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from rag.words import (
    ASCII_WORD_START,
    BRACKET_NOTE,
    BULLET,
    COMPOUND_HYPHEN_END,
    COMPOUND_TOKEN,
    CONTACT_LABELS,
    EMAIL,
    FOOTNOTE_LINE,
    GLUED_NOTE,
    NUMBERED_PARAGRAPH,
    PAGE_NUMBER_LINE,
    PHONE,
    POSTCODE,
    SUPERSCRIPT_NOTE,
    URL,
    ends_sentence,
    line_blocks,
    mend_hyphen,
    rule_line,
    text_lines,
    word_count,
)

# ------------------------------------------------------------- running headers and footers

RUNNING_EDGE_LINES = 3  # non-blank lines at the top and at the bottom of a page
RUNNING_SHARE = 0.4  # repeated on this share of the later pages (and on three or more)


def running_key(line: str) -> str:
    """A line as a running header repeats it: digits (page numbers, dates) made alike."""
    return " ".join(re.sub(r"\d+", "#", line.casefold()).split())


def strip_running_lines(pages: list[str]) -> list[str]:
    """The pages without the header and footer lines repeated at their edges.

    A report saved as text keeps every page's running header ("Inspection of Croydon
    local authority children's services / 14 to 25 October 2024 4"). Left in, it opens a
    chunk on each page, and those chunks, which name the council and the inspection and
    little else, outrank the findings for any question that names them. rag/pdf.py does
    the same from the lines' positions; here the edges are the first and last few
    non-blank lines. The first page is kept whole: its title is the document's own, often
    in the running header's words.
    """
    if len(pages) < 4:
        return pages
    split = [text_lines(p) for p in pages]

    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return filled[:RUNNING_EDGE_LINES] + filled[-RUNNING_EDGE_LINES:]

    counts: Counter[str] = Counter()
    for lines in split[1:]:
        counts.update({running_key(lines[i]) for i in edges(lines)})
    need = max(3, math.ceil(RUNNING_SHARE * (len(pages) - 1)))
    running = {key for key, n in counts.items() if n >= need and key}
    if not running:
        return pages
    out = [pages[0]]
    for lines in split[1:]:
        drop = {i for i in edges(lines) if running_key(lines[i]) in running}
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return out


# ----------------------------------------------------------------------- contact lines

_ADDRESS_WORDS = 6  # what may remain of a contact line once numbers and addresses are gone


def contact_kind(text: str) -> str | None:
    """Say "contact" for a phone, email or web line, "postcode" for an address line
    ending in a postcode, None for prose that merely mentions one ("please telephone …")."""
    text = text.replace("*", " ")  # markdown emphasis from saved pages: "**T** 0300 ..."
    found = [p.findall(text) for p in (EMAIL, URL, PHONE)]
    postcode = POSTCODE.search(text)
    if not any(found) and not postcode:
        return None
    rest = text
    for pattern in (EMAIL, URL, PHONE, POSTCODE):
        rest = pattern.sub(" ", rest)
    tokens = [t for t in re.split(r"[\s,|:;•·/()]+", rest) if t.strip(".-–")]
    words = [t for t in tokens if t.strip(".").casefold() not in CONTACT_LABELS]
    if len(words) > _ADDRESS_WORDS:
        return None
    if not all(w[0].isupper() or w.isdigit() or w in {"&", "-", "–"} for w in words):
        return None
    return "contact" if any(found) else "postcode"


# ------------------------------------------------------------------------ report text

_HEADING_WORDS = 8
_HEADING_CHARS = 70
_SHORT_LINE_RATIO = 0.75  # of the wrap width: a line this short was broken on purpose


def _strip_footnote_markers(line: str, vocabulary: dict[str, int]) -> str:
    def glued(m: re.Match[str]) -> str:
        word = m.group(1)
        if len(word) >= 4 or word.lower() in vocabulary:
            return word
        return m.group(0)

    line = BRACKET_NOTE.sub("", line)
    line = SUPERSCRIPT_NOTE.sub("", line)
    return GLUED_NOTE.sub(glued, line)


def _report_terminal(line: str) -> bool:
    s = line.rstrip()
    return ends_sentence(s) or bool(re.search(r"\([A-Z][a-z]+\)$", s))


def _heading_like(line: str) -> bool:
    s = line.strip()
    return (
        bool(s)
        and word_count(s) <= _HEADING_WORDS
        and len(s) <= _HEADING_CHARS
        and (s[0].isupper() or s[0].isdigit())
        and not _report_terminal(s)
        and not s.endswith((",", "-"))
        and not BULLET.match(s)
    )


def _heading_at(lines: list[str], i: int, end: int) -> bool:
    """A heading, allowing for one wrapped onto lower-case lines ("... progress of" /
    "children who need help"), but not a sentence that merely starts short."""
    if not _heading_like(lines[i]):
        return False
    j = i + 1
    while j < end and _starts_lower(lines[j]):
        j += 1
    run = " ".join(line.strip() for line in lines[i:j])
    return word_count(run) <= 15 and not _report_terminal(run) and not run.endswith(",")


def _starts_lower(line: str) -> bool:
    s = line.lstrip()
    return bool(s) and s[0].islower() and not BULLET.match(s)


def _wrap_width(lines: Iterable[str]) -> int:
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return 80
    return max(40, lengths[int(0.9 * (len(lengths) - 1))])


class _Paragraph:
    """A paragraph being rebuilt from wrapped lines."""

    def __init__(self, line: str, heading: bool) -> None:
        self.text = line.strip()
        self.last = line
        self.heading = heading

    def add(self, line: str, sep: str) -> None:
        self.text += sep + line.strip()
        self.last = line
        if self.heading and (word_count(self.text) > 15 or _report_terminal(line)):
            self.heading = False


def clean_report_text(text: str) -> str:
    """Tidy PDF-extracted report text: page-number lines, footnote markers, wrapped lines.

    Extraction keeps the page's line breaks, so a sentence (and a quote someone will
    search for) is split across lines and sometimes across a page break. Paragraphs are
    rebuilt so each one is a single line, with a blank line between paragraphs: the
    chunker relies on that to keep numbered paragraphs whole.
    """
    raw = text_lines(text)
    vocabulary = Counter(w.lower() for w in COMPOUND_TOKEN.findall(text))
    lines: list[str] = []
    for line in raw:
        if PAGE_NUMBER_LINE.match(line) or rule_line(line) or contact_kind(line) == "contact":
            lines.append("")
        else:
            lines.append(_strip_footnote_markers(line, vocabulary).rstrip())
    width = _wrap_width(lines)

    paras: list[_Paragraph] = []
    furniture: list[_Paragraph] = []  # a page footer met mid-paragraph, put back after it
    last_number = 0

    def new_paragraph(line: str, heading: bool) -> None:
        nonlocal last_number
        paras.extend(furniture)
        furniture.clear()
        m = NUMBERED_PARAGRAPH.match(line)
        if m:
            last_number = int(m.group(1))
        paras.append(_Paragraph(line, heading))

    def continue_with(para: _Paragraph, line: str) -> None:
        if re.search(r"[A-Za-z]-$", para.last.rstrip()) and re.match(r"\s*[a-z]", line):
            # Keep the hyphen of a compound ("over-reliant") unless the text spells the
            # word solid and never hyphenated; the whole compound before the hyphen
            # counts ("multi-agen-" + "cy"), as COMPOUND_TOKEN counted the vocabulary.
            para.text = mend_hyphen(
                para.text,
                line,
                vocabulary,
                head=COMPOUND_HYPHEN_END,
                tail=ASCII_WORD_START,
                suspended=frozenset(),
                hyphen_if_seen=True,
            )
            para.last = line
        else:
            para.add(line, " ")

    def continues(para: _Paragraph, line: str) -> bool:
        """Whether a block after a blank line carries on a sentence cut by a page break."""
        if para.heading or _report_terminal(para.last):
            return False
        if _starts_lower(line):
            return True
        s = line.strip()
        return (
            s[:1].isdigit()
            and not NUMBERED_PARAGRAPH.match(s)
            and not FOOTNOTE_LINE.match(s)
            and bool(re.search(r"[a-z]$", para.last.rstrip()))
        )

    for start, end in line_blocks(lines):
        first = lines[start]
        if paras and continues(paras[-1], first):
            continue_with(paras[-1], first)
        elif (
            len(paras) >= 2
            and _starts_lower(first)
            and "\n" not in paras[-1].text
            and len(paras[-1].text) <= 60
            and continues(paras[-2], first)
        ):
            furniture.append(paras.pop())
            continue_with(paras[-1], first)
        else:
            new_paragraph(first, _heading_at(lines, start, end))
        for i in range(start + 1, end):
            line, para = lines[i], paras[-1]
            prev = para.last
            heading = _heading_at(lines, i, end)
            m = NUMBERED_PARAGRAPH.match(line)
            if BULLET.match(line):
                last_line = para.text.rsplit("\n", 1)[-1]
                if BULLET.match(last_line) or para.text.endswith(":"):
                    para.add(line, "\n")
                else:
                    new_paragraph(line, False)
            elif m and (int(m.group(1)) in (1, last_number + 1) or _report_terminal(prev)):
                new_paragraph(line, False)
            elif _starts_lower(line):
                continue_with(para, line)
            elif line.startswith(" ") and heading:
                new_paragraph(line, True)
            elif para.heading:
                if heading:
                    para.add(line, "\n")
                else:
                    new_paragraph(line, False)
            elif line.startswith(" ") and NUMBERED_PARAGRAPH.match(para.text):
                para.add(line, " ")  # a new page inside a numbered paragraph
            elif (line.startswith(" ") and _report_terminal(prev)) or (
                heading and _report_terminal(prev)
            ):
                new_paragraph(line, heading)
            elif len(prev.strip()) + 1 + len(line.split()[0]) < _SHORT_LINE_RATIO * width:
                if _report_terminal(prev):
                    new_paragraph(line, heading)
                else:
                    para.add(line, "\n")
            else:
                para.add(line, " ")
    paras.extend(furniture)
    out = [re.sub(r"[ \t]{2,}", " ", p.text).strip() for p in paras]
    return "\n\n".join(p for p in out if p)
