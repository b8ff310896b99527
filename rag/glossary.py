"""Acronyms the reports define in passing, mined from the indexed text.

Reports write "return home interviews (RHIs)" or "the multi-agency safeguarding hub
(MASH)" once and the bare acronym afterwards; a question may use either form. Mining
the definitions at index time lets a query be expanded both ways without a hand list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DEFINITION = re.compile(r"\((?:the\s+)?([A-Z][A-Za-z]{1,7}?)(s?)\)")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_SKIP = {"of", "and", "the", "for", "in", "on", "to", "a", "an", "with", "at", "by", "or"}


def _expansion(before: str, acronym: str) -> str | None:
    """The shortest run of trailing words whose initials spell the acronym."""
    words = _WORD.findall(before.replace("-", " "))[-(len(acronym) * 2 + 2) :]
    letters = acronym.lower()
    for n in range(1, len(words) + 1):
        tail = words[-n:]
        if tail[0].lower() in _SKIP:
            continue
        initials = "".join(w[0].lower() for w in tail if w.lower() not in _SKIP)
        if initials == letters:
            return " ".join(tail).lower()
        if len(initials) > len(letters):
            break
    return None


def mine_acronyms(text: str) -> list[tuple[str, str]]:
    """(ACRONYM, expansion) pairs defined in the text, e.g. ("RHI", "return home interviews")."""
    found: dict[str, str] = {}
    for m in _DEFINITION.finditer(text):
        acronym = m[1]
        if sum(c.isupper() for c in acronym) < 2:
            continue
        before = text[max(0, m.start() - 120) : m.start()]
        expansion = _expansion(before, acronym)
        if expansion:
            found.setdefault(acronym.upper(), expansion)
    return sorted(found.items())


def expand_query(question: str, glossary: Iterable[tuple[str, str]]) -> str:
    """Append the other form of every acronym or expansion the question uses."""
    extra: list[str] = []
    lowered = question.lower().replace("-", " ")
    # Each word as the acronym it could be ("RHIs" -> RHI): a set lookup per entry, not a
    # regex, because a large index defines thousands of acronyms.
    words = {w.upper() for w in re.findall(r"\w+", question)}
    words |= {w[:-1] for w in words if w.endswith("S")}
    for short, long in glossary:
        stem = long.rstrip("s")
        used = short.upper() in words
        if used and stem not in lowered:
            extra.append(long)
        elif stem in lowered and not used:
            extra.append(short)
    return " ".join([question, *dict.fromkeys(extra)])
