"""Retrieval ablation on the dev set: recall@5 / MRR for each configuration, side by side.

Run: .venv/bin/python eval/ablation.py [--qa eval/qa.jsonl]  (uses the index in index/)
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

from rag.config import load_settings
from rag.evaluation import load_qa
from rag.metrics import evidence_ranks, recall_at, reciprocal_rank
from rag.query import understand
from rag.retrieval import Retriever


def score(retriever: Retriever, items: list[dict], mode: str, diversify: bool) -> tuple:
    r5, rr = [], []
    for item in items:
        query = understand(item["question"], item.get("history", []), lexicon=retriever.reader)
        passages = retriever.search(query, k=10, mode=mode, diversify=diversify)
        ranks = evidence_ranks(item["evidence"], [p.text for p in passages],
                               [p.doc.source for p in passages])
        r5.append(recall_at(ranks, 5))
        rr.append(reciprocal_rank(ranks))
    return statistics.fmean(r5), statistics.fmean(rr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qa", default="eval/qa.jsonl")
    args = parser.parse_args()
    items = [i for i in load_qa(Path(args.qa)) if i["answerable"]]
    base = Retriever(load_settings())
    configs = [
        ("dense", "dense", True, {}),
        ("bm25", "bm25", True, {}),
        ("hybrid, chunk vectors", "hybrid", True, {"rank_by_sentence": False}),
        ("hybrid, RRF k=10", "hybrid", True, {"rrf_k": 10}),
        ("hybrid, RRF k=60", "hybrid", True, {"rrf_k": 60}),
        ("hybrid, no MMR", "hybrid", False, {}),
        ("hybrid + MMR 0.75", "hybrid", True, {"mmr_lambda": 0.75}),
        ("hybrid + MMR 0.9", "hybrid", True, {"mmr_lambda": 0.9}),
        ("hybrid, dense x2", "hybrid", True, {"dense_weight": 2.0}),
        ("hybrid, bm25 x2", "hybrid", True, {"bm25_weight": 2.0}),
    ]
    print(f"{len(items)} answerable questions")
    print(f"{'configuration':24} {'recall@5':>9} {'MRR':>7}")
    for name, mode, diversify, changes in configs:
        base.settings = dataclasses.replace(load_settings(), **changes)
        r5, mrr = score(base, items, mode, diversify)
        print(f"{name:24} {r5:9.3f} {mrr:7.3f}")


if __name__ == "__main__":
    main()
