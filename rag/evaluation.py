"""Scoring retrieval and answers against a QA file (DESIGN.md "Metrics").

Pure functions compute each metric from plain data so they can be checked on tiny
hand-computed cases; ``evaluate`` runs the real pipeline and gathers them.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.answering import Answer, Assistant, contextualise
from rag.grounding import Judge, SupportJudge
from rag.text import normalise

_MARKERS = re.compile(r"((?:\s*\[\d+\])+)")
_LEAD_IN = re.compile(r"^The .{0,300}?\) says:\s*")


def load_qa(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    return items


# ---------------------------------------------------------------------------- retrieval

def evidence_ranks(evidence: Sequence[str], passages: Sequence[str]) -> list[int | None]:
    """For each evidence quote, the 1-based rank of the first passage containing it."""
    normal = [normalise(p) for p in passages]
    ranks: list[int | None] = []
    for quote in evidence:
        q = normalise(quote)
        ranks.append(next((i for i, p in enumerate(normal, start=1) if q in p), None))
    return ranks


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

def key_fact_accuracy(answer: str, key_facts: Sequence[str]) -> float:
    if not key_facts:
        return 1.0
    return sum(1 for f in key_facts if re.search(f, answer, re.I)) / len(key_facts)


def answer_statements(answer: str) -> list[tuple[str, list[int]]]:
    """Split a marked answer into (sentence, [citation numbers]); lead-ins are dropped."""
    out = []
    for block in answer.split("\n\n"):
        block = _LEAD_IN.sub("", block.strip())
        parts = _MARKERS.split(block)
        for text, marks in zip(parts[0::2], [*parts[1::2], ""], strict=False):
            if text.strip():
                out.append((text.strip(), [int(n) for n in re.findall(r"\d+", marks)]))
    return out


def citation_scores(
    statements: Sequence[tuple[str, list[int]]], passages: dict[int, str], judge: Judge
) -> tuple[float, float]:
    """ALCE citation recall and precision (Gao et al., 2023).

    Recall: share of statements supported by the concatenation of their cited passages.
    Precision: share of citations that are needed and supporting: a citation counts when
    it supports the statement alone, or when removing it breaks the support of the rest.
    """
    if not statements:
        return 0.0, 0.0
    supported = 0
    good = total = 0
    for text, cited in statements:
        cited = [n for n in cited if n in passages]
        total += len(cited)
        if not cited:
            continue
        joint = judge(text, "\n".join(passages[n] for n in cited)).supported
        supported += joint
        for n in cited:
            alone = judge(text, passages[n]).supported
            others = [m for m in cited if m != n]
            needed = not others or not judge(text, "\n".join(passages[m] for m in others)
                                             ).supported
            good += joint and (alone or needed)
    return supported / len(statements), (good / total if total else 0.0)


def quotes_in_passages(answer: Answer) -> float:
    """Share of citations whose quote is really in its passage (must be 1.0)."""
    if not answer.citations:
        return 1.0
    return sum(c.quote in c.text for c in answer.citations) / len(answer.citations)


# ------------------------------------------------------------------------------ running

@dataclass
class QuestionResult:
    id: str
    type: str
    answerable: bool
    ranks: dict[str, list[int | None]] = field(default_factory=dict)
    answer: str = ""
    abstained: bool = False
    key_facts: float = 0.0
    citation_recall: float = 0.0
    citation_precision: float = 0.0
    quotes_ok: float = 1.0
    seconds: float = 0.0


def evaluate(items: list[dict], assistant: Assistant, modes: Sequence[str] = ("hybrid",),
             judge: Judge | None = None, k: int = 10) -> list[QuestionResult]:
    judge = judge or SupportJudge(assistant.retriever.embedder)
    results = []
    for item in items:
        history = item.get("history", [])
        r = QuestionResult(item["id"], item.get("type", ""), bool(item["answerable"]))
        query = contextualise(item["question"], history)
        for mode in modes:
            hits = assistant.retriever.search(query, k=k, mode=mode)
            r.ranks[mode] = evidence_ranks(item.get("evidence", []), [h.text for h in hits])
        started = time.perf_counter()
        answer = assistant.answer(item["question"], history=history)
        r.seconds = time.perf_counter() - started
        r.answer, r.abstained = answer.answer, answer.abstained
        if not answer.abstained:
            r.key_facts = key_fact_accuracy(answer.answer, item.get("key_facts", []))
            passages = {c.n: c.text for c in answer.citations}
            r.citation_recall, r.citation_precision = citation_scores(
                answer_statements(answer.answer), passages, judge)
            r.quotes_ok = quotes_in_passages(answer)
        results.append(r)
    return results


def summarise(results: Sequence[QuestionResult]) -> dict:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.abstained]
    mean = lambda xs: round(statistics.fmean(xs), 4) if xs else 0.0  # noqa: E731
    summary: dict = {"questions": len(results), "answerable": len(answerable),
                     "unanswerable": len(unanswerable), "retrieval": {}}
    modes = results[0].ranks.keys() if results else []
    for mode in modes:
        summary["retrieval"][mode] = {
            "recall@1": mean([recall_at(r.ranks[mode], 1) for r in answerable]),
            "recall@5": mean([recall_at(r.ranks[mode], 5) for r in answerable]),
            "recall@10": mean([recall_at(r.ranks[mode], 10) for r in answerable]),
            "mrr": mean([reciprocal_rank(r.ranks[mode]) for r in answerable]),
            "ndcg@10": mean([ndcg_at(r.ranks[mode], 10) for r in answerable]),
        }
    seconds = sorted(r.seconds for r in results)
    summary["answers"] = {
        "key_fact_accuracy": mean([r.key_facts if not r.abstained else 0.0 for r in answerable]),
        "citation_recall": mean([r.citation_recall for r in answered]),
        "citation_precision": mean([r.citation_precision for r in answered]),
        "quotes_in_passage": mean([r.quotes_ok for r in answered]),
        "declined_when_unanswerable": mean([float(r.abstained) for r in unanswerable]),
        "declined_when_answerable": mean([float(r.abstained) for r in answerable]),
        "latency_p50_s": round(statistics.median(seconds), 3) if seconds else 0.0,
        "latency_p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 3) if seconds else 0.0,
    }
    return summary
