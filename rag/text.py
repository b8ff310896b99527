"""Small text helpers shared by loading, retrieval and evaluation."""

from __future__ import annotations

import re
import unicodedata

_PLAIN = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u00ad": "",
    }
)
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")
_INNER_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]?\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|Mr|Mrs|Ms|Dr|No|vs|approx|para|St)\.$", re.I)
_LEADING_NUMBER = re.compile(r"^\s*\d{1,3}\.\s+")


def normalise(text: str) -> str:
    """Fold text so that a quote matches however the source was extracted.

    Case-folded, curly quotes and dashes made plain, words hyphenated across a line
    break rejoined, whitespace collapsed: the DESIGN.md rule for evidence matching.
    Hyphens inside words are dropped too, so "over-reliant", "over-\nreliant" and
    "overreliant" all match: extraction cannot tell a soft break from a compound.
    """
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    text = _INNER_HYPHEN.sub("", text)
    return _SPACE.sub(" ", text).strip().casefold()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans in a passage. Bullet lines and paragraph numbers are boundaries."""
    spans: list[tuple[int, int]] = []
    body_start = 0
    if m := _LEADING_NUMBER.match(text):
        body_start = m.end()
    for line in re.finditer(r"[^\n]+", text[body_start:]):
        start = body_start + line.start()
        segment = line.group()
        cursor = 0
        for m in _SENTENCE_END.finditer(segment):
            if _ABBREVIATION.search(segment[: m.start()]):
                continue
            spans.append((start + cursor, start + m.start()))
            cursor = m.end()
        spans.append((start + cursor, start + len(segment)))
    cleaned = []
    for s, e in spans:
        piece = text[s:e]
        s += len(piece) - len(piece.lstrip("-\u2022 \t"))
        e -= len(piece) - len(piece.rstrip())
        if e - s >= 25:
            cleaned.append((s, e))
    return cleaned
