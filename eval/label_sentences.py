"""Keep the sentence labels behind answer precision (eval/sentence_labels.jsonl) complete.

Answer precision is the share of answer sentences a person labelled on-topic for their
question (DESIGN.md "Metrics"). A label is written by reading the sentence against the
question: on-topic when it states something that answers, or directly bears on, what
was asked about the asked subject; off-topic when it only shares words with it. When the
pipeline changes, answers pick new sentences; this script finds them.

    .venv/bin/python eval/label_sentences.py            which answer sentences lack a label
                                                        (exit 1 when any does)
    .venv/bin/python eval/label_sentences.py --list     those sentences, and the best-scoring
                                                        unlabelled candidates beside them,
                                                        as label lines with "on_topic": null

Fill in "on_topic" (true or false) in the listed lines and append them to the label
file; "question" and "in_answer" may stay (the loader ignores them). A plain-words
question (style "plain") shares the labels of the question it re-asks (paraphrase_of),
so its new sentences are listed under the original's id. Run it against the index the
goldens use (eval/check_unchanged.sh builds build/golden-index from tests/fixtures/corpus)
or any index of that corpus: --index-dir, RAG_INDEX_DIR or index/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rag.answering import Assistant
from rag.config import load_settings
from rag.evaluation import Labels, labels_for, load_labels, load_qa
from rag.metrics import label_key
from rag.records import Passage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QA = [ROOT / "eval" / "qa.jsonl", ROOT / "eval" / "holdout.jsonl"]
DEFAULT_LABELS = ROOT / "eval" / "sentence_labels.jsonl"


def answer_sentences(assistant: Assistant, item: dict) -> list[tuple[str, str]]:
    """(source file, sentence) of each sentence the answer quotes; none for a decline."""
    answer = assistant.answer(item["question"], history=item.get("history", []))
    if answer.abstained:
        return []
    return [(c.passage.doc.source, c.quote) for c in answer.citations]


def candidate_sentences(assistant: Assistant, item: dict) -> list[tuple[str, str]]:
    """(source file, sentence) of every sentence of the retrieved passages, best first.

    Ordered as the answer chooses (relevance, council words left out, plus the passage's
    retrieval rank as a prior): the sentences just below the answer's cut are the ones a
    small change would bring in, so they are the ones worth labelling ahead of time.
    """
    query = assistant.understand(item["question"], item.get("history", []))
    retriever = assistant.retriever
    vector = retriever.embedder.encode([query.dense_text])[0]
    passages: list[Passage] = retriever.search(query, k=assistant.settings.k, vector=vector)
    candidates, _, choice = assistant.sentence_relevance(query, passages, vector)
    if not candidates:
        return []
    rank = {p.chunk_id: r for r, p in enumerate(passages)}
    prior = np.array([1.0 - rank[p.chunk_id] / len(passages) for p, _, _ in candidates])
    order = np.argsort(-(choice + assistant.settings.rank_prior * prior), kind="stable")
    return [(candidates[i][0].doc.source, candidates[i][0].text[candidates[i][1]:
                                                                  candidates[i][2]])
            for i in order]


def to_label(item: dict, source: str, sentence: str, on_topic: bool | None,
             in_answer: bool) -> dict:
    """One line of the label file, with the question for the person labelling it; a
    plain-words question's line goes under the question it re-asks."""
    return {"id": item.get("paraphrase_of") or item["id"], "question": item["question"],
            "source": source, "sentence": " ".join(sentence.split()), "on_topic": on_topic,
            "in_answer": in_answer}


def survey(assistant: Assistant, items: list[dict], labels: Labels, extra: int,
           ) -> tuple[list[dict], list[dict]]:
    """(unlabelled answer sentences, unlabelled candidates worth labelling) as label lines,
    each sentence once per label id (a plain question and its original share one)."""
    missing: list[dict] = []
    worth: list[dict] = []
    listed: set[tuple[str, str]] = set()
    answerable = [item for item in items if item.get("answerable")]
    answers = [answer_sentences(assistant, item) for item in answerable]
    # Every question's answer sentences first: one a plain re-asking chooses may be only a
    # candidate of the question it re-asks, and must still be listed as an answer's.
    for item, chosen in zip(answerable, answers, strict=True):
        owner = item.get("paraphrase_of") or item["id"]
        known = labels_for(item, labels)
        for source, sentence in chosen:
            key = label_key(sentence)
            if key not in known and (owner, key) not in listed:
                missing.append(to_label(item, source, sentence, None, True))
                listed.add((owner, key))
    for item in answerable if extra else []:
        owner = item.get("paraphrase_of") or item["id"]
        known = labels_for(item, labels)
        shown = 0
        for source, sentence in candidate_sentences(assistant, item):
            key = label_key(sentence)
            if key in known or (owner, key) in listed:
                continue
            worth.append(to_label(item, source, sentence, None, False))
            listed.add((owner, key))
            shown += 1
            if shown >= extra:
                break
    return missing, worth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qa", action="append", type=Path,
                        help="QA file (repeatable; default eval/qa.jsonl and eval/holdout.jsonl)")
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--index-dir", help="index of the corpus the labels quote")
    parser.add_argument("--list", action="store_true",
                        help="print the unlabelled sentences as label lines to fill in")
    parser.add_argument("--extra", type=int, default=3,
                        help="with --list: unlabelled candidates per question beyond the "
                             "answer's own (default 3)")
    args = parser.parse_args(argv)
    items = [item for path in (args.qa or DEFAULT_QA) for item in load_qa(path)]
    labels = load_labels(args.labels) if args.labels.is_file() else {}
    assistant = Assistant(load_settings(index_dir=args.index_dir))
    missing, worth = survey(assistant, items, labels, args.extra if args.list else 0)
    if args.list:
        for row in [*missing, *worth]:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    for row in missing:
        print(f"{row['id']}: {row['sentence']}")
    answerable = sum(1 for item in items if item.get("answerable"))
    print(f"{len(missing)} answer sentences unlabelled over {answerable} answerable questions "
          f"({args.labels})", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
