"""Does a passage support a sentence? The judge used by the generator check and `rag eval`.

No entailment (NLI) model installs here, so support is judged in two tiers:
1. exact: the sentence, normalised, is contained in the passage -> supported (1.0);
2. approximate: every number in the sentence must appear in the passage, every
   capitalised name too; then the score is the mean of the best embedding cosine
   against the passage's sentences and the share of the sentence's content words that
   the passage contains. Supported when that score reaches ``threshold``.
The tier-2 score is an approximation and is labelled so wherever it is shown. A real
NLI model can replace it: anything with the ``Judge`` signature will do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.embedding import Embedder
from rag.text import normalise, split_sentences

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "the a an and or of to in on for with at by from is are was were be been that this it its "
    "as has have had not but which who their there they these those than so such".split())


@dataclass
class Support:
    supported: bool
    score: float
    exact: bool
    reason: str


Judge = Callable[[str, str], Support]


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def names_in(text: str) -> set[str]:
    """Capitalised names not at the start of a sentence: places, people, services."""
    return {m.group(0).lower() for m in _NAME.finditer(text)}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalise(text)) if w not in _STOP and len(w) > 2}


class SupportJudge:
    """The default judge; holds the embedder so passages are compared in one batch."""

    def __init__(self, embedder: Embedder, threshold: float = 0.62) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def __call__(self, claim: str, passage: str) -> Support:
        if normalise(claim) and normalise(claim) in normalise(passage):
            return Support(True, 1.0, True, "quoted verbatim")
        missing_numbers = numbers_in(claim) - numbers_in(passage)
        if missing_numbers:
            return Support(False, 0.0, False, f"figures not in source: {sorted(missing_numbers)}")
        missing_names = {n for n in names_in(claim) if n not in passage.lower()}
        if missing_names:
            return Support(False, 0.0, False, f"names not in source: {sorted(missing_names)}")
        sentences = [passage[s:e] for s, e in split_sentences(passage)] or [passage]
        vectors = self.embedder.encode([claim, *sentences])
        cosine = float((vectors[1:] @ vectors[0]).max())
        words = _words(claim)
        overlap = len(words & _words(passage)) / max(1, len(words))
        score = 0.5 * cosine + 0.5 * overlap
        ok = score >= self.threshold
        return Support(ok, round(score, 3), False,
                       f"approximate support {score:.2f} "
                       f"(cosine {cosine:.2f}, overlap {overlap:.2f})")
