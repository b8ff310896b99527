"""The one home for words: stopwords, word and sentence splitting, text normalising.

Retrieval, answering, grounding and the glossary all ask "which words of this text
matter?"; they ask it here, so a word list or a word pattern exists once and a change to
it reaches every stage at the same time.
"""

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
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|Mr|Mrs|Ms|Dr|No|vs|approx|para|St)\.$", re.I)
# Where a sentence of generated text ends: at . ! or ?, possibly followed by a closing
# quote and its citation markers (either "... poor. [1]" or "... poor [1]."), then a new
# sentence or the end of the line.
_MARKED_SENTENCE_END = re.compile(
    r"[.!?][\"'\u201d\u2019)]?(?:\s*\[[\d\s,;\-\u2013]+\])*"
    r"(?=\s+[\"'\u201c\u2018(]?[A-Z0-9]|\s*$)")
_LEADING_NUMBER = re.compile(r"^\s*\d{1,3}\.\s+")

def split_marked_sentences(line: str) -> list[str]:
    """A line of generated text cut into sentences, each keeping its trailing [n] markers."""
    pieces, cursor = [], 0
    for m in _MARKED_SENTENCE_END.finditer(line):
        if ABBREVIATION.search(line[: m.start() + 1]):
            continue
        pieces.append(line[cursor:m.end()])
        cursor = m.end()
    pieces.append(line[cursor:])
    return [p.strip() for p in pieces if p.strip()]


# English function words: never the subject of a question or the substance of a finding.
FUNCTION_WORDS = frozenset(
    "a about above after again all also am an and any are as at be been before being below "
    "between both but by can could did do does doing down during each few for from further "
    "had has have having he her here hers him his how i if in into is it its itself just me "
    "more most my no nor not now of off on once only or other our out over own said same say "
    "says she should so some such than that the their them then there these they this those "
    "through to too under until up very was we were what when where which while who whom why "
    "will with would you your tell".split()
)
# Words every passage of an inspection report shares: noise when searching, but the
# subject of "who were the inspectors?" once the "what did inspectors say" frame is gone.
REPORT_WORDS = frozenset("ofsted inspectors inspector report reports".split())
STOPWORDS = FUNCTION_WORDS | REPORT_WORDS
# The little words a multi-word name may hold without an initial of their own:
# "children in need" is CIN, "child and adolescent mental health services" CAMHS.
JOINING_WORDS = frozenset("of and the for in on to a an with at by or".split())

WORD = re.compile(r"[a-z0-9]+")  # a word of lower-cased text
TOKEN = re.compile(r"\w+")  # a word as BM25 and acronym lookups see it, any case


def words(text: str) -> list[str]:
    """The lower-cased words of a text, in order."""
    return WORD.findall(text.lower())


def content_words(text: str) -> set[str]:
    """Words that carry meaning: not stopwords, longer than two letters."""
    return {w for w in words(text) if w not in STOPWORDS and len(w) > 2}


def sentence_words(text: str) -> set[str]:
    """Content words as sentence scoring sees them: "inspectors" and "report" count."""
    return {w for w in words(text) if w not in FUNCTION_WORDS and len(w) > 2}


def same_words(a: str, b: str) -> bool:
    """Whether two texts say the same words, whatever their case and punctuation."""
    return words(a) == words(b)


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
            if ABBREVIATION.search(segment[: m.start()]):
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
