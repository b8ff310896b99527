"""The metrics themselves (DESIGN.md "Metrics"), as pure functions of plain data.

They live apart from the code that runs systems and writes reports so each can be
checked on tiny hand-computed cases, and so scripts (eval/ablation.py) can score their
own rankings without loading a model: nothing here imports the answering or retrieval
modules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rag.form import BULLET
from rag.grounding import Judge
from rag.records import Citation
from rag.words import normalise

_MARKERS = re.compile(r"(?<!\s)((?:\s*\[\d+\])+)")  # from a run's start: linear
_LEAD_IN = re.compile(r"^The .{0,300}?\) says:\s*")


# ---------------------------------------------------------------------------- retrieval

# A quote, or a quote that counts only in one document's passages: a judgement table
# ("Overall effectiveness Requires improvement to be good") is word for word the same in
# every report with those grades, so only its source tells the right report's apart.
Quote = str | Mapping[str, str]  # "text", or {"source": "file.txt", "quote": "text"}
Evidence = Quote | Sequence[Quote]


def alternatives(item: Evidence) -> list[Quote]:
    """The quotes of one evidence item, any one of which counts."""
    return [item] if isinstance(item, (str, Mapping)) else list(item)


def quote_text(quote: Quote) -> str:
    return quote if isinstance(quote, str) else quote["quote"]


def evidence_ranks(evidence: Sequence[Evidence], passages: Sequence[str],
                   sources: Sequence[str] | None = None) -> list[int | None]:
    """For each evidence item, the 1-based rank of the first passage containing it.

    An item is a quote, or a list of quotes that state the same finding in different
    places (the 2016 report repeats its findings in the summary, the findings and the
    recommendations): a passage holding any of them counts. A quote tied to a source
    counts only in a passage of that document, so never when ``sources`` is not given.
    """
    normal = [normalise(p) for p in passages]
    ranks: list[int | None] = []
    for item in evidence:
        wanted = [(normalise(quote_text(q)), None if isinstance(q, str) else q["source"])
                  for q in alternatives(item)]
        ranks.append(next((i for i, p in enumerate(normal, start=1)
                           if any(q in p and (source is None or (
                               sources is not None and sources[i - 1] == source))
                                  for q, source in wanted)), None))
    return ranks


def first_quote(item: Evidence) -> str:
    """The quote an evidence item is shown by: the first of its alternatives."""
    return quote_text(alternatives(item)[0])


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of quotes found in the top k."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def reciprocal_rank(ranks: Sequence[int | None]) -> float:
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


def ndcg_at(ranks: Sequence[int | None], k: int = 10) -> float:
    """Binary gain: a rank position earns 1 if it holds at least one new quote."""
    positions = sorted({r for r in ranks if r is not None and r <= k})
    dcg = sum(1.0 / math.log2(p + 1) for p in positions)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(ranks), k) + 1))
    return dcg / ideal if ideal else 0.0


# ------------------------------------------------------------------------------ answers

def missed_key_facts(answer: str, key_facts: Sequence[str]) -> list[str]:
    """The key-fact patterns the answer does not match: what the report names."""
    return [f for f in key_facts if not re.search(f, answer, re.I)]


def key_fact_accuracy(answer: str, key_facts: Sequence[str]) -> float:
    if not key_facts:
        return 1.0
    return 1.0 - len(missed_key_facts(answer, key_facts)) / len(key_facts)


def answer_statements(answer: str) -> list[tuple[str, list[int]]]:
    """Split a marked answer into (sentence, [citation numbers]); lead-ins are dropped.

    Read line by line: a list's heading (a lead-in alone) gives nothing, and an item's
    bullet (rag.form.BULLET, written by the program) is not part of its sentence.
    """
    out = []
    for line in answer.splitlines():
        line = _LEAD_IN.sub("", line.strip().removeprefix(BULLET))
        parts = _MARKERS.split(line)
        for text, marks in zip(parts[0::2], [*parts[1::2], ""], strict=False):
            if text.strip():
                out.append((text.strip(), [int(n) for n in re.findall(r"\d+", marks)]))
    return out


# Labels: for one question, each labelled sentence (normalised) -> on-topic or not.
SentenceLabels = Mapping[str, bool]


@dataclass
class SentenceJudgement:
    """An answer's sentences sorted by their labels: on-topic, off-topic, not labelled.

    Unlabelled sentences are kept apart rather than counted either way: an answer that
    changed since the labels were written must show as work to do (eval/label_sentences.py),
    not as a precision that silently moved.
    """

    on_topic: list[str] = field(default_factory=list)
    off_topic: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)


def label_key(sentence: str) -> str:
    """The form a sentence is labelled and looked up by: normalised, so a label survives
    a re-chunking that moves line breaks or curly quotes."""
    return normalise(sentence)


def judge_sentences(sentences: Sequence[str], labels: SentenceLabels) -> SentenceJudgement:
    """Sort an answer's sentences (its citations' quotes) by the question's labels."""
    out = SentenceJudgement()
    for sentence in sentences:
        label = labels.get(label_key(sentence))
        bucket = out.unlabelled if label is None else out.on_topic if label else out.off_topic
        bucket.append(sentence)
    return out


def answer_precision(on_topic: int, off_topic: int) -> float | None:
    """Share of labelled answer sentences that are on-topic; None when none is labelled.

    Pooled over sentences, not averaged over questions: a seven-sentence answer with three
    off-topic sentences says more about the choice of sentences than a one-sentence answer.
    """
    labelled = on_topic + off_topic
    return on_topic / labelled if labelled else None


@dataclass
class CitationCheck:
    """ALCE scores for one answer, and the statements that let them down (for the report)."""

    recall: float
    precision: float
    unsupported: list[str] = field(default_factory=list)


def check_citations(
    statements: Sequence[tuple[str, list[int]]], passages: dict[int, str], judge: Judge
) -> CitationCheck:
    """ALCE citation recall and precision (Gao et al., 2023).

    Recall: share of statements supported by the concatenation of their cited passages.
    Precision: share of citations that are needed and supporting: a citation counts when
    it supports the statement alone, or when removing it breaks the support of the rest.
    A statement with no (valid) citation is unsupported.
    """
    if not statements:
        return CitationCheck(0.0, 0.0)
    supported = 0
    good = total = 0
    unsupported: list[str] = []
    for text, cited in statements:
        cited = [n for n in cited if n in passages]
        total += len(cited)
        if not cited:
            unsupported.append(f"{text} (no citation)")
            continue
        joint = judge(text, "\n".join(passages[n] for n in cited)).supported
        supported += joint
        if not joint:
            unsupported.append(f"{text} {''.join(f'[{n}]' for n in cited)}")
        for n in cited:
            alone = judge(text, passages[n]).supported
            others = [m for m in cited if m != n]
            needed = not others or not judge(text, "\n".join(passages[m] for m in others)
                                             ).supported
            good += joint and (alone or needed)
    return CitationCheck(supported / len(statements), good / total if total else 0.0,
                         unsupported)


def citation_scores(
    statements: Sequence[tuple[str, list[int]]], passages: dict[int, str], judge: Judge
) -> tuple[float, float]:
    """(recall, precision) as in ``check_citations``."""
    check = check_citations(statements, passages, judge)
    return check.recall, check.precision


def quotes_in_passages(citations: Sequence[Citation]) -> float:
    """Share of citations whose quote is really in its passage (must be 1.0)."""
    if not citations:
        return 1.0
    return sum(c.quote in c.passage.text for c in citations) / len(citations)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile by linear interpolation between closest ranks.

    The same definition as numpy's default, written out so a test can check it by hand;
    with 97 questions the nearest-rank p95 would jump between two observations.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

