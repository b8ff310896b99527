"""Scoring retrieval and answers against a QA file (DESIGN.md "Metrics").

Pure functions compute each metric from plain data so they can be checked on tiny
hand-computed cases. ``evaluate`` runs the real pipeline, and with it the baselines it
is compared against, over the same questions; ``metrics_of`` aggregates overall and per
question type; ``write_outputs`` turns the lot into metrics.json, report.md and a chart.

Every system is scored by the same code: one ``score_response`` turns what a system
returned (its ranked passages and its answer) into a ``QuestionResult``. A baseline
therefore cannot look better or worse because it was measured differently.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answering import Answer, Assistant, Citation, contextualise
from rag.grounding import Judge, SupportJudge
from rag.words import normalise

_MARKERS = re.compile(r"((?:\s*\[\d+\])+)")
_LEAD_IN = re.compile(r"^The .{0,300}?\) says:\s*")

# Said wherever citation scores are shown: the default judge is not an entailment model.
APPROXIMATE_JUDGE = (
    "approximate judge: exact containment, else embedding cosine + word overlap + "
    "number/name/verdict/negation agreement"
)
RANK_DEPTH = 10  # retrieval metrics look at the top 10 passages of every system
NAIVE_CHUNK_CHARS = 1000
NAIVE_TOP_K = 5


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

Evidence = str | Sequence[str]


def evidence_ranks(evidence: Sequence[Evidence], passages: Sequence[str]) -> list[int | None]:
    """For each evidence item, the 1-based rank of the first passage containing it.

    An item is a quote, or a list of quotes that state the same finding in different
    places (the 2016 report repeats its findings in the summary, the findings and the
    recommendations): a passage holding any of them counts.
    """
    normal = [normalise(p) for p in passages]
    ranks: list[int | None] = []
    for item in evidence:
        quotes = [normalise(q) for q in ([item] if isinstance(item, str) else item)]
        ranks.append(next((i for i, p in enumerate(normal, start=1)
                           if any(q in p for q in quotes)), None))
    return ranks


def first_quote(item: Evidence) -> str:
    """The quote an evidence item is shown by: the first of its alternatives."""
    return item if isinstance(item, str) else item[0]


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
    """Split a marked answer into (sentence, [citation numbers]); lead-ins are dropped."""
    out = []
    for block in answer.split("\n\n"):
        block = _LEAD_IN.sub("", block.strip())
        parts = _MARKERS.split(block)
        for text, marks in zip(parts[0::2], [*parts[1::2], ""], strict=False):
            if text.strip():
                out.append((text.strip(), [int(n) for n in re.findall(r"\d+", marks)]))
    return out


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


def quotes_in_passages(answer: Answer) -> float:
    """Share of citations whose quote is really in its passage (must be 1.0)."""
    if not answer.citations:
        return 1.0
    return sum(c.quote in c.text for c in answer.citations) / len(answer.citations)


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


# ------------------------------------------------------------------------------ systems

@dataclass
class Response:
    """What one system returned for one question: ranked passages, answer, time taken."""

    passages: list[str]
    answer: Answer
    seconds: float


System = Callable[[dict], Response]


class FullPipeline:
    """The product as the page and `rag ask` run it: ``Assistant.answer``.

    Its retrieval is scored on a separate hybrid search for the same question (the answer
    does not expose all its hits); only the ``answer`` call is timed.
    """

    description = ("the product: hybrid retrieval (dense + BM25, RRF, MMR), out-of-scope "
                   "checks, extractive answer")

    def __init__(self, assistant: Assistant, depth: int = RANK_DEPTH) -> None:
        self.assistant, self.depth = assistant, depth

    def __call__(self, item: dict) -> Response:
        history = item.get("history", [])
        query = contextualise(item["question"], history)
        hits = self.assistant.retriever.search(query, k=self.depth, mode="hybrid")
        started = time.perf_counter()
        answer = self.assistant.answer(item["question"], history=history)
        return Response([h.text for h in hits], answer, time.perf_counter() - started)


class RetrievalBaseline:
    """One retrieval mode alone over the real index, with the product's extractive answer.

    It isolates what fusion adds: same index, same sentence picking, same abstention
    threshold; but no out-of-scope checks, which belong to ``Assistant.answer``.
    """

    def __init__(self, assistant: Assistant, mode: str, depth: int = RANK_DEPTH) -> None:
        self.assistant, self.mode, self.depth = assistant, mode, depth
        engine = "SQLite FTS5" if mode == "bm25" else "FAISS"
        self.description = (f"{mode} only ({engine}) over the same index, same extractive "
                            "answer, no out-of-scope checks")

    def __call__(self, item: dict) -> Response:
        started = time.perf_counter()
        query = contextualise(item["question"], item.get("history", []))
        k = self.assistant.settings.k
        hits = self.assistant.retriever.search(query, k=max(k, self.depth), mode=self.mode)
        answer = self.assistant.extractive(item["question"], query, hits[:k])
        return Response([h.text for h in hits[:self.depth]], answer,
                        time.perf_counter() - started)


def fixed_chunks(text: str, size: int = NAIVE_CHUNK_CHARS) -> list[tuple[int, int]]:
    """Consecutive (start, end) spans of ``size`` characters, no overlap, last one short."""
    return [(i, min(i + size, len(text))) for i in range(0, len(text), size)]


class NaiveBaseline:
    """RAG the way a first tutorial builds it, as the floor the product must clear.

    Fixed 1,000-character chunks of the same cleaned texts (the documents table), dense
    top 5 by the same model in memory, and the answer is the top passage cited as [1].
    It never declines and keeps no conversation: a follow-up is embedded as asked.
    Retrieval metrics use its top ``depth`` so recall@10 is defined; its answer uses
    only the first of the top 5.
    """

    description = ("tutorial baseline: fixed 1,000-character chunks, dense top-5 in memory, "
                   "answer = top passage [1], never declines, no history")

    def __init__(self, assistant: Assistant, depth: int = RANK_DEPTH,
                 size: int = NAIVE_CHUNK_CHARS, top_k: int = NAIVE_TOP_K) -> None:
        self.embedder = assistant.retriever.embedder
        self.depth, self.top_k = depth, top_k
        rows = assistant.retriever.conn.execute(
            "SELECT doc_id, title, date, kind, source, text FROM documents ORDER BY doc_id")
        self.chunks: list[tuple[dict, int, int, str]] = []
        for row in rows:
            meta = {"doc_id": row[0], "title": row[1], "date": row[2], "kind": row[3],
                    "source": row[4]}
            for start, end in fixed_chunks(row[5], size):
                self.chunks.append((meta, start, end, row[5][start:end]))
        self.vectors = self.embedder.encode([c[3] for c in self.chunks])

    def __call__(self, item: dict) -> Response:
        started = time.perf_counter()
        vector = self.embedder.encode([item["question"]])[0]
        order = np.argsort(-(self.vectors @ vector))[:max(self.depth, self.top_k)]
        top = [int(i) for i in order]
        meta, start, end, text = self.chunks[top[0]]
        citation = Citation(
            n=1, chunk_id=top[0], doc_id=meta["doc_id"], title=meta["title"],
            source=meta["source"], date=meta["date"], kind=meta["kind"], page=None,
            paragraph=None, label=f"characters {start + 1}-{end}", quote=text, text=text)
        # One paragraph, so the whole passage is one statement carrying the [1].
        answer = Answer(item["question"], f"{' '.join(text.split())} [1]", False, [citation],
                        searched_for=item["question"])
        return Response([self.chunks[i][3] for i in top[:self.depth]], answer,
                        time.perf_counter() - started)


SYSTEMS = ("full", "bm25", "dense", "naive")


def build_systems(assistant: Assistant, names: Sequence[str],
                  depth: int = RANK_DEPTH) -> dict[str, System]:
    makers: dict[str, Callable[[], System]] = {
        "full": lambda: FullPipeline(assistant, depth),
        "bm25": lambda: RetrievalBaseline(assistant, "bm25", depth),
        "dense": lambda: RetrievalBaseline(assistant, "dense", depth),
        "naive": lambda: NaiveBaseline(assistant, depth),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: {list(makers)}")
    return {name: makers[name]() for name in names}


# ------------------------------------------------------------------------------ scoring

@dataclass
class QuestionResult:
    id: str
    type: str
    answerable: bool
    question: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)  # per evidence quote, top depth
    answer: str = ""
    abstained: bool = False
    notice: str | None = None  # the pipeline's reason, e.g. why it declined
    key_facts: float = 0.0
    missed_facts: list[str] = field(default_factory=list)
    citation_recall: float = 0.0
    citation_precision: float = 0.0
    unsupported: list[str] = field(default_factory=list)
    quotes_ok: float = 1.0
    seconds: float = 0.0


def score_response(item: dict, response: Response, judge: Judge) -> QuestionResult:
    """Every system's answer to one question, scored by the same rules.

    Key facts and citations are scored only for an answer given: a decline scores 0
    key facts (counted in key-fact accuracy) and no citations (left out of citation
    metrics, which ask whether what *is* said is supported).
    """
    answer = response.answer
    evidence = list(item.get("evidence", []))
    key_facts = list(item.get("key_facts", []))
    r = QuestionResult(
        id=item.get("id", ""), type=item.get("type", ""), answerable=bool(item["answerable"]),
        question=item["question"], evidence=evidence,
        ranks=evidence_ranks(evidence, response.passages), answer=answer.answer,
        abstained=answer.abstained, notice=answer.notice, missed_facts=key_facts,
        seconds=response.seconds)
    if not answer.abstained:
        r.missed_facts = missed_key_facts(answer.answer, key_facts)
        r.key_facts = key_fact_accuracy(answer.answer, key_facts)
        check = check_citations(answer_statements(answer.answer),
                                {c.n: c.text for c in answer.citations}, judge)
        r.citation_recall, r.citation_precision = check.recall, check.precision
        r.unsupported = check.unsupported
        r.quotes_ok = quotes_in_passages(answer)
    return r


@dataclass
class Evaluation:
    """Per-question results of each system, in QA-file order, and how support was judged."""

    results: dict[str, list[QuestionResult]]
    judge: str
    descriptions: dict[str, str] = field(default_factory=dict)


Progress = Callable[[str, int, int], None]


def evaluate(items: list[dict], assistant: Assistant, systems: Sequence[str] = ("full",),
             judge: Judge | None = None, depth: int = RANK_DEPTH,
             progress: Progress | None = None) -> Evaluation:
    """Run each named system over every item and score it.

    ``judge`` decides whether a passage supports a sentence (rag.grounding.Judge); the
    default is the approximate ``SupportJudge``. A judge may carry a ``description``
    attribute, which the report shows in place of the approximate-judge note.
    """
    if judge is None:
        judge, note = SupportJudge(assistant.retriever.embedder), APPROXIMATE_JUDGE
    else:
        note = (getattr(judge, "description", None) or getattr(judge, "__name__", None)
                or type(judge).__name__)
    runners = build_systems(assistant, systems, depth)
    results: dict[str, list[QuestionResult]] = {}
    for name, run in runners.items():
        scored = []
        for n, item in enumerate(items, start=1):
            scored.append(score_response(item, run(item), judge))
            if progress:
                progress(name, n, len(items))
        results[name] = scored
    descriptions = {name: str(getattr(run, "description", name)) for name, run in runners.items()}
    return Evaluation(results, note, descriptions)


# ---------------------------------------------------------------------------- aggregate

def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def summarise(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """The metrics of one system over some questions; None where nothing measures it.

    Retrieval and key facts: answerable questions (a decline scores 0 key facts).
    Citations: answerable questions that were answered. Decline rates: each over its
    own kind of question. Latency: every question.
    """
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.abstained]
    seconds = [r.seconds for r in results]
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall@1": _mean([recall_at(r.ranks, 1) for r in answerable]),
        "recall@5": _mean([recall_at(r.ranks, 5) for r in answerable]),
        "recall@10": _mean([recall_at(r.ranks, 10) for r in answerable]),
        "mrr": _mean([reciprocal_rank(r.ranks) for r in answerable]),
        "ndcg@10": _mean([ndcg_at(r.ranks, 10) for r in answerable]),
        "key_fact_accuracy": _mean([0.0 if r.abstained else r.key_facts for r in answerable]),
        "citation_recall": _mean([r.citation_recall for r in answered]),
        "citation_precision": _mean([r.citation_precision for r in answered]),
        "quotes_in_passage": _mean([r.quotes_ok for r in answered]),
        "declined_when_unanswerable": _mean([float(r.abstained) for r in unanswerable]),
        "declined_when_answerable": _mean([float(r.abstained) for r in answerable]),
        "latency_p50_s": None if p50 is None else round(p50, 3),
        "latency_p95_s": None if p95 is None else round(p95, 3),
    }


def by_type(results: Sequence[QuestionResult]) -> dict[str, dict[str, Any]]:
    """``summarise`` for each question type, types in order of first appearance."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(r.type or "untyped", []).append(r)
    return {name: summarise(group) for name, group in groups.items()}


# --------------------------------------------------------------------------- thresholds

# Option name -> (metric of the full pipeline, "min" or "max").
THRESHOLDS: dict[str, tuple[str, str]] = {
    "min_recall5": ("recall@5", "min"),
    "min_key_facts": ("key_fact_accuracy", "min"),
    "min_citation_precision": ("citation_precision", "min"),
    "max_wrong_decline": ("declined_when_answerable", "max"),
    "min_decline": ("declined_when_unanswerable", "min"),
}


def load_thresholds(path: Path) -> dict[str, float]:
    """Read a JSON object of thresholds; keys as the options ("min-recall5" or "min_recall5").

    Keys starting with "_" are comments. An unknown key is an error rather than a check
    silently not made.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of thresholds")
    out: dict[str, float] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        name = key.replace("-", "_")
        if name not in THRESHOLDS:
            known = ", ".join(k.replace("_", "-") for k in THRESHOLDS)
            raise ValueError(f"{path}: unknown threshold {key!r}; known: {known}")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"{path}: threshold {key!r} must be a number, not {value!r}")
        out[name] = float(value)
    return out


def check_thresholds(overall: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """One message per threshold missed, naming the metric, its value and the option."""
    failures = []
    for name, limit in thresholds.items():
        metric, side = THRESHOLDS[name]
        value = overall.get(metric)
        option = "--" + name.replace("_", "-")
        if value is None:
            failures.append(f"{metric} not measured (no questions of that kind) ({option})")
        elif side == "min" and value < limit:
            failures.append(f"{metric} {value:.4f} is below the threshold {limit} ({option})")
        elif side == "max" and value > limit:
            failures.append(f"{metric} {value:.4f} is above the threshold {limit} ({option})")
    return failures


def metrics_of(evaluation: Evaluation, qa: str = "", primary: str = "full",
               thresholds: dict[str, float] | None = None) -> dict[str, Any]:
    """The metrics.json document: each system overall and per type; thresholds on primary."""
    systems = {
        name: {"description": evaluation.descriptions.get(name, name),
               "overall": summarise(results), "by_type": by_type(results)}
        for name, results in evaluation.results.items()
    }
    first = next(iter(evaluation.results.values()), [])
    thresholds = dict(thresholds or {})
    main = systems.get(primary, {}).get("overall", {})
    return {
        "qa": qa,
        "questions": len(first),
        "answerable": sum(r.answerable for r in first),
        "unanswerable": sum(not r.answerable for r in first),
        "judge": evaluation.judge,
        "primary": primary,
        "systems": systems,
        "thresholds": {k.replace("_", "-"): v for k, v in thresholds.items()},
        "failed": check_thresholds(main, thresholds),
    }


# ----------------------------------------------------------------------- worst questions

def shortfall(r: QuestionResult) -> float:
    """How badly a question went, for ranking the worst: the sum of what was lost.

    Missed evidence in the top 5, missed key facts, unsupported statements, each a share
    of 1; a wrong decline costs its key facts (1) plus 1; an answered unanswerable one 2.
    """
    if not r.answerable:
        return 0.0 if r.abstained else 2.0
    if r.abstained:
        return (1.0 - recall_at(r.ranks, 5)) + 2.0
    return ((1.0 - recall_at(r.ranks, 5)) + (1.0 - r.key_facts)
            + (1.0 - r.citation_recall) + (1.0 - r.citation_precision))


def problems(r: QuestionResult) -> list[str]:
    """What went wrong with one question, in words a person can act on."""
    out = []
    for quote, rank in zip(r.evidence, r.ranks, strict=False):
        if rank is None or rank > 5:
            where = "not in the top 10" if rank is None else f"rank {rank}"
            out.append(f"evidence not retrieved in top 5 ({where}): "
                       f"\u201c{first_quote(quote)}\u201d")
    if r.answerable and r.abstained:
        why = r.notice or "no sentence reached min_relevance"
        out.append(f"wrongly declined an answerable question ({why})")
    if not r.answerable and not r.abstained:
        out.append("answered an unanswerable question")
    if r.answerable and not r.abstained and r.missed_facts:
        out.append("key facts missed: " + ", ".join(f"`{f}`" for f in r.missed_facts))
    for statement in r.unsupported:
        out.append(f"unsupported citation: {statement}")
    return out


def worst(results: Sequence[QuestionResult], n: int = 10) -> list[QuestionResult]:
    """The n questions with the largest shortfall (ties in QA-file order), none at 0."""
    ranked = sorted(enumerate(results), key=lambda p: (-shortfall(p[1]), p[0]))
    return [r for _, r in ranked if shortfall(r) > 0][:n]


# ------------------------------------------------------------------------------ tables

# metric key, column header, shown as a percentage-like share (3 decimals) or seconds
COLUMNS: list[tuple[str, str]] = [
    ("recall@1", "R@1"), ("recall@5", "R@5"), ("recall@10", "R@10"), ("mrr", "MRR"),
    ("ndcg@10", "nDCG@10"), ("key_fact_accuracy", "KeyFacts"), ("citation_recall", "CitRec*"),
    ("citation_precision", "CitPrec*"), ("declined_when_unanswerable", "Decl:unans"),
    ("declined_when_answerable", "Decl:ans"), ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metric_rows(named: Iterable[tuple[str, dict[str, Any]]], with_n: bool = False,
                ) -> tuple[list[str], list[list[str]]]:
    """Headers and string cells for rows of metric dicts (one per system or type)."""
    headers = ["", *(["n"] if with_n else []), *(h for _, h in COLUMNS)]
    rows = [[name, *([str(m["questions"])] if with_n else []),
             *(_cell(m[key]) for key, _ in COLUMNS)] for name, m in named]
    return headers, rows


def plain_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = [[h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
              enumerate(zip(row, widths, strict=True))] for row in [headers, *rows]]
    text = ["  ".join(line).rstrip() for line in lines]
    return "\n".join([text[0], "-" * len(text[0]), *text[1:]])


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    align = ["---", *("---:" for _ in headers[1:])]
    return "\n".join("| " + " | ".join(r) + " |" for r in [headers, align, *rows])


def _notes(metrics: dict[str, Any]) -> list[str]:
    return [
        f"* CitRec/CitPrec: ALCE citation recall/precision, {metrics['judge']}.",
        "  Over answered answerable questions; an extractive answer quotes its passages, "
        "so it scores 1.0 by construction: read them with KeyFacts.",
        "R@k, MRR, nDCG@10: evidence quotes in the top 10 passages, answerable questions "
        "only. Decl:unans: declined when unanswerable (higher is better); Decl:ans: declined "
        "when answerable (lower is better). Latency: seconds per question on this machine.",
    ]


def render_terminal(metrics: dict[str, Any]) -> str:
    """The headline table (every system) and the primary system's per-type table."""
    systems = metrics["systems"]
    primary = metrics["primary"]
    lines = [f"{metrics['questions']} questions ({metrics['answerable']} answerable, "
             f"{metrics['unanswerable']} unanswerable) from {metrics['qa']}", ""]
    lines.append(plain_table(*metric_rows((n, s["overall"]) for n, s in systems.items())))
    if primary in systems:
        lines += ["", f"{primary}, by question type:"]
        lines.append(plain_table(*metric_rows(systems[primary]["by_type"].items(),
                                              with_n=True)))
    lines += ["", *_notes(metrics)]
    for line in metrics["failed"]:
        lines.append(f"FAIL: {line}")
    return "\n".join(lines)


def _quote(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def render_report(metrics: dict[str, Any], evaluation: Evaluation, chart: str | None = None,
                  worst_n: int = 10) -> str:
    """report.md: headline table, per-type tables, the worst questions and what went wrong."""
    systems = metrics["systems"]
    primary = metrics["primary"]
    out = ["# Evaluation report", "",
           f"{metrics['questions']} questions from `{metrics['qa']}`: {metrics['answerable']} "
           f"answerable, {metrics['unanswerable']} unanswerable. Primary system: `{primary}`.",
           "", "## Headline", "",
           markdown_table(*metric_rows((f"`{n}`", s["overall"]) for n, s in systems.items())),
           "", *_notes(metrics), "", "Systems:", ""]
    out += [f"- `{name}`: {s['description']}" for name, s in systems.items()]
    if chart:
        out += ["", f"![metrics]({chart})"]
    if metrics["thresholds"]:
        out += ["", "Thresholds (on the primary system): " + ", ".join(
            f"`--{k}` {v}" for k, v in metrics["thresholds"].items())]
        out += [f"- FAIL: {line}" for line in metrics["failed"]] or ["- all met"]
    if primary in systems:
        out += ["", "## By question type", "", f"`{primary}`:", "",
                markdown_table(*metric_rows(systems[primary]["by_type"].items(), with_n=True))]
    if len(systems) > 1:
        types = list(systems[primary]["by_type"]) if primary in systems else []
        headers = ["type", *(f"{n} {h}" for n in systems for h in ("R@5", "KeyFacts"))]
        rows = [[t, *(_cell(systems[n]["by_type"].get(t, {}).get(key))
                      for n in systems for key in ("recall@5", "key_fact_accuracy"))]
                for t in types]
        out += ["", "Side by side (recall@5 and key-fact accuracy per system):", "",
                markdown_table(headers, rows)]
    results = evaluation.results.get(primary, [])
    out += ["", f"## Worst {worst_n} questions (`{primary}`)", "",
            "Ranked by shortfall: missed evidence in the top 5, missed key facts and "
            "unsupported statements each cost up to 1; a wrong decline costs 2 plus missed "
            "evidence; answering an unanswerable question costs 2.", ""]
    bad = worst(results, worst_n)
    if not bad:
        out.append("No question fell short.")
    for n, r in enumerate(bad, start=1):
        out += [f"### {n}. {r.id} ({r.type}): {r.question}", ""]
        out += [f"- {p}" for p in problems(r)]
        shown = "declined" if r.abstained else _quote(r.answer)
        out += [f"- answer: {shown}", ""]
    rest = worst(results, len(results))[worst_n:]
    if rest:
        answered = [r.id for r in rest if not r.answerable]
        declined = [r.id for r in rest if r.answerable and r.abstained]
        out.append(f"Beyond these, {len(rest)} more fell short: "
                   + ", ".join(r.id for r in rest) + ".")
        if answered or declined:
            out.append(f"Among them, unanswerable but answered: {', '.join(answered) or 'none'};"
                       f" answerable but declined: {', '.join(declined) or 'none'}.")
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------- files

CHART_METRICS = [("recall@5", "R@5"), ("mrr", "MRR"), ("ndcg@10", "nDCG@10"),
                 ("key_fact_accuracy", "key facts"), ("citation_precision", "cit. prec."),
                 ("declined_when_unanswerable", "declined\nunanswerable"),
                 ("declined_when_answerable", "declined answerable\n(lower is better)")]


def write_chart(metrics: dict[str, Any], path: Path) -> bool:
    """A PNG: headline metrics per system, and the primary system by question type.

    matplotlib is imported here so the rest of `rag eval` works without it; returns
    False when it is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    systems = metrics["systems"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8.5), constrained_layout=True)
    width = 0.8 / max(1, len(systems))
    x = np.arange(len(CHART_METRICS))
    for i, (name, s) in enumerate(systems.items()):
        values = [s["overall"][key] or 0.0 for key, _ in CHART_METRICS]
        top.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
    top.set_xticks(x, [label for _, label in CHART_METRICS])
    top.set_ylim(0, 1.05)
    top.set_title(f"All questions (n={metrics['questions']})")
    top.legend(ncol=len(systems), fontsize="small")
    primary = systems.get(metrics["primary"])
    if primary:
        types = list(primary["by_type"])
        xt = np.arange(len(types))
        for i, (key, label) in enumerate([("recall@5", "R@5"), ("key_fact_accuracy",
                                                                 "key facts")]):
            values = [np.nan if (v := primary["by_type"][t][key]) is None else v
                      for t in types]
            bottom.bar(xt + i * 0.4 - 0.2, values, 0.4, label=label)
        # Unanswerable questions have no evidence or key facts: their bar is the decline rate.
        declined = [(j, primary["by_type"][t]["declined_when_unanswerable"])
                    for j, t in enumerate(types) if not primary["by_type"][t]["answerable"]]
        for n, (j, value) in enumerate(declined):
            bottom.bar(xt[j], value or 0.0, 0.4, color="tab:green",
                       label="declined (unanswerable)" if n == 0 else None)
        bottom.set_xticks(xt, [f"{t}\n(n={primary['by_type'][t]['questions']})" for t in types])
        bottom.set_ylim(0, 1.05)
        bottom.set_title(f"{metrics['primary']} by question type")
        bottom.legend(fontsize="small")
    fig.suptitle("rag eval: citation scores use an " + metrics["judge"].split(":")[0],
                 fontsize="medium")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_outputs(out: Path, metrics: dict[str, Any], evaluation: Evaluation,
                  ) -> list[Path]:
    """metrics.json, report.md, questions.jsonl and metrics.png (if matplotlib is there)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    chart = out / "metrics.png"
    has_chart = write_chart(metrics, chart)
    files = {
        "metrics.json": json.dumps(metrics, indent=2, ensure_ascii=False) + "\n",
        "report.md": render_report(metrics, evaluation, chart.name if has_chart else None),
        "questions.jsonl": "".join(
            json.dumps({"system": name, **asdict(r)}, ensure_ascii=False) + "\n"
            for name, results in evaluation.results.items() for r in results),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    if has_chart:
        written.append(chart)
    return written
