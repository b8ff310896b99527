"""What ranking candidates by their best sentence costs per answer, on any index.

Warm Assistant.answer() over the first 40 dev-set questions, alternating the setting off
and on for --rounds rounds; reports each round's median and the ratio on/off. Results
go to bench/results/sentence_ranking.md (appended, one section per index).

Run: .venv/bin/python bench/bench_sentence_ranking.py --index index
     .venv/bin/python bench/bench_sentence_ranking.py --index /tmp/scale-bench/index-100k \
         --chunk-tokens 200   (the scale index of bench_scale.py, built at 200 tokens)
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag import store  # noqa: E402
from rag.answering import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.evaluation import load_qa  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--chunk-tokens", type=int, default=None,
                        help="the chunk size the index was built with, if not the default")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" /
                        "sentence_ranking.md")
    args = parser.parse_args()
    questions = [i["question"] for i in load_qa(ROOT / "eval" / "qa.jsonl")][:40]
    assistant = Assistant(load_settings(index_dir=args.index, chunk_tokens=args.chunk_tokens))
    chunks = store.chunk_count(assistant.retriever.reader.conn)
    for q in questions[:5]:  # warm-up: caches, first FAISS and SQLite pages
        assistant.answer(q)
    medians: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.rounds):
        for flag in (False, True):
            assistant.settings = dataclasses.replace(assistant.settings, rank_by_sentence=flag)
            assistant.retriever.settings = assistant.settings
            times = []
            for q in questions:
                started = time.perf_counter()
                assistant.answer(q)
                times.append(time.perf_counter() - started)
            medians[flag].append(statistics.median(times) * 1000)
    off, on = statistics.median(medians[False]), statistics.median(medians[True])
    text = (f"\n## {args.index} ({chunks:,} chunks)\n\n"
            f"Median warm answer over {len(questions)} questions, median of {args.rounds} "
            f"rounds: chunk vectors {off:.1f} ms, best sentence {on:.1f} ms, "
            f"ratio {on / off:.2f}.\n"
            f"Rounds (ms): off {[round(x, 1) for x in medians[False]]}, "
            f"on {[round(x, 1) for x in medians[True]]}.\n")
    print(text)
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
