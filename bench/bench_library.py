"""Benchmarks on a built library of many councils (eval/library/build_library.py), by hand.

    /usr/bin/time -v .venv/bin/python eval/library/build_library.py --size full --out /tmp/libfull
    .venv/bin/python bench/bench_library.py --library /tmp/libfull   # -> bench/results/library.md

The from-scratch build is timed by the first command (wall time and peak RSS from
`/usr/bin/time -v`). This script then measures, on that library:
- add: one new monitoring letter as an editor adds it, `rag index` as a command (start-up,
  model load and the index's opening included), then the command that removes it again,
  and a command that finds nothing changed; each command's peak RSS.
- query: warm `answer()` over the library dev set's questions against its floor (one
  query encoding, raw FAISS, raw FTS5), as bench/bench_corpus.py measures it.
Medians over repeats; on a shared machine read ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_corpus import LETTER, p95, stats, timed  # noqa: E402


def command(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command run to completion."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def phase_add(library: Path, repeat: int) -> list[str]:
    rag = [str(ROOT / ".venv" / "bin" / "rag"), "--index-dir", str(library / "index"),
           "index", "--quiet", str(library / "corpus")]
    add, remove, same, rss = [], [], [], []
    command(rag)  # the index as built, nothing pending
    for i in range(repeat):
        letter = library / "corpus" / f"zz-bench_monitoring-visit-letter-{i}.txt"
        letter.write_text(LETTER.replace("monitoring visit", f"monitoring visit {i}"),
                          encoding="utf-8")
        seconds, peak = command(rag)
        add.append(seconds)
        rss.append(peak)
        letter.unlink()
        remove.append(command(rag)[0])
        same.append(command(rag)[0])
    return [
        f"- add one letter, `rag index` command: {stats(add)} (peak RSS median "
        f"{statistics.median(rss):.0f} MB)",
        f"- remove it again, command: {stats(remove)}",
        f"- nothing changed, command: {stats(same)}",
    ]


def phase_query(library: Path, repeat: int) -> list[str]:
    from dataclasses import replace

    from rag import store
    from rag.answering import Assistant
    from rag.config import load_settings

    settings = replace(load_settings(env={}), index_dir=library / "index")
    assistant = Assistant(settings)
    retriever, reader = assistant.retriever, assistant.retriever.reader
    qa = ROOT / "eval" / "library" / "qa.jsonl"
    questions = [json.loads(line)["question"] for line in qa.read_text().splitlines() if line]
    assistant.answer(questions[0])  # warm: model, index, caches
    n = settings.candidates
    floor, answer, declined = [], [], []
    for _ in range(repeat):
        for q in questions:
            t_enc, vec = timed(retriever.embedder.encode, [q])
            t_faiss, _ = timed(reader.faiss.search, vec, n)
            t_fts, _ = timed(lambda q=q: reader.conn.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank"
                " LIMIT ?", (store.fts_query(q), n)).fetchall())
            floor.append(t_enc + t_faiss + t_fts)
            seconds, result = timed(assistant.answer, q)
            (declined if result.abstained else answer).append(seconds)
    both = answer + declined
    return [
        f"- {len(questions)} questions x {repeat}; index of {reader.faiss.ntotal} vectors",
        f"- floor (encode + FAISS + FTS5): {stats(floor)}",
        f"- warm answer() end to end: {stats(both)}",
        f"  - answered: {stats(answer)}; declined: {stats(declined)}",
        f"- **ratio answer/floor (medians): "
        f"{statistics.median(both) / statistics.median(floor):.2f}x**; p95 "
        f"{p95(both) * 1000:.1f} ms",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, required=True,
                        help="a folder built by eval/library/build_library.py")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "library.md")
    args = parser.parse_args()
    docs = sum(1 for p in (args.library / "corpus").iterdir() if p.is_file())
    lines = [f"# Benchmarks: a library of {docs} documents ({args.library})", "",
             f"Run: `.venv/bin/python bench/bench_library.py --library {args.library} "
             f"--repeat {args.repeat}` on {time.strftime('%Y-%m-%d %H:%M')}, "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start.", "",
             "## Adding a letter (commands, start-up included)",
             *phase_add(args.library, args.repeat), "",
             "## Answering (warm, in process)", *phase_query(args.library, 1), ""]
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
