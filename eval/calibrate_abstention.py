"""Choose the abstention threshold (min_relevance) on the dev set, showing both error rates.

For each threshold: the share of unanswerable questions declined (higher is better) and
of answerable questions wrongly declined (lower is better). Each question goes through
the product's own answer path at that threshold, so the other reasons to decline (names,
years or subject words the index never mentions, a figure no passage gives) apply as
they do for a user.
Run: .venv/bin/python eval/calibrate_abstention.py [--qa eval/qa.jsonl]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rag.answering import Assistant
from rag.evaluation import load_qa


def decline_rates(assistant: Assistant, items: list[dict], threshold: float,
                  ) -> tuple[float, float]:
    """(share of unanswerable declined, share of answerable declined) at a threshold."""
    base = assistant.settings
    assistant.settings = dataclasses.replace(base, min_relevance=threshold)
    try:
        declined = [(item["answerable"], assistant.answer(
            item["question"], history=item.get("history", [])).abstained) for item in items]
    finally:
        assistant.settings = base
    unanswerable = [d for a, d in declined if not a]
    answerable = [d for a, d in declined if a]
    return sum(unanswerable) / len(unanswerable), sum(answerable) / len(answerable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qa", default="eval/qa.jsonl")
    args = parser.parse_args()
    items = load_qa(Path(args.qa))
    assistant = Assistant()
    print(f"{sum(i['answerable'] for i in items)} answerable, "
          f"{sum(not i['answerable'] for i in items)} unanswerable")
    print(f"{'threshold':>9} {'declined|unanswerable':>22} {'declined|answerable':>20}")
    for t in [x / 100 for x in range(36, 64)]:
        good, bad = decline_rates(assistant, items, t)
        print(f"{t:9.2f} {good:22.2f} {bad:20.2f}")


if __name__ == "__main__":
    main()
