"""Acronyms the reports define in passing, mined from the indexed text.

Reports write "return home interviews (RHIs)" or "the multi-agency safeguarding hub
(MASH)" once and the bare acronym afterwards; a question may use either form. Mining
the definitions at index time lets a query be expanded both ways without a hand list.
An acronym a question uses that the reports never write nor define ("CSE") is spelled
out at query time from the phrases whose initials match it (``spell_out``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rag.words import JOINING_WORDS

_DEFINITION = re.compile(r"\((?:the\s+)?([A-Z][A-Za-z]{1,7}?)(s?)\)")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


def _expansion(before: str, acronym: str) -> str | None:
    """The shortest run of trailing words whose initials spell the acronym."""
    words = _WORD.findall(before.replace("-", " "))[-(len(acronym) * 2 + 2) :]
    letters = acronym.lower()
    for n in range(1, len(words) + 1):
        tail = words[-n:]
        if tail[0].lower() in JOINING_WORDS:
            continue
        initials = "".join(w[0].lower() for w in tail if w.lower() not in JOINING_WORDS)
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


_TYPED_ACRONYM = re.compile(r"\b([A-Z]{2,6})s?\b")


def typed_acronyms(question: str) -> list[str]:
    """Words the question writes in capitals, as acronyms ("CSE", "LACs" -> "LAC")."""
    return list(dict.fromkeys(_TYPED_ACRONYM.findall(question)))


def initials_query(acronym: str) -> str:
    """An FTS5 expression for passages with words starting with the acronym's letters.

    NEAR allows two words between each ("children in need" for CIN); the order and the
    little words are checked afterwards by ``spell_out``.
    """
    return f"NEAR({' '.join(c.lower() + '*' for c in acronym)}, {2 * (len(acronym) - 1)})"


def spell_out(acronym: str, texts: Iterable[str], stopwords: Iterable[str] = (),
              min_count: int = 3) -> str | None:
    """The phrase the texts use whose initials spell the acronym, if one clearly wins.

    For an acronym the reports never write and never define: staff say "CSE", the
    reports always write "child sexual exploitation" (18 times here). The phrase must
    occur ``min_count`` times and at least twice as often as any rival, so that an
    acronym with two readings of similar weight stays as typed rather than guessed
    ("PA" at scale: partner agencies, personal advisers, ...). There is no part-of-speech
    tagger here, so a stretch of sentence could win where it dominates: for "LAC" in
    the five documents "local authority cannot" (3) leads, but not by twice the
    runner-up (2), so "LAC" stays as typed.
    """
    skip = "|".join(JOINING_WORDS)
    parts = [rf"{c}[\w']*" for c in acronym.lower()]
    pattern = re.compile(r"\b" + rf"[\s-]+(?:(?:{skip})[\s-]+)?".join(parts) + r"\b", re.I)
    stop = set(stopwords)
    counts = Counter(" ".join(m.group().lower().replace("-", " ").split())
                     for text in texts for m in pattern.finditer(text))
    # A term, not a stretch of a sentence: "child protection", not "plans are".
    ranked = [(phrase, n) for phrase, n in counts.most_common()
              if (words := phrase.split())[0] not in JOINING_WORDS
              and words[-1] not in JOINING_WORDS
              and not any(w in stop for w in words if w not in JOINING_WORDS)]
    if not ranked or ranked[0][1] < min_count:
        return None
    if len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]:
        return None
    return ranked[0][0]


_CAPITALS = re.compile(r"\b[A-Z][A-Z0-9&]+s?\b")  # "CSE", "RHIs", "SGOs", "B&B"


def used_entries(text: str, glossary: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The glossary entries whose acronym or phrase the text uses, in glossary order."""
    lowered = text.lower().replace("-", " ")
    # Each word written in capitals as the acronym it could be ("RHIs" -> RHI): a set
    # lookup per entry, not a regex, because a large index defines thousands of
    # acronyms. A word in lower case is a word: "home" is not HOME ("housing
    # opportunities made easier", which one report defines).
    words = {w.upper() for w in _CAPITALS.findall(text)}
    words |= {w[:-1] for w in words if w.endswith("S")}
    return [(short, long) for short, long in glossary
            if short.upper() in words or long.rstrip("s") in lowered]


def expand_query(question: str, glossary: Iterable[tuple[str, str]]) -> str:
    """Append the other form of every acronym or expansion the question uses."""
    extra: list[str] = []
    lowered = question.lower().replace("-", " ")
    words = {w.upper() for w in re.findall(r"\w+", question)}
    words |= {w[:-1] for w in words if w.endswith("S")}
    for short, long in used_entries(question, glossary):
        if short.upper() in words:
            if long.rstrip("s") not in lowered:
                extra.append(long)
        else:
            extra.append(short)
    return " ".join([question, *dict.fromkeys(extra)])
