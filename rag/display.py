"""What the page shows, as data: safe Markdown, source cards, documents, filters.

Everything shown on the page comes from documents or from people, so none of it may be
read as markup. Streamlit renders most strings as Markdown (with its own extensions:
``:red[...]`` colours, ``$...$`` maths, emoji shortcodes), so this module turns text into
Markdown that displays exactly as written: every ASCII punctuation character is
backslash-escaped (CommonMark guarantees an escaped punctuation character is literal),
bare web and mail addresses get an invisible word joiner so they are not turned into
links, leading indentation is dropped (it would otherwise start a code block) and line
breaks are kept as hard breaks. The page then never needs ``unsafe_allow_html``.

The functions here take data and return data; ``app.py`` only lays them out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from rag import store
from rag.ofsted import council_key
from rag.records import Answer, Block, DocumentRef, Filters, Passage

# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped,
# and an escaped one is always literal text, never syntax.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
# GitHub-flavoured Markdown turns bare "www.x", "https://x" and "a@b.c" into links after
# parsing, so escaping cannot stop it. An invisible WORD JOINER (U+2060) after "www",
# the scheme, or before "@" breaks the pattern; the text still reads the same. It goes
# in whatever comes before: "_www.x" and "_https://x" are links too (an underscore is
# no word boundary to a pattern, but it is to the Markdown), and so are "x+@y.z" and
# "a.@y.z" (the part before "@" may end in any of ".-_+").
_AUTOLINK = re.compile(r"(?i)(www(?=\.)|(?:https?|ftp|mailto|xmpp)(?=:)|(?=@\w))")
HIGHLIGHT = "orange-background"  # Streamlit's :colour-background[...] directive


def escape_inline(text: str) -> str:
    """Text made safe for one line of Markdown: punctuation escaped, whitespace collapsed.

    For labels (expander titles, buttons) and answer sentences, where line structure
    does not matter. ``<script>`` becomes ``\\<script\\>`` and renders as itself.
    """
    return _escape(" ".join(text.split()))


def _escape(text: str) -> str:
    text = _AUTOLINK.sub("\\1\u2060", _CONTROL.sub(" ", text))
    return _PUNCTUATION.sub(r"\\\1", text)


def escape_markdown(text: str) -> str:
    """Multi-line text as Markdown that renders literally, keeping paragraphs and lines."""
    return marked_markdown(text, [])


def marked_markdown(text: str, marks: Sequence[tuple[int, int]]) -> str:
    """Markdown for ``text`` with the character spans in ``marks`` highlighted.

    Works line by line so that a highlight never straddles a paragraph break (which
    would leave the directive's brackets unbalanced): each line's share of a mark is
    wrapped on its own. Blank lines stay paragraph breaks; other line breaks become
    hard breaks, so headings and bullet lines of a report keep their shape.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    spans = _merge(marks, text)
    out: list[str] = []
    pos = 0
    for line in text.split("\n"):
        line_start, pos = pos, pos + len(line) + 1
        lead = len(line) - len(line.lstrip())
        body_start, body_end = line_start + lead, line_start + len(line.rstrip())
        if body_start >= body_end:
            out.append("")
            continue
        out.append(_marked_line(text, body_start, body_end, spans))
    # Non-blank lines followed by a non-blank line end in a hard break ("  ").
    lines = [
        f"{line}  " if line and i + 1 < len(out) and out[i + 1] else line
        for i, line in enumerate(out)
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _merge(marks: Sequence[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans; two quotes with only spaces between become one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(m for m in marks if m[1] > m[0]):
        if merged and (start <= merged[-1][1] or not text[merged[-1][1]:start].strip(" \t")):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> str:
    cuts = sorted({start, end, *(max(start, min(end, x)) for s in spans for x in s)})
    parts: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = text[a:b]
        inside = any(s <= a and b <= e for s, e in spans)
        escaped = _escape(piece)
        core = escaped.strip()
        if inside and core:
            left = escaped[: len(escaped) - len(escaped.lstrip())]
            right = escaped[len(escaped.rstrip()):]
            parts.append(f"{left}:{HIGHLIGHT}[{core}]{right}")
        else:
            parts.append(escaped)
    return "".join(parts)


# ------------------------------------------------------------------------------ answers

_MARKER = re.compile(r"(\[\d+\])")
_GLUED_BEFORE = re.compile(r"(?<=\S)(\[\d+\])")
_GLUED_AFTER = re.compile(r"(\[\d+\])(?=\w)")


def answer_pieces(answer: Answer | str) -> list[str]:
    """The answer as Markdown, cut after each citation marker for progressive display.

    Joined, the pieces are the whole answer: sentences escaped, markers in bold so
    ``[n]`` stands out and matches the numbered sources below. An extractive answer is
    written from its form (``Answer.blocks``, rag.form): its lists are Markdown lists we
    make, never text read as one. Anything else (a generated answer, a bare string) is
    written from its text, paragraph by paragraph.
    """
    if isinstance(answer, Answer) and answer.blocks:
        return _block_pieces(answer.blocks)
    text = answer.answer if isinstance(answer, Answer) else answer
    pieces: list[str] = []
    for paragraph in _BLANK_LINES.split(text.strip()):
        flat = " ".join(paragraph.split())
        # Bold needs space around it to open and close: "x[1]y" becomes "x [1] y".
        flat = _GLUED_AFTER.sub(r"\1 ", _GLUED_BEFORE.sub(r" \1", flat))
        if not flat:
            continue
        buffer = "\n\n" if pieces else ""
        for part in _MARKER.split(flat):
            if _MARKER.fullmatch(part):
                pieces.append(f"{buffer}**{_escape(part)}**")
                buffer = ""
            else:
                buffer += _escape(part)
        if buffer.strip():
            pieces.append(buffer)
    return pieces


def _block_pieces(blocks: Sequence[Block]) -> list[str]:
    """Markdown of an answer's blocks, one piece per cited sentence.

    A list's heading is a paragraph of its own and its items a tight list ("- " lines
    after a blank line), so each item is an ``li``; lead-ins are in italics. Every quote
    and lead-in is escaped, so a quote starting "- " or "1." or holding "*" stays text
    inside its item.
    """
    pieces: list[str] = []
    buffer = ""
    for b, block in enumerate(blocks):
        buffer += "\n\n" if b else ""
        if block.heading:
            buffer += _lead(block.heading) + ("\n\n" if block.bulleted else " ")
        for i, line in enumerate(block.lines):
            buffer += "- " if block.bulleted else ""
            if i and not block.bulleted:
                buffer += " "
            if line.lead:
                buffer += _lead(line.lead) + " "
            for j, c in enumerate(line.citations):
                pieces.append(f"{buffer}{' ' if j else ''}{escape_inline(c.quote)} "
                              f"**{_escape(f'[{c.n}]')}**")
                buffer = ""
            if block.bulleted and i + 1 < len(block.lines):
                buffer += "\n"
    if buffer.strip():
        pieces.append(buffer)
    return pieces


def _lead(text: str) -> str:
    """A lead-in in italics: the program's words naming a document, set apart from the
    quoted ones, so the eye finds where each document starts. Escaped inside, and it
    always starts with a letter and ends with ":", so the emphasis opens and closes."""
    return f"*{escape_inline(text)}*"


def answer_markdown(answer: Answer | str) -> str:
    return "".join(answer_pieces(answer))


# ------------------------------------------------------------------------------ sources

@dataclass
class SourceRef:
    """One passage shown under an answer: the citations that point into it, or a hit."""

    numbers: list[int]  # citation markers [n] using this passage; [] for a closest hit
    passage: Passage
    quotes: list[str] = field(default_factory=list)  # sentences cited from it

    @property
    def heading(self) -> str:
        """Plain text: "[2] [3] Title · 2016 · inspection report · paragraph 56"."""
        doc = self.passage.doc
        marks = " ".join(f"[{n}]" for n in self.numbers)
        parts = [doc.title, doc.date or "undated", doc.kind]
        if self.place:
            parts.append(self.place)
        elif not self.numbers:  # closest passages: tell apart two from one document
            parts.append(f"\u201c{_opening(self.passage.text)}\u201d")
        return f"{marks} {' · '.join(parts)}".strip()

    @property
    def place(self) -> str:
        """Where in the document: "paragraph 56", "page 3", a section; "" if only the title."""
        label = self.passage.label
        return label if label != self.passage.doc.title else ""

    @property
    def open_label(self) -> str:
        """The button that opens the whole document here: "Open the document at paragraph 56"."""
        return f"Open the document at {self.place or 'the passage'}"

    def quote_spans(self) -> list[tuple[int, int]]:
        """Where the cited sentences are in the passage (missing ones are skipped)."""
        spans = []
        for quote in self.quotes:
            at = self.passage.text.find(quote)
            if at >= 0:
                spans.append((at, at + len(quote)))
        return spans

    def passage_markdown(self) -> str:
        return marked_markdown(self.passage.text, self.quote_spans())


def _opening(text: str, words: int = 8) -> str:
    """The first few words of a passage, after its heading line if it has one."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    body = " ".join(lines[1:] if len(lines) > 1 and len(lines[0]) < 80 else lines).split()
    return " ".join(body[:words]) + ("\u2026" if len(body) > words else "")


def sources_for(answer: Answer) -> list[SourceRef]:
    """The passages to show under an answer: cited ones, grouped by passage, in [n] order;
    the closest passages when the answer abstained."""
    if answer.abstained or not answer.citations:
        return [SourceRef([], p) for p in answer.closest]
    refs: dict[int, SourceRef] = {}
    for c in sorted(answer.citations, key=lambda c: c.n):
        ref = refs.setdefault(c.passage.chunk_id, SourceRef([], c.passage))
        ref.numbers.append(c.n)
        if c.quote not in ref.quotes:
            ref.quotes.append(c.quote)
    return list(refs.values())


# ---------------------------------------------------------------------------- documents

@dataclass
class DocumentView:
    """A whole cleaned document cut around the passage to show highlighted."""

    doc: DocumentRef
    text: str
    passage: tuple[int, int] | None  # span of the cited passage in text, whole lines
    quotes: list[tuple[int, int]]  # spans of the cited sentences in text

    def parts(self) -> tuple[str, str, str]:
        """Markdown before the passage, of the passage (quotes highlighted), after it."""
        if self.passage is None:
            return marked_markdown(self.text, self.quotes), "", ""
        start, end = self.passage
        inner = [(max(s, start) - start, min(e, end) - start) for s, e in self.quotes
                 if s < end and e > start]
        return (escape_markdown(self.text[:start]),
                marked_markdown(self.text[start:end], inner),
                escape_markdown(self.text[end:]))


def document_view(index_dir: Path, ref: SourceRef) -> DocumentView | None:
    """The document a source came from, with the passage and its quotes located.

    The chunk's stored span is used when it really holds the passage; otherwise the
    passage, then each quote, is searched for in the text, so a stale or imprecise span
    still opens at the right place. None when the document is no longer indexed.
    """
    with closing(store.connect(index_dir, readonly=True)) as conn:
        found = store.document_text(conn, ref.passage.doc.doc_id)
        if found is None:
            return None
        span = store.chunk_span(conn, ref.passage.chunk_id, ref.passage.doc.doc_id)
    doc, text = found
    passage = locate_passage(text, ref.passage.text, span)
    quotes: list[tuple[int, int]] = []
    for quote in ref.quotes:
        at = text.find(quote, *passage) if passage else -1
        at = at if at >= 0 else text.find(quote)
        if at >= 0:
            quotes.append((at, at + len(quote)))
    if passage is None and quotes:
        passage = quotes[0]
    if passage is not None:
        passage = whole_lines(text, *passage)
    return DocumentView(doc, text, passage, quotes)


def locate_passage(text: str, passage: str,
                   span: tuple[int, int] | None) -> tuple[int, int] | None:
    """Where ``passage`` is in ``text``: the stored span if it matches, else a search."""
    if span and text[span[0]:span[1]] == passage:
        return span
    at = text.find(passage) if passage else -1
    return (at, at + len(passage)) if at >= 0 else None


def whole_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to whole lines so the Markdown around it keeps its structure."""
    start = text.rfind("\n", 0, start) + 1
    nl = text.find("\n", end)
    return start, (len(text) if nl < 0 else nl)


# ----------------------------------------------------------------------- index, filters

@dataclass
class IndexOverview:
    status: store.IndexStatus
    documents: list[DocumentRef]
    library: list[store.LibraryEntry] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return sorted({d.kind for d in self.documents})

    @property
    def councils(self) -> list[str]:
        """The councils the library holds documents on, by name."""
        return sorted({d.council for d in self.documents if d.council})

    def library_table(self, councils: Iterable[str] = (), kinds: Iterable[str] = (),
                      added: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """The library as rows of plain text (a table widget shows text as written):
        council, kind, when inspected and published, the overall judgement, the document.
        ``councils`` and ``kinds`` narrow it; empty means all. ``added`` (source to
        "added through the page by X on DATE", rag.provenance) adds how each entered."""
        councils, kinds = set(councils), set(kinds)
        rows = []
        for e in self.library:
            if (councils and e.doc.council not in councils) or (kinds and e.doc.kind not in kinds):
                continue
            inspected = " to ".join(dict.fromkeys(x for x in (e.inspection_start,
                                                              e.inspection_end) if x))
            rows.append({"Council": e.doc.council or "", "Kind": e.doc.kind,
                         "Inspected": inspected, "Published": e.published or e.doc.date or "",
                         "Overall effectiveness": e.judgements.get("overall_effectiveness", ""),
                         "Document": e.doc.title})
            if added is not None:
                rows[-1]["How it entered"] = added.get(e.doc.source, "corpus file")
        return rows

    @property
    def date_span(self) -> tuple[dt.date, dt.date] | None:
        """First and last day any dated document covers ("2016" spans the whole year)."""
        bounds = [date_bounds(d.date) for d in self.documents if d.date]
        bounds = [b for b in bounds if b]
        if not bounds:
            return None
        return min(b[0] for b in bounds), max(b[1] for b in bounds)

    def status_lines(self) -> list[str]:
        s = self.status
        updated = (dt.datetime.fromtimestamp(s.updated_at).strftime("%Y-%m-%d %H:%M")
                   if s.updated_at else "never")
        return [f"{s.documents} documents · {s.chunks} chunks",
                f"model: {s.model or 'unknown'}", f"last indexed: {updated}"]


def index_overview(index_dir: Path) -> IndexOverview:
    """Counts and the document list for the sidebar; raises store.IndexMissing if none."""
    with closing(store.connect(index_dir, readonly=True)) as conn:
        return IndexOverview(store.status(conn), store.documents(conn), store.library(conn))


def date_bounds(value: str) -> tuple[dt.date, dt.date] | None:
    """First and last day of an ISO date, year-month or year; None if unreadable."""
    try:
        if re.fullmatch(r"\d{4}", value):
            return dt.date(int(value), 1, 1), dt.date(int(value), 12, 31)
        if re.fullmatch(r"\d{4}-\d\d", value):
            first = dt.date.fromisoformat(f"{value}-01")
            nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return first, nxt - dt.timedelta(days=1)
        day = dt.date.fromisoformat(value[:10])
        return day, day
    except ValueError:
        return None


def build_filters(kinds: Iterable[str] = (), dates: Sequence[dt.date] = (),
                  doc_ids: Iterable[str] = (),
                  span: tuple[dt.date, dt.date] | None = None,
                  councils: Iterable[str] = ()) -> Filters:
    """Filters from the sidebar's widgets.

    A date range equal to the whole span of the index means "any date": applying it
    would silently drop the undated documents (the press articles) that nobody asked
    to exclude. A half-chosen range (one date picked so far) sets only its start.
    """
    date_from = date_to = None
    if len(dates) >= 1 and (span is None or dates[0] > span[0]):
        date_from = dates[0].isoformat()
    if len(dates) >= 2 and (span is None or dates[1] < span[1]):
        date_to = dates[1].isoformat()
    return Filters(kinds=tuple(kinds), date_from=date_from, date_to=date_to,
                   doc_ids=tuple(doc_ids), councils=tuple(council_key(c) for c in councils))


def describe_filters(filters: Filters, titles: dict[str, str] | None = None) -> str:
    """Plain text saying what a question was restricted to, or "" for no filters."""
    if filters.is_empty():
        return ""
    titles = titles or {}
    parts = []
    if filters.councils:
        parts.append("council: " + ", ".join(filters.councils))
    if filters.kinds:
        parts.append("kind: " + ", ".join(filters.kinds))
    if filters.date_from or filters.date_to:
        parts.append(f"dates: {filters.date_from or '…'} to {filters.date_to or '…'}")
    if filters.doc_ids:
        parts.append("documents: " + ", ".join(titles.get(d, d) for d in filters.doc_ids))
    return "; ".join(parts)


def filters_json(filters: Filters) -> str:
    return json.dumps({"kinds": list(filters.kinds), "date_from": filters.date_from,
                       "date_to": filters.date_to, "doc_ids": list(filters.doc_ids),
                       "councils": list(filters.councils)})
