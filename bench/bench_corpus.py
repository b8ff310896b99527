"""Benchmarks on the starting corpus, run by hand; results go to bench/RESULTS.md.

Measures, with medians and p95 over repeated runs, each beside its floor:
- query: warm Assistant.answer() broken into stages, against the floor
  (query encoding + raw FAISS search + raw FTS5 query);
- indexing: `sync` from scratch vs the model's pure encode() on the same chunk texts
  (share of time inside the model);
- re-index with nothing changed (must not load the model), and adding one letter;
- peak RSS of this process.

Run: .venv/bin/python bench/bench_corpus.py [--repeat 30] [--out bench/RESULTS.md]
Numbers depend on the machine and on what else runs: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.answering import Assistant
from rag.chunking import Chunk
from rag.config import load_settings
from rag.embedding import Embedder
from rag.indexing import sync
from rag.retrieval import fts_query

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did inspectors say about return home interviews?",
    "How many domestic abuse referrals were in the backlog?",
    "How did thresholds change between the 2016 inspection and the 2017 visit?",
    "What did inspectors say about care leavers?",
    "How well does Birmingham handle CSE?",
]
LETTER = (
    "19 March 2018\n\nDear Director\n\nMonitoring visit of Testshire children's services\n\n"
    "This letter summarises the findings of the monitoring visit. Personal advisers now keep "
    "in touch with almost all care leavers, and pathway plans are more specific.\n"
)


def timed(fn, *args, **kwargs) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def stats(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
    return f"{statistics.median(xs) * 1000:8.1f} ms median, {p95 * 1000:8.1f} ms p95"


def bench_query(settings, repeat: int) -> list[str]:  # noqa: ANN001
    assistant = Assistant(settings)
    retriever = assistant.retriever
    assistant.answer(QUESTIONS[0])  # warm: model, index, caches
    floor, full, encode = [], [], []
    for _ in range(repeat):
        for q in QUESTIONS:
            t_enc, vec = timed(retriever.embedder.encode, [q])
            t_faiss, _ = timed(retriever.reader.faiss.search, vec, settings.candidates)
            t_fts, _ = timed(lambda q=q: retriever.conn.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                (fts_query(q), settings.candidates)).fetchall())
            floor.append(t_enc + t_faiss + t_fts)
            encode.append(t_enc)
            t_full, _ = timed(assistant.answer, q)
            full.append(t_full)
    ratio = statistics.median(full) / statistics.median(floor)
    return [
        f"- floor (encode + FAISS + FTS5): {stats(floor)}",
        f"- of which query encoding: {stats(encode)}",
        f"- warm answer() end to end: {stats(full)}",
        f"- **ratio answer/floor (medians): {ratio:.2f}x** (target <= 1.5x)",
    ]


def bench_indexing(repeat: int) -> list[str]:
    embedder = Embedder(load_settings(env={}).model)
    embedder.encode(["warm up"])
    lines = []
    sync_times, encode_times = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env={}, corpus_dir=Path(tmp) / "corpus",
                                     index_dir=Path(tmp) / "index")
            shutil.copytree(ROOT / "corpus", settings.corpus_dir)
            t_sync, report = timed(sync, settings, embedder=embedder)
            sync_times.append(t_sync)
            from rag.store import IndexReader
            reader = IndexReader(settings.index_dir)
            texts = [Chunk(r[0], 0, r[1], 0, 0, None, None, r[2]).embed_text(r[3])
                     for r in reader.conn.execute(
                         "SELECT c.doc_id, c.text, c.section, d.title"
                         " FROM chunks c JOIN documents d USING (doc_id)")]
            t_enc, _ = timed(embedder.encode, texts)
            encode_times.append(t_enc)
            n = report.chunks_embedded
    share = statistics.median(encode_times) / statistics.median(sync_times)
    lines.append(f"- from scratch: {n} chunks, sync {stats(sync_times)} "
                 f"({n / statistics.median(sync_times):.0f} chunks/s)")
    lines.append(f"- pure encode of the same texts: {stats(encode_times)} "
                 f"({n / statistics.median(encode_times):.0f} chunks/s)")
    lines.append(f"- **share of indexing time inside encode: {share:.0%}** (target >= 85%)")

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, corpus_dir=Path(tmp) / "corpus",
                                 index_dir=Path(tmp) / "index")
        shutil.copytree(ROOT / "corpus", settings.corpus_dir)
        sync(settings, embedder=embedder)
        nochange = [timed(sync, settings)[0] for _ in range(repeat)]  # no embedder given
        lines.append(f"- no-change re-index (model never loaded): {stats(nochange)} "
                     "(target < 1 s)")
        adds = []
        for i in range(min(repeat, 10)):
            (settings.corpus_dir / f"letter-{i}.txt").write_text(LETTER.replace("Testshire",
                                                                                f"Shire{i}"))
            adds.append(timed(sync, settings, embedder=embedder)[0])
        lines.append(f"- add one letter to the corpus index: {stats(adds)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, corpus_dir=Path(tmp) / "corpus",
                                 index_dir=Path(tmp) / "index")
        shutil.copytree(ROOT / "corpus", settings.corpus_dir)
        sync(settings)
        query = bench_query(settings, args.repeat)
    indexing = bench_indexing(max(3, args.repeat // 5))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text = "\n".join([
        "# Benchmarks: starting corpus (5 documents)", "",
        f"Run: `.venv/bin/python bench/bench_corpus.py --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d')}, 2-core machine; medians and p95 over repeats.", "",
        "## Query (warm)", *query, "", "## Indexing", *indexing, "",
        f"## Memory\n- peak RSS of the whole benchmark process: {rss_mb:.0f} MB", "",
    ])
    np.set_printoptions(precision=3)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
