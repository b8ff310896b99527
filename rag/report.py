"""What ``rag eval`` shows and writes: tables, report.md, the chart, the output files.

Presentation only: it reads the metrics document and the per-question results that
rag.evaluation produced, ranks the worst questions and says what went wrong with each.
Nothing here changes a figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rag.evaluation import Evaluation, QuestionResult
from rag.metrics import first_quote, recall_at

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
    for sentence in r.off_topic:
        out.append(f"off-topic sentence: \u201c{_quote(sentence, 200)}\u201d")
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
    ("ndcg@10", "nDCG@10"), ("key_fact_accuracy", "KeyFacts"), ("answer_precision", "AnsPrec"),
    ("answer_sentences_unlabelled", "Unlab"), ("citation_recall", "CitRec*"),
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
        f"AnsPrec: answer precision, the share of answer sentences labelled on-topic "
        f"({metrics.get('labels') or 'no label file: not measured'}), pooled over answered "
        "answerable questions; Unlab: answer sentences with no label, left out of AnsPrec "
        "(label them: eval/label_sentences.py).",
    ]


def _style_intro(metrics: dict[str, Any]) -> str:
    return (f"{metrics['primary']}, questions in plain words (style \"plain\") against the "
            "same questions in the reports' words, and every question but the plain ones:")


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
        if systems[primary].get("by_style"):
            lines += ["", _style_intro(metrics)]
            lines.append(plain_table(*metric_rows(systems[primary]["by_style"].items(),
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
        if systems[primary].get("by_style"):
            out += ["", "## Plain words", "", _style_intro(metrics), "",
                    markdown_table(*metric_rows(systems[primary]["by_style"].items(),
                                                with_n=True))]
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
    out += off_topic_section(results, primary)
    return "\n".join(out).rstrip() + "\n"


def off_topic_section(results: Sequence[QuestionResult], primary: str) -> list[str]:
    """Every off-topic answer sentence, by question, and the unlabelled ones counted:
    the list to work from when improving which sentences an answer keeps."""
    labelled = [r for r in results if r.on_topic is not None]
    if not labelled:
        return []
    out = ["", f"## Off-topic answer sentences (`{primary}`)", "",
           "Answer sentences labelled off-topic for their question "
           "(eval/sentence_labels.jsonl):", ""]
    off = [r for r in labelled if r.off_topic]
    out += [f"- {r.id} ({r.question}): \u201c{_quote(s, 300)}\u201d"
            for r in off for s in r.off_topic] or ["- none"]
    unlabelled = [r for r in labelled if r.unlabelled]
    if unlabelled:
        count = sum(len(r.unlabelled) for r in unlabelled)
        out += ["", f"{count} answer sentences have no label, in "
                + ", ".join(r.id for r in unlabelled)
                + ": `python eval/label_sentences.py --list` lists them to label."]
    return out


# ------------------------------------------------------------------------------- files

CHART_METRICS = [("recall@5", "R@5"), ("mrr", "MRR"), ("ndcg@10", "nDCG@10"),
                 ("key_fact_accuracy", "key facts"), ("answer_precision", "answer prec."),
                 ("citation_precision", "cit. prec."),
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
