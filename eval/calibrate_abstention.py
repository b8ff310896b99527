"""Choose the abstention threshold (min_relevance) on the dev set, showing both error rates.

For each threshold: the share of unanswerable questions declined (higher is better) and
of answerable questions wrongly declined (lower is better). Out-of-scope checks (unknown
names, years with no document) apply first, as in the product.
Run: .venv/bin/python eval/calibrate_abstention.py [--qa eval/qa.jsonl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rag.answering import Assistant, contextualise
from rag.evaluation import load_qa


def best_scores(assistant: Assistant, items: list[dict]) -> list[tuple[bool, float]]:
    """(answerable, best sentence relevance), with out-of-scope questions scored -1."""
    out = []
    for item in items:
        query = contextualise(item["question"], item.get("history", []))
        if assistant.out_of_scope(query):
            out.append((item["answerable"], -1.0))
            continue
        _, scores = assistant.sentence_relevance(query, assistant.retriever.search(query))
        out.append((item["answerable"], float(scores.max()) if len(scores) else -1.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qa", default="eval/qa.jsonl")
    args = parser.parse_args()
    scored = best_scores(Assistant(), load_qa(Path(args.qa)))
    answerable = [s for a, s in scored if a]
    unanswerable = [s for a, s in scored if not a]
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable")
    print(f"{'threshold':>9} {'declined|unanswerable':>22} {'declined|answerable':>20}")
    for t in [x / 100 for x in range(36, 64)]:
        good = sum(s < t for s in unanswerable) / len(unanswerable)
        bad = sum(s < t for s in answerable) / len(answerable)
        print(f"{t:9.2f} {good:22.2f} {bad:20.2f}")


if __name__ == "__main__":
    main()
