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
