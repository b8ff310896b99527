"""Learned filters on answer sentences, tried in the fourth and sixth sessions, not shipped.

    .venv/bin/python eval/sentence_filter_experiment.py --index-dir INDEX [--embedding-probe]

INDEX: an index of tests/fixtures/corpus (eval/check_unchanged.sh builds one in
build/golden-index). Issue 19 allows a small ranker trained reproducibly. This one is a
logistic regression over features the answer already computes for each sentence:
- its score against the answer's best;
- its relevance;
- its passage's retrieval rank;
- its rarer-word coverage of the question;
- its place in the candidate order, and its length;
- whether it shares the best sentence's passage;
- whether it gives the asked figure, or holds the subject's telling word;
- what kind of question asked it.

It is trained on the dev set's labelled answer sentences (eval/sentence_labels.jsonl)
and scored on the held-out set's. An answer then keeps its direct sentence and every
other sentence whose predicted chance of being on-topic is at least t. Answer precision
and key facts are computed on the answer text left. The results of 2026-11-30 are in
docs/DESIGN.md, "Sentence choice", variant R1.

--embedding-probe adds R2 (sixth session): a logistic regression on nothing but the text,
the question's and the sentence's MiniLM vectors multiplied and their cosine, trained on
every labelled dev sentence (not only answer ones), scored out of fold on the dev set and
on the held-out set.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from rag.answering import (
    _MEASURE_WORDS,
    Assistant,
    _roots,
    distinctive_coverage,
    telling_words,
)
from rag.config import load_settings
from rag.evaluation import labels_for, load_labels, load_qa
from rag.figures import gives_measure
from rag.metrics import label_key

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ("score_rel", "relevance", "prior", "coverage", "pos", "words", "same_passage",
            "measure", "asks_measure", "open", "over_time", "telling", "has_telling")


def answer_rows(assistant: Assistant, path: Path, split: str, labels: dict) -> list[dict]:
    """One row per labelled answer sentence: its features, its label, its answer."""
    rows = []
    for item in load_qa(path):
        if not item["answerable"]:
            continue
        own = labels_for(item, labels)
        answer = assistant.answer(item["question"], item.get("history", []))
        if answer.abstained:
            continue
        quotes = {c.quote for c in answer.citations}
        query = assistant.understand(item["question"], item.get("history", []))
        vector = assistant.retriever.embedder.encode([query.dense_text])[0]
        passages = assistant.retriever.search(query, k=assistant.settings.k, vector=vector)
        candidates, relevance, choice = assistant.sentence_relevance(query, passages, vector)
        rank = {p.chunk_id: r for r, p in enumerate(passages)}
        prior = np.array([1.0 - rank[p.chunk_id] / len(passages) for p, _, _ in candidates])
        scores = choice + assistant.settings.rank_prior * prior
        order = np.argsort(-scores)
        text = [p.text[s:e] for p, s, e in candidates]
        coverage = distinctive_coverage(query.asked_words - query.council_words
                                        - _MEASURE_WORDS, text, text)
        heads = {h[:5] for h in telling_words(query, text)}
        top = order[0]
        for pos, i in enumerate(order):
            if text[i] not in quotes or label_key(text[i]) not in own:
                continue
            rows.append({
                "split": split, "id": item["id"], "plain": item.get("style") == "plain",
                "on": own[label_key(text[i])], "quote": text[i], "is_top": bool(i == top),
                "answer": answer.answer, "key_facts": item["key_facts"],
                "score_rel": scores[i] / scores[top], "relevance": relevance[i],
                "prior": prior[i], "coverage": coverage[i], "pos": np.log1p(pos),
                "words": np.log1p(len(text[i].split())),
                "same_passage": candidates[i][0].chunk_id == candidates[top][0].chunk_id,
                "measure": bool(query.measure and gives_measure(text[i], query.measure)),
                "asks_measure": query.measure is not None, "open": query.open,
                "over_time": query.over_time, "telling": bool(heads & _roots(text[i])),
                "has_telling": bool(heads),
            })
    return rows


def matrix(rows: list[dict]) -> np.ndarray:
    return np.array([[float(r[f]) for f in FEATURES] for r in rows])


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000,
        rate: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logistic regression by gradient descent on standardised features (deterministic)."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        w -= rate * (z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0] / len(y))
    return mean, std, w


def predict(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    mean, std, w = model
    return 1 / (1 + np.exp(-np.hstack([(x - mean) / std, np.ones((len(x), 1))]) @ w))


def filtered(rows: list[dict], probs: np.ndarray, t: float) -> tuple[float, float]:
    """Answer precision and key facts once sentences under t are dropped."""
    by_question: dict[str, list] = {}
    for row, p in zip(rows, probs, strict=True):
        by_question.setdefault(row["id"], []).append((row, p))
    on = kept = 0
    facts = []
    for items in by_question.values():
        text = items[0][0]["answer"]
        for row, p in items:
            if row["is_top"] or p >= t:
                kept, on = kept + 1, on + row["on"]
            else:
                text = text.replace(row["quote"], "")
        wanted = items[0][0]["key_facts"]
        facts.append(np.mean([bool(re.search(k, text, re.I)) for k in wanted]) if wanted else 1)
    return on / max(kept, 1), float(np.mean(facts))


def text_rows(assistant: Assistant, items: dict[str, dict], labels_path: Path,
              ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every labelled dev sentence as (question id, features, label) for R2: the
    question's and the sentence's vectors multiplied, and their cosine. Only the text
    is read, so a change to scoring cannot stale the weights."""
    raw = [json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines()
           if line.strip()]
    raw = [r for r in raw if r["id"].startswith("q") and r["id"] in items]
    return ([r["id"] for r in raw],
            pair_features(assistant, [items[r["id"]]["question"] for r in raw],
                          [r["sentence"] for r in raw]),
            np.array([bool(r["on_topic"]) for r in raw], float))


def pair_features(assistant: Assistant, questions: list[str], sentences: list[str],
                  ) -> np.ndarray:
    encode = assistant.retriever.embedder.encode
    q, s = encode(questions), encode(sentences)
    return np.hstack([q * s, (q * s).sum(1, keepdims=True)])


def embedding_probe(assistant: Assistant, rows: list[dict], folds: int = 5) -> None:
    """R2: the text-only filter, scored out of fold on the dev set (questions split into
    five folds) and, trained on all of it, on the held-out set."""
    items = {i["id"]: i for i in load_qa(ROOT / "eval" / "qa.jsonl")}
    ids, x, y = text_rows(assistant, items, ROOT / "eval" / "sentence_labels.jsonl")
    questions = sorted(set(ids))
    fold = {q: n % folds for n, q in enumerate(questions)}
    held = {i["id"]: i for i in load_qa(ROOT / "eval" / "holdout.jsonl")}
    ask = {**items, **held}
    probs = np.zeros(len(rows))
    xr = pair_features(assistant, [ask[r["id"]]["question"] for r in rows],
                       [r["quote"] for r in rows])
    for k in range(folds):
        model = fit(x[[fold[i] != k for i in ids]], y[[fold[i] != k for i in ids]], l2=10)
        part = [r["split"] == "dev" and fold.get(r["id"]) == k for r in rows]
        probs[part] = predict(model, xr[part])
    model = fit(x, y, l2=10)
    part = [r["split"] == "holdout" for r in rows]
    probs[part] = predict(model, xr[part])
    for split in ("dev", "holdout"):
        for plain in (False, True):
            keep = [n for n, r in enumerate(rows) if r["split"] == split and r["plain"] == plain]
            sub = [rows[n] for n in keep]
            cells = [f"t={t}: precision {p:.3f} key facts {k:.3f}"
                     for t in (0.0, 0.3) for p, k in [filtered(sub, probs[keep], t)]]
            print(f"R2 {split:8} {'plain' if plain else 'words'}  " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--embedding-probe", action="store_true",
                        help="also score R2, the filter that reads only the text")
    args = parser.parse_args()
    assistant = Assistant(load_settings(env={}, index_dir=args.index_dir))
    labels = load_labels(ROOT / "eval" / "sentence_labels.jsonl")
    rows = (answer_rows(assistant, ROOT / "eval" / "qa.jsonl", "dev", labels)
            + answer_rows(assistant, ROOT / "eval" / "holdout.jsonl", "holdout", labels))
    train = [r for r in rows if r["split"] == "dev"]
    model = fit(matrix(train), np.array([r["on"] for r in train], float))
    print("weights:", dict(zip([*FEATURES, "bias"], np.round(model[2], 2).tolist(),
                               strict=True)))
    for split in ("dev", "holdout"):
        for plain in (False, True):
            part = [r for r in rows if r["split"] == split and r["plain"] == plain]
            probs = predict(model, matrix(part))
            cells = [f"t={t}: precision {p:.3f} key facts {k:.3f}"
                     for t in (0.0, 0.3, 0.4, 0.5) for p, k in [filtered(part, probs, t)]]
            print(f"{split:8} {'plain' if plain else 'words'}  " + " | ".join(cells))
    if args.embedding_probe:
        embedding_probe(assistant, rows)


if __name__ == "__main__":
    main()
