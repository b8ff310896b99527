"""A conversation on the page: its turns, the follow-up history, and a Markdown export.

The export is what a person files or emails after a session, so it carries every
citation in full (document, date, kind, paragraph or page, the quoted sentence). Text
from documents and questions is escaped as on the page: opened in a Markdown viewer,
a document that contains ``<script>`` or ``[click](javascript:...)`` shows those
characters rather than running or linking them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.display import answer_markdown, describe_filters, escape_inline, sources_for
from rag.records import Answer, Filters

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Turn:
    """One question and its answer, with what it was restricted to."""

    question: str
    answer: Answer
    filters: Filters = field(default_factory=Filters)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    asked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def history(turns: Sequence[Turn]) -> list[str]:
    """The earlier questions, oldest first, as Assistant.answer expects for follow-ups."""
    return [t.question for t in turns]


def to_markdown(turns: Sequence[Turn], exported_at: dt.datetime | None = None,
                titles: dict[str, str] | None = None) -> str:
    """The whole conversation as a Markdown document with its citations."""
    exported_at = exported_at or dt.datetime.now(dt.UTC)
    lines = ["# Inspection reports Q&A: conversation", "",
             f"Exported {exported_at.strftime('%Y-%m-%d %H:%M %Z').strip()}; "
             f"{len(turns)} question{'s' if len(turns) != 1 else ''}.", ""]
    for i, turn in enumerate(turns, start=1):
        a = turn.answer
        lines += [f"## {i}. {escape_inline(turn.question)}", ""]
        scope = describe_filters(turn.filters, titles)
        if scope:
            lines += [f"*Searched only in {escape_inline(scope)}*", ""]
        lines += [answer_markdown(a), ""]
        if a.notice:
            lines += [f"> **Note:** {escape_inline(a.notice)}", ""]
        refs = sources_for(a)
        if refs:
            lines += ["**Closest passages (they do not answer it)**" if a.abstained
                      else "**Sources**", ""]
        if a.abstained or not a.citations:
            for ref in refs:
                lines.append(f"- {escape_inline(ref.heading)}: "
                             f"{escape_inline(_clip(ref.passage.text))}")
        else:
            for c in sorted(a.citations, key=lambda c: c.n):
                where = ", ".join(x for x in (c.doc.date or "undated", c.doc.kind,
                                              c.passage.label) if x)
                lines.append(f"{c.n}. {escape_inline(c.doc.title)} ({escape_inline(where)}), "
                             f"{_code(c.doc.source)}")
                lines.append(f"   > {escape_inline(c.quote)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _code(name: str) -> str:
    """A file name as a code span, which shows everything in it as written: on one line
    (a line break in a name would end the span and let the rest be read as Markdown or
    HTML), without backticks (which would close it) or control characters."""
    flat = " ".join(_CONTROL.sub(" ", name.replace("`", "")).split())
    return f"`{flat}`" if flat else "`?`"


def _clip(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def export_name(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now()
    return f"conversation-{now.strftime('%Y%m%d-%H%M')}.md"
