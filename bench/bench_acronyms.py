"""Cost of spelling out an acronym the index never writes (Retriever.spell_out), by hand.

    .venv/bin/python bench/bench_acronyms.py --index index --repeat 5
    .venv/bin/python bench/bench_acronyms.py --index /tmp/scale-bench/index-base

It runs once per acronym and index generation (then cached), only for a capitalised word
of a question that the index neither contains nor defines. Writes
bench/results/acronyms-<index name>.md: the median time per acronym and what it found.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag import store  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402

ACRONYMS = ("CSE", "CIN", "CP", "SW", "LA", "LAC", "PA", "EH", "YOS", "CAMHS", "NHS", "DFE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    retriever = Retriever(load_settings(env={}, index_dir=args.index))
    conn = store.connect(args.index, readonly=True)
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    rows = []
    for acronym in ACRONYMS:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            found = retriever.spell_out(acronym)
            times.append(time.perf_counter() - start)
        written = retriever.in_passages(acronym)
        rows.append(f"| {acronym} | {'yes' if written else 'no'} | {found or '(none)'} | "
                    f"{statistics.median(times) * 1000:.0f} |")
    text = "\n".join([
        f"# Spelling out acronyms: {args.index.name} ({chunks:,} chunks)", "",
        f"`{' '.join(sys.argv)}`: median of {args.repeat} runs each, this machine.", "",
        "Only an acronym the index never writes (second column 'no') is spelled out in",
        "use; the others are timed for the cost.", "",
        "| acronym | index writes it | spelled out as | ms |", "|---|---|---|---|", *rows, ""])
    out = ROOT / "bench" / "results" / f"acronyms-{args.index.name}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
