"""The records every stage passes along: a passage with its document, a citation, an answer.

Retrieval returns passages, answering cites them, the generator rewrites around them, the
page and the CLI show them and evaluation scores them. Each record is defined once here,
so a document's title or date lives in one field of one object (``DocumentRef``) and is
never copied field by field from one record to the next. This module imports nothing
of the package: every other module may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_RECOMMENDATION = re.compile(r"recommendation", re.I)


def citation_label(paragraph: int | None, page: int | None, section: str | None) -> str:
    """How a person refers to the passage: "paragraph 41", "recommendation 5", "page 3"."""
    if paragraph is not None:
        word = "recommendation" if section and _RECOMMENDATION.search(section) else "paragraph"
        return f"{word} {paragraph}"
    if page is not None:
        return f"page {page}"
    return section or ""


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents; applied before ranking, not after."""

    kinds: tuple[str, ...] = ()
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None
    doc_ids: tuple[str, ...] = ()
    councils: tuple[str, ...] = ()  # council keys (rag.ofsted.council_key)
    years: tuple[str, ...] = ()  # dated, inspected or published in one of these years

    def is_empty(self) -> bool:
        return not (self.kinds or self.date_from or self.date_to or self.doc_ids
                    or self.councils or self.years)


@dataclass(frozen=True)
class DocumentRef:
    """What a citation says about the document it points into."""

    doc_id: str
    title: str
    source: str
    date: str | None
    kind: str
    council: str | None = None  # the local authority an Ofsted publication is about

    @property
    def choice_label(self) -> str:
        """How a document is named in the documents filter (shown as plain text).

        The date comes first: a narrow sidebar cuts long titles short, and two
        monitoring letters differ by their dates more than by their titles.
        """
        return f"{self.date or 'undated'} · {self.title}"


@dataclass
class Passage:
    """One indexed chunk as retrieval returns it: where it is, what it says, how it ranked."""

    chunk_id: int
    doc: DocumentRef
    page: int | None
    paragraph: int | None
    section: str | None
    text: str
    score: float = 0.0  # fused retrieval score
    dense: float = 0.0  # cosine similarity to the question
    ranks: dict[str, int] = field(default_factory=dict)  # rank in each search's list

    @property
    def label(self) -> str:
        return citation_label(self.paragraph, self.page, self.section)

    def to_json(self) -> dict:
        """The `rag search --json` hit (DESIGN.md contract)."""
        d = self.doc
        return {"chunk_id": self.chunk_id, "doc_id": d.doc_id, "title": d.title,
                "source": d.source, "date": d.date, "kind": d.kind, "page": self.page,
                "paragraph": self.paragraph, "score": self.score, "text": self.text,
                "section": self.section}


@dataclass
class Citation:
    """A sentence of an answer quoted verbatim from a passage, numbered [n] in the answer."""

    n: int
    passage: Passage
    quote: str

    @property
    def doc(self) -> DocumentRef:
        return self.passage.doc

    def to_json(self) -> dict:
        """A citation of `rag ask --json` (DESIGN.md contract)."""
        p, d = self.passage, self.passage.doc
        return {"n": self.n, "chunk_id": p.chunk_id, "doc_id": d.doc_id, "title": d.title,
                "source": d.source, "date": d.date, "kind": d.kind, "page": p.page,
                "paragraph": p.paragraph, "label": p.label, "quote": self.quote,
                "text": p.text}


@dataclass
class Line:
    """Sentences shown together, each followed by its [n]: a sentence with those that
    continue it ("Of these, two thirds..."), or one document's sentences in a comparison.
    ``lead`` names their document when no heading above does ("" when one does)."""

    citations: list[Citation]
    lead: str = ""


@dataclass
class Block:
    """One part of an answer's form (rag.form): a paragraph of its lines run together, or
    its lines as bullets under an optional heading. Only the program writes the structure;
    the quotes inside are text, so a renderer escapes them."""

    lines: list[Line]
    heading: str = ""
    bulleted: bool = False


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    closest: list[Passage] = field(default_factory=list)  # shown when abstaining
    searched_for: str = ""  # the question as understood, with context from history
    notice: str | None = None  # e.g. the generator failed and this is the fallback
    # The extractive answer's form; ``answer`` is its plain text (rag.form.plain_text).
    # Empty for a decline and a generated answer, which are shown from ``answer`` alone.
    blocks: list[Block] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "closest": [p.to_json() for p in self.closest],
            "searched_for": self.searched_for,
            "notice": self.notice,
        }
