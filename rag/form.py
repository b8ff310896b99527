"""How an extractive answer is laid out for a person scanning it on a phone or in a meeting.

Issue 19: the direct answer first, then the supporting findings as a short list grouped
by document and date; a comparison one line per document, oldest first. ``arrange``
decides that form once, as ``Block``s of cited sentences; ``plain_text`` writes it as the
answer string (what `rag ask` prints and its JSON carries) and rag.display writes the same
blocks as escaped Markdown for the page and the export, so the three cannot drift apart.

Only the layout changes: the same sentences, the same citations and numbers, the same
lead-ins naming each document (rag.metrics reads the plain text back into the same
statements). This module imports only the records, so answering and judgements use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import groupby

from rag.records import Block, Citation, DocumentRef, Line

BULLET = "- "  # how plain_text marks a list item; rag.metrics strips it back off


def lead_in(doc: DocumentRef) -> str:
    """How a document's sentences are introduced: "The Birmingham inspection report “…”
    (2016) says:". It names the council, so in a library of many councils nobody reads
    another council's finding as their own."""
    whose = f"{doc.council} " if doc.council else ""
    return f"The {whose}{doc.kind} \u201c{doc.title}\u201d ({doc.date or 'undated'}) says:"


def short_lead_in(doc: DocumentRef) -> str:
    """The direct answer's lead-in: council, kind and date without the title, so on a
    phone the answer itself starts on the first line. The title follows in the heading
    of the document's list, or in the sources."""
    whose = f"{doc.council} " if doc.council else ""
    return f"The {whose}{doc.kind} ({doc.date or 'undated'}) says:"


def flat(quote: str) -> str:
    """A quote on one line: a line break inside it would end a bullet in plain text."""
    return " ".join(quote.split())


def _items(citations: Sequence[Citation], follows: Mapping[int, int]) -> list[list[Citation]]:
    """The citations cut into items: a sentence with the ones continuing it, in order."""
    items: list[list[Citation]] = []
    for c in citations:
        if items and follows.get(c.n) == items[-1][-1].n:
            items[-1].append(c)
        else:
            items.append([c])
    return items


def arrange(citations: Sequence[Citation], direct: int | None = None,
            follows: Mapping[int, int] | None = None, comparison: bool = False,
            ) -> list[Block]:
    """The form of an answer whose ``citations`` are in answer order ([n] ascending:
    by council when several, then date, document and position).

    ``direct``: the [n] of the sentence that answers most directly (the top-scoring one).
    ``follows``: [n] -> the [n] it continues, for sentences that refer back ("Of these,
    two thirds..."), which stay with the sentence they continue. ``comparison``: the
    question asks about change over time, so each document is one line, oldest first
    (a single best sentence would hide the other end of the comparison).

    One item (a sentence, with any continuing it) stays one line, as does a comparison
    drawn from one document: no list of one.
    """
    items = _items(citations, follows or {})
    if not items:
        return []
    by_doc = [(doc_id, list(group)) for doc_id, group
              in groupby(items, key=lambda item: item[0].doc.doc_id)]
    if len(items) == 1 or (comparison and len(by_doc) == 1):
        every = [c for item in items for c in item]
        return [Block([Line(every, lead_in(every[0].doc))])]
    if comparison:
        return [Block([Line([c for item in group for c in item], lead_in(group[0][0].doc))
                       for _, group in by_doc], bulleted=True)]
    first = next((item for item in items if any(c.n == direct for c in item)), items[0])
    blocks = [Block([Line(first, short_lead_in(first[0].doc))])]
    for _, group in by_doc:
        rest = [item for item in group if item is not first]
        if rest:
            blocks.append(Block([Line(item) for item in rest], lead_in(rest[0][0].doc),
                                bulleted=True))
    return blocks


def line_text(line: Line) -> str:
    """A line as plain text: its lead-in, then each quote followed by its marker."""
    quotes = " ".join(f"{flat(c.quote)} [{c.n}]" for c in line.citations)
    return f"{line.lead} {quotes}" if line.lead else quotes


def plain_text(blocks: Sequence[Block]) -> str:
    """The answer string: blocks apart by a blank line; a list's heading on its own line
    and each item on one line starting with ``BULLET``."""
    out = []
    for block in blocks:
        if block.bulleted:
            rows = [block.heading] if block.heading else []
            out.append("\n".join([*rows, *(BULLET + line_text(line) for line in block.lines)]))
        else:
            out.append(" ".join(filter(None, [block.heading,
                                              *(line_text(line) for line in block.lines)])))
    return "\n\n".join(out)


def renumbered(blocks: Sequence[Block], numbers: Mapping[int, int]) -> list[Block]:
    """The blocks with each citation's [n] as ``numbers`` maps it (moved up after the
    judgement rows); a citation it does not map is left out, and so are the lines and
    blocks that leaves empty."""
    out = []
    for block in blocks:
        lines = [replace(line, citations=[replace(c, n=numbers[c.n]) for c in line.citations
                                          if c.n in numbers])
                 for line in block.lines]
        lines = [line for line in lines if line.citations]
        if lines:
            out.append(replace(block, lines=lines))
    return out
