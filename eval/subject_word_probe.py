"""Measure a stricter figure check before building it: must a figure be given beside a
rarer word of the question's subject?

    .venv/bin/python eval/subject_word_probe.py --index-dir DIR --qa eval/qa.jsonl \
        [--qa eval/holdout.jsonl] [--share 0.05 --share 0.1 ...]

Issue 19's unanswerable questions that are still answered are mostly figures on a
neighbouring subject: "how many children went missing ...?" gets "481 children have not
had their plan reviewed". The rule probed here would decline an answer unless one of the
sentences the figure check reads (``rag.answering.missing_figure``'s, each with the
sentence it continues) states one of the question's subject words found in at most
``share`` of the index's passages (and in one at least: a word the reports never use
cannot be required). Subject words: the question's words but stopwords, people, services,
the council, documents, times, months and the words that ask for the figure
(``rag.words.FIGURE_FRAME_WORDS``, as the shipped notice reads them).

It answers each question once with the shipped pipeline, records what the figure check
read (by wrapping it: an experiment, not a product hook), and prints per share the
questions the rule would newly decline, answerable and unanswerable. Nothing is changed.
It also prints how well the model's cosine between the question and the clause holding
the figure separates the right answers from the unanswerable questions (ROC AUC): a
judge the words above could lean on, if it did.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import replace
from pathlib import Path

import rag.answering as answering
from rag.config import load_settings
from rag.evaluation import load_qa
from rag.metrics import key_fact_accuracy
from rag.words import (
    DOCUMENT_WORD,
    FIGURE_FRAME_WORDS,
    MONTHS,
    NON_SUBJECT_WORDS,
    PEOPLE_WORDS,
    SERVICE_WORDS,
    STOPWORDS,
)


def subject_words(question: str, measure: list | None, council: set[str]) -> list[str]:
    counted = set(measure[1]) if measure else set()
    words = [w for w in re.findall(r"[a-z]+", question.lower())
             if len(w) > 2 and w not in STOPWORDS | NON_SUBJECT_WORDS | PEOPLE_WORDS
             | SERVICE_WORDS | FIGURE_FRAME_WORDS | counted | council
             and w not in MONTHS and not DOCUMENT_WORD.match(w)]
    return list(dict.fromkeys(words))


def _roots(text: str) -> set[str]:
    return {w.lower()[:5] for w in re.findall(r"[A-Za-z]+", text)}


def record(assistant: answering.Assistant, items: list[dict]) -> list[dict]:
    """Each answered figure question with what the figure check read."""
    seen: list[dict] = []
    check = answering.missing_figure

    def spy(query, sentences):  # noqa: ANN001, ANN202 - wraps the real check unchanged
        result = check(query, sentences)
        m = query.measure
        seen.append({"measure": m and [m.kind, list(m.counted)], "figure": query.figure,
                     "sentences": sentences, "declined": bool(result),
                     "council": sorted(query.council_words),
                     "everyday": [t for _, terms in query.everyday for t in terms]})
        return result

    answering.missing_figure = spy
    try:
        out = []
        for item in items:
            seen.clear()
            answer = assistant.answer(item["question"], history=item.get("history", []))
            read = seen[-1] if seen else None
            if answer.abstained or not read or not (read["measure"] or read["figure"]):
                continue
            out.append({**item, "read": read})
        return out
    finally:
        answering.missing_figure = check


def would_decline(row: dict, share: float, reader) -> bool:  # noqa: ANN001
    read = row["read"]
    words = subject_words(row["question"], read["measure"], set(read["council"]))
    rare = reader.rare_pairs(words, share)  # one word is a phrase of one
    if not rare:
        return False
    said = set().union(*(_roots(s) for s in read["sentences"]))
    also = {w[:5] for term in read["everyday"] for w in term.split()}
    return not ({w[:5] for w in rare} & said or also & said)


def _figure_clauses(sentences: list[str]) -> list[str]:
    """The parts of the sentences (between commas, brackets, "and", "which") that hold a
    number: "481 children have not had their plan reviewed within required timescales"."""
    parts = (p.strip() for s in sentences for p in _CLAUSE.split(s))
    return [p for p in parts if p and _NUMBER.search(p)]


_CLAUSE = re.compile(r"[,;:()]|\band\b|\bwhich\b|\bwhile\b")
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|half|third|"
                     r"quarter|majority|minority)\b", re.I)


def clause_separation(assistant: answering.Assistant, rows: list[dict]) -> dict:
    """Whether the model tells the two apart without the words: each answer's best cosine
    between the question and a clause holding its figure, for the answerable questions
    it answers right (key fact found) against the unanswerable ones; AUC 0.5 is chance."""
    right, wrong = [], []
    for row in rows:
        clauses = _figure_clauses(row["read"]["sentences"])
        if not clauses:
            continue
        vectors = assistant.retriever.embedder.encode([row["question"], *clauses])
        best = float((vectors[1:] @ vectors[0]).max())
        if not row.get("answerable", True):
            wrong.append(best)
        elif key_fact_accuracy(" ".join(row["read"]["sentences"]), row.get("key_facts", [])) == 1:
            right.append(best)
    pairs = [(a > b) + 0.5 * (a == b) for a in right for b in wrong]
    return {"answered_right": len(right), "unanswerable": len(wrong),
            "auc": round(sum(pairs) / max(1, len(pairs)), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--qa", type=Path, action="append", required=True)
    parser.add_argument("--share", type=float, action="append")
    args = parser.parse_args()
    assistant = answering.Assistant(replace(load_settings(), index_dir=args.index_dir))
    rows = [r for path in args.qa for r in record(assistant, load_qa(path))]
    reader = assistant.retriever.reader
    print(json.dumps({"clause_cosine": clause_separation(assistant, rows)}))
    for share in args.share or [0.05, 0.1, 0.2, 1.0]:
        hit = [r for r in rows if would_decline(r, share, reader)]
        answerable = [r["id"] for r in hit if r.get("answerable", True)]
        unanswerable = [r["id"] for r in hit if not r.get("answerable", True)]
        print(json.dumps({"share": share, "answered_figure_questions": len(rows),
                          "answerable_declined": answerable,
                          "unanswerable_declined": unanswerable}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
