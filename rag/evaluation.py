"""Scoring systems against a QA file (DESIGN.md "Metrics").

``evaluate`` runs the real pipeline, and with it the baselines it is compared against
(rag.systems), over the same questions; ``metrics_of`` aggregates overall and per
question type and checks the thresholds. The metrics themselves are in rag.metrics and
the tables, report and chart in rag.report; this module is what joins the two.

Every system is scored by the same code: one ``score_response`` turns what a system
returned (its ranked passages and its answer) into a ``QuestionResult``. A baseline
therefore cannot look better or worse because it was measured differently.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answering import Assistant
from rag.grounding import Judge, SupportJudge
from rag.metrics import (
    Evidence,
    SentenceLabels,
    answer_precision,
    answer_statements,
    check_citations,
    evidence_ranks,
    judge_sentences,
    key_fact_accuracy,
    label_key,
    missed_key_facts,
    ndcg_at,
    percentile,
    quotes_in_passages,
    recall_at,
    reciprocal_rank,
)
from rag.systems import RANK_DEPTH, Response, build_systems

# Said wherever citation scores are shown: the default judge is not an entailment model.
APPROXIMATE_JUDGE = (
    "approximate judge: exact containment, else embedding cosine + word overlap + "
    "number/name/verdict/negation agreement"
)


def load_qa(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    return items


# Where `rag eval` looks for sentence labels when --labels is not given: beside the QA file.
LABELS_FILE = "sentence_labels.jsonl"

# Question id -> that question's labels (SentenceLabels).
Labels = dict[str, dict[str, bool]]


def load_labels(path: Path) -> Labels:
    """Read the sentence labels (eval/sentence_labels.jsonl, DESIGN.md "Metrics").

    One JSON object a line: ``id`` (a question's), ``source`` (the corpus file the
    sentence is quoted from), ``sentence`` (verbatim) and ``on_topic`` (true or false);
    other keys (``note``, ``question``, ``in_answer``) are for the reader. Two labels of
    one sentence for one question that disagree are an error, not a silent last-wins.
    """
    labels: Labels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not (isinstance(row, dict) and isinstance(row.get("id"), str)
                and isinstance(row.get("sentence"), str) and row["sentence"].strip()
                and isinstance(row.get("on_topic"), bool)):
            raise ValueError(f"{path}:{n}: a label needs \"id\", \"sentence\" and "
                             "\"on_topic\" (true or false)")
        key = label_key(row["sentence"])
        known = labels.setdefault(row["id"], {})
        if known.get(key, row["on_topic"]) != row["on_topic"]:
            raise ValueError(f"{path}:{n}: {row['id']} labels this sentence both on- and "
                             "off-topic")
        known[key] = row["on_topic"]
    return labels


def find_labels(qa: Path, given: str | None = None) -> Path | None:
    """The label file `rag eval` uses: ``given`` ("" for none), else LABELS_FILE beside
    the QA file when there is one, so eval/qa.jsonl and eval/holdout.jsonl find
    eval/sentence_labels.jsonl and a QA file without labels is simply not scored on it."""
    if given is not None:
        if given and not Path(given).is_file():
            raise ValueError(f"{given}: no such label file")
        return Path(given) if given else None
    beside = qa.parent / LABELS_FILE
    return beside if beside.is_file() else None


def labels_for(item: dict, labels: Labels) -> dict[str, bool]:
    """A question's labels: its own, then those of the question it re-asks in other words.

    A plain-words paraphrase asks the same thing as its original, so a sentence on-topic
    for one is on-topic for the other; its own labels cover only the sentences the
    original's answer and candidates did not.
    """
    merged = dict(labels.get(item.get("paraphrase_of") or "", {}))
    merged.update(labels.get(item.get("id", ""), {}))
    return merged


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
    style: str = ""  # "plain": the question re-asked in everyday words
    paraphrase_of: str = ""  # the id of the question a plain one re-asks
    # Answer sentences by their labels; on_topic is None when no labels were consulted.
    on_topic: int | None = None
    off_topic: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)


def score_response(item: dict, response: Response, judge: Judge,
                   labels: SentenceLabels | None = None) -> QuestionResult:
    """Every system's answer to one question, scored by the same rules.

    Key facts and citations are scored only for an answer given: a decline scores 0
    key facts (counted in key-fact accuracy) and no citations (left out of citation
    metrics, which ask whether what *is* said is supported). ``labels``: this question's
    sentence labels (``labels_for``); the answer's sentences are its citations' quotes,
    so the measure does not depend on how the answer text is laid out.
    """
    answer = response.answer
    evidence = list(item.get("evidence", []))
    key_facts = list(item.get("key_facts", []))
    r = QuestionResult(
        id=item.get("id", ""), type=item.get("type", ""), answerable=bool(item["answerable"]),
        question=item["question"], evidence=evidence,
        ranks=evidence_ranks(evidence, response.passages, response.sources), answer=answer.answer,
        abstained=answer.abstained, notice=answer.notice, missed_facts=key_facts,
        seconds=response.seconds, style=str(item.get("style", "")),
        paraphrase_of=str(item.get("paraphrase_of", "")))
    if not answer.abstained:
        r.missed_facts = missed_key_facts(answer.answer, key_facts)
        r.key_facts = key_fact_accuracy(answer.answer, key_facts)
        check = check_citations(answer_statements(answer.answer),
                                {c.n: c.passage.text for c in answer.citations}, judge)
        r.citation_recall, r.citation_precision = check.recall, check.precision
        r.unsupported = check.unsupported
        r.quotes_ok = quotes_in_passages(answer.citations)
        if labels is not None and r.answerable:
            judged = judge_sentences([c.quote for c in answer.citations], labels)
            r.on_topic, r.off_topic = len(judged.on_topic), judged.off_topic
            r.unlabelled = judged.unlabelled
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
             progress: Progress | None = None, labels: Labels | None = None) -> Evaluation:
    """Run each named system over every item and score it.

    ``judge`` decides whether a passage supports a sentence (rag.grounding.Judge); the
    default is the approximate ``SupportJudge``. A judge may carry a ``description``
    attribute, which the report shows in place of the approximate-judge note.
    ``labels`` (``load_labels``): sentence labels for answer precision; without them
    it is not measured.
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
            own = None if labels is None else labels_for(item, labels)
            scored.append(score_response(item, run(item), judge, own))
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
    Citations and answer precision: answerable questions that were answered (precision
    pooled over their labelled sentences; the unlabelled ones are counted, not scored;
    None/None when no labels were given). Decline rates: each over its own kind of
    question. Latency: every question.
    """
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.abstained]
    labelled = [r for r in answered if r.on_topic is not None]
    on_topic = sum(r.on_topic or 0 for r in labelled)
    off_topic = sum(len(r.off_topic) for r in labelled)
    precision = answer_precision(on_topic, off_topic)
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
        "answer_precision": None if precision is None else round(precision, 4),
        "answer_sentences_off_topic": off_topic if labelled else None,
        "answer_sentences_unlabelled": (sum(len(r.unlabelled) for r in labelled)
                                        if labelled else None),
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


# The rows of the plain-words comparison (DESIGN.md "Metrics"), in the order shown.
PLAIN, PLAIN_ORIGINALS, NOT_PLAIN = "plain words", "same, report's words", "all but plain"
STYLES = (PLAIN, PLAIN_ORIGINALS, NOT_PLAIN)


def by_style(results: Sequence[QuestionResult]) -> dict[str, dict[str, Any]]:
    """The plain-words questions, the questions they re-ask, and every other question.

    The middle row is the fair comparison: the same questions in the reports' wording.
    Empty when the QA file has no plain-words questions.
    """
    plain = [r for r in results if r.style == "plain"]
    if not plain:
        return {}
    originals = {r.paraphrase_of for r in plain}
    return {PLAIN: summarise(plain),
            PLAIN_ORIGINALS: summarise([r for r in results if r.id in originals]),
            NOT_PLAIN: summarise([r for r in results if r.style != "plain"])}


# --------------------------------------------------------------------------- thresholds

# Option name -> (metric of the full pipeline, "min" or "max").
THRESHOLDS: dict[str, tuple[str, str]] = {
    "min_recall5": ("recall@5", "min"),
    "min_mrr": ("mrr", "min"),
    "min_key_facts": ("key_fact_accuracy", "min"),
    "min_citation_precision": ("citation_precision", "min"),
    "max_wrong_decline": ("declined_when_answerable", "max"),
    "min_decline": ("declined_when_unanswerable", "min"),
}


def load_thresholds(path: Path) -> dict[str, float]:
    """Read a JSON object of thresholds; keys as the options ("min-recall5" or "min_recall5").

    Keys starting with "_" are comments. An unknown key is an error rather than a check
    silently not made. ``"by_style": {"all but plain": {...}, "plain words": {...}}``
    holds thresholds on one style's row (keys "all but plain/min_recall5"): the
    plain-words questions are far harder, and a floor on all questions together would
    have to drop so far that it no longer guards the others.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of thresholds")
    out: dict[str, float] = {}

    def read(items: dict, prefix: str = "") -> None:
        for key, value in items.items():
            if key.startswith("_"):
                continue
            if key == "by_style" and not prefix and isinstance(value, dict):
                for style, inner in value.items():
                    if style not in STYLES or not isinstance(inner, dict):
                        raise ValueError(f"{path}: by_style {style!r} must be one of "
                                         f"{', '.join(STYLES)}, holding an object")
                    read(inner, f"{style}/")
                continue
            name = key.replace("-", "_")
            if name not in THRESHOLDS:
                known = ", ".join(k.replace("_", "-") for k in THRESHOLDS)
                raise ValueError(f"{path}: unknown threshold {key!r}; known: {known}, by_style")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{path}: threshold {key!r} must be a number, not {value!r}")
            out[prefix + name] = float(value)

    read(data)
    return out


def check_thresholds(overall: dict[str, Any], thresholds: dict[str, float],
                     styles: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """One message per threshold missed, naming the metric, its value and the option
    (and the style's row, for a "style/name" threshold)."""
    failures = []
    for key, limit in thresholds.items():
        style, _, name = key.rpartition("/")
        metric, side = THRESHOLDS[name]
        row = (styles or {}).get(style, {}) if style else overall
        value = row.get(metric)
        option = "--" + name.replace("_", "-") if not style else f"by_style {style!r} {name}"
        where = f"{style}: " if style else ""
        if value is None:
            failures.append(f"{where}{metric} not measured (no questions of that kind) "
                            f"({option})")
        elif side == "min" and value < limit:
            failures.append(f"{where}{metric} {value:.4f} is below the threshold {limit} "
                            f"({option})")
        elif side == "max" and value > limit:
            failures.append(f"{where}{metric} {value:.4f} is above the threshold {limit} "
                            f"({option})")
    return failures


def metrics_of(evaluation: Evaluation, qa: str = "", primary: str = "full",
               thresholds: dict[str, float] | None = None,
               labels: str | None = None) -> dict[str, Any]:
    """The metrics.json document: each system overall, per type and per style (plain
    words or not); thresholds on primary. ``labels``: the sentence-label file used."""
    systems = {
        name: {"description": evaluation.descriptions.get(name, name),
               "overall": summarise(results), "by_type": by_type(results),
               "by_style": by_style(results)}
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
        "labels": labels,
        "primary": primary,
        "systems": systems,
        "thresholds": {k.replace("_", "-"): v for k, v in thresholds.items()},
        "failed": check_thresholds(main, thresholds, systems.get(primary, {}).get("by_style")),
    }

