"""Split a document into passages a person can cite and the model can embed whole.

Inspection reports number their paragraphs, and staff cite them by number, so a
numbered paragraph is one chunk whenever it fits the model's window. Everything else
is split by langchain's recursive splitter, measured in the model's own tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.documents import Document

# Bump when chunk text or boundaries change: the manifest records it, so an index built
# by an older chunker is rebuilt (and says so) instead of mixing two kinds of chunks.
VERSION = 6  # 6: running headers and footers of text pages stripped (cleaning.py)

_NUMBERED = re.compile(r"^\s*(\d{1,3})\.\s+(?=[A-Z\u2018\u201c'\"(])")
_BLOCK_SEP = re.compile(r"\n\s*\n")
_HEADING_END = (".", ",", ";", ":", "?", "!", ")", "\u201d", '"')


@dataclass
class Chunk:
    doc_id: str
    ordinal: int  # position within its document
    text: str  # shown to people, exactly as in the cleaned document
    start: int  # character span in Document.text
    end: int
    page: int | None
    paragraph: int | None  # the report's own paragraph number, where it has one
    section: str | None

    def heading(self, title: str) -> str:
        """The document title and section: the context a short passage's words leave
        implicit."""
        return " - ".join(part for part in (title, self.section) if part)

    def embed_text(self, title: str) -> str:
        head = self.heading(title)
        return f"{head}\n{self.text}" if head else self.text


def is_heading(block: str) -> bool:
    """A short single line without sentence punctuation, starting with a capital."""
    line = block.strip()
    return (
        "\n" not in line
        and 3 <= len(line) <= 80
        and len(line.split()) <= 10
        and line[0].isupper()
        and not line.endswith(_HEADING_END)
        and not _NUMBERED.match(line)
        and not line.startswith("- ")
    )


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of the blank-line-separated blocks of text, whitespace trimmed."""
    spans = []
    pos = 0
    for sep in [*_BLOCK_SEP.finditer(text), None]:
        end = sep.start() if sep else len(text)
        raw = text[pos:end]
        if raw.strip():
            lead = len(raw) - len(raw.lstrip())
            spans.append((pos + lead, pos + len(raw.rstrip())))
        if sep:
            pos = sep.end()
    return spans


@dataclass
class _Unit:
    start: int
    end: int
    section: str | None
    paragraph: int | None


def _units(text: str, page_at: Callable[[int], int | None]) -> list[_Unit]:
    """Group blocks into numbered paragraphs and runs of prose under one heading.

    A block that starts in lower case continues the one before it: that is a paragraph
    broken by a page boundary, not a new one. A bullet list belongs to the paragraph
    that introduces it. Otherwise a run of prose stops at a page boundary, so that a
    chunk's page is where all of its text is.
    """
    units: list[_Unit] = []
    section: str | None = None
    heading_at: int | None = None  # where the heading just read starts, if nothing followed
    for start, end in _blocks(text):
        block = text[start:end]
        if is_heading(block):
            section = " ".join(block.split())
            heading_at = start if heading_at is None else heading_at
            continue
        opens_section, heading_at = heading_at, None
        number = _NUMBERED.match(block)
        continues = (
            (block[0].islower() or block.startswith("- "))
            and units
            and units[-1].section == section
        )
        if number:
            # A list that starts at 1 keeps its heading ("Recommendations", a title).
            opens = opens_section if opens_section is not None and number[1] == "1" else start
            units.append(_Unit(opens, end, section, int(number[1])))
        elif continues or (units and units[-1].paragraph is None and units[-1].section == section
                           and page_at(units[-1].start) == page_at(start)):
            units[-1].end = end
        else:
            # Prose keeps its heading in the text: a title or heading can be the answer
            # ("Children's services in Birmingham are inadequate").
            units.append(_Unit(opens_section if opens_section is not None else start, end,
                               section, None))
    return units


def make_splitter(
    count_tokens: Callable[[str], int], chunk_tokens: int, overlap_tokens: int
) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=overlap_tokens,
        length_function=count_tokens,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def locate(body: str, pieces: list[str]) -> list[tuple[int, str]]:
    """Offset of each split piece in its body, searching forward from the previous one.

    The splitter's own ``start_index`` is -1 when its whitespace stripping makes a
    piece unfindable, and a wrong span would send a citation to the wrong place.
    """
    located: list[tuple[int, str]] = []
    cursor = 0
    for piece in pieces:
        at = body.find(piece, cursor)
        if at < 0:
            at = body.find(piece)
        if at < 0:  # never expected: the splitter returns substrings of the body
            raise ValueError(f"chunk text not found in its section: {piece[:60]!r}")
        located.append((at, piece))
        cursor = at + 1
    return located


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    chunk_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """Cut a document into chunks with spans, pages, paragraph numbers and sections.

    ``max_tokens`` is the model's window: a numbered paragraph whose embedded text fits
    it stays whole even when longer than ``chunk_tokens``, the size prose is cut to.
    """
    splitter = make_splitter(count_tokens, chunk_tokens, overlap_tokens)
    chunks: list[Chunk] = []
    for unit in _units(doc.text, doc.page_at):
        body = doc.text[unit.start : unit.end]
        probe = Chunk(doc.doc_id, 0, body, 0, 0, None, None, unit.section)
        fits = count_tokens(probe.embed_text(doc.title)) <= max_tokens - 2
        if unit.paragraph is not None and fits:
            pieces = [(0, body)]
        elif count_tokens(body) <= chunk_tokens:
            pieces = [(0, body)]
        else:
            pieces = locate(body, [d.page_content for d in splitter.create_documents([body])])
        for offset, piece in pieces:
            start = unit.start + offset
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    ordinal=len(chunks),
                    text=piece,
                    start=start,
                    end=start + len(piece),
                    page=doc.page_at(start),
                    paragraph=unit.paragraph,
                    section=unit.section,
                )
            )
    return chunks
