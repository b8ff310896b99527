"""Cost of spelling out an acronym the index never writes (rag.glossary.spell_out), by hand.

    .venv/bin/python bench/bench_acronyms.py --index index --repeat 5
    .venv/bin/python bench/bench_acronyms.py --index /tmp/scale-bench/index-base

It runs when a question is read (rag.query.understand, once per question), only for a
capitalised word of the question that the index neither contains nor defines: the
passages whose words start with its letters (IndexReader.initial_phrases), then the
phrase that wins among them. Writes
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
from rag.glossary import spell_out  # noqa: E402
from rag.words import STOPWORDS  # noqa: E402

ACRONYMS = ("CSE", "CIN", "CP", "SW", "LA", "LAC", "PA", "EH", "YOS", "CAMHS", "NHS", "DFE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    reader = store.IndexReader(args.index)
    chunks = store.chunk_count(reader.conn)
    rows = []
    for acronym in ACRONYMS:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            found = spell_out(acronym, reader.initial_phrases(acronym), STOPWORDS)
            times.append(time.perf_counter() - start)
        written = reader.in_passages(acronym)
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
