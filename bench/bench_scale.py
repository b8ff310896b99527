"""Benchmarks on the scale corpus (859 real Ofsted reports and letters), run by hand.

    mkdir -p /tmp/scale && tar -xJf ../shared/scale-corpus/ofsted-reports-text.tar.xz -C /tmp/scale
    .venv/bin/python bench/bench_scale.py --source /tmp/scale/ofsted-reports-text \
        --work /tmp/scale-bench            # writes bench/results/scale.md

Phases, each in its own process so each peak RSS is its own:
- index: `rag index` of the whole corpus from scratch (throughput, size on disk). Skipped
  when WORK/index-base exists and WORK/index-run.json records how long it took.
- grow: the corpus copied under new names until the index holds >= 100,000 chunks.
  Identical text gives identical vectors, so the copies' rows are duplicated in SQLite
  instead of re-embedded (hours here); then `sync` builds the FAISS index that the
  settings choose for that size (HNSW by default), which is what is timed.
- search: exact (flat) against HNSW on the same vectors: recall@10 (a result counts when
  its score ties or beats the exact 10th), latency per efSearch; then warm end-to-end
  search and answer() against their floor.
- add: one new letter into the 100k index through `sync` (no rebuild), removing it again
  (a tombstone), and a no-change sync.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_corpus import LETTER, QUESTIONS, run_phase, stats, timed  # noqa: E402
from rag import store  # noqa: E402
from rag.config import load_settings  # noqa: E402

TARGET_CHUNKS = 100_000
EF_SWEEP = (16, 32, 64, 128, 256)


def settings(work: Path, name: str, **overrides: object):  # noqa: ANN201
    corpus = work / ("corpus" if name == "index-base" else "corpus-100k")
    return load_settings(env={}, corpus_dir=corpus, index_dir=work / name, **overrides)


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def chunk_count(index_dir: Path) -> int:
    conn = store.connect(index_dir, readonly=True)
    n = store.chunk_count(conn)
    conn.close()
    return n


# ------------------------------------------------------------------------------ phases

def phase_index(work: Path, source: Path) -> dict:
    corpus = work / "corpus"
    if not corpus.exists():
        shutil.copytree(source, corpus, ignore=shutil.ignore_patterns("*.csv", "README.md"))
    env = {**os.environ, "RAG_INDEX_DIR": str(work / "index-base")}
    started = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/rag"), "index", "--quiet", str(corpus)],
                            env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0, "rag index failed"
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "command": f"RAG_INDEX_DIR={work / 'index-base'} rag index --quiet {corpus}"}


def phase_grow(work: Path) -> dict:
    base, big = work / "index-base", work / "index-100k"
    per_copy = chunk_count(base)
    copies = math.ceil(TARGET_CHUNKS / per_copy)
    shutil.rmtree(big, ignore_errors=True)
    shutil.rmtree(work / "corpus-100k", ignore_errors=True)
    shutil.copytree(base, big, ignore=shutil.ignore_patterns("*.faiss", ".lock"))
    for k in range(copies):  # copy 0 keeps the original names
        target = work / "corpus-100k" / (f"copy-{k}" if k else "")
        shutil.copytree(work / "corpus", target, copy_function=os.link, dirs_exist_ok=True)
    conn = store.connect(store.active_dir(big))  # the build folder CURRENT names
    started = time.perf_counter()
    with conn:
        for k in range(1, copies):
            p = f"copy-{k}/"
            conn.execute(
                "INSERT INTO documents (doc_id, source, title, date, kind, publisher, url,"
                " content_hash, page_starts, indexed_at, text) SELECT ?||doc_id, ?||source,"
                " title, date, kind, publisher, url, content_hash, page_starts, indexed_at,"
                " text FROM documents WHERE doc_id NOT LIKE 'copy-%'", (p, p))
            conn.execute(
                "INSERT INTO chunks (doc_id, ordinal, text, start, end, page, paragraph,"
                " section, vector) SELECT ?||doc_id, ordinal, text, start, end, page,"
                " paragraph, section, vector FROM chunks WHERE doc_id NOT LIKE 'copy-%'"
                " ORDER BY id", (p,))
            conn.execute(
                "INSERT INTO sentence_vectors (chunk_id, vectors) SELECT n.id, s.vectors"
                " FROM chunks o JOIN sentence_vectors s ON s.chunk_id = o.id"
                " JOIN chunks n ON n.doc_id = ?||o.doc_id AND n.ordinal = o.ordinal"
                " WHERE o.doc_id NOT LIKE 'copy-%'", (p,))
            conn.execute("INSERT INTO glossary (short, long, doc_id) SELECT short, long,"
                         " ?||doc_id FROM glossary WHERE doc_id NOT LIKE 'copy-%'", (p,))
        store.bump_generation(conn)
        store.set_meta(conn, "faiss_kind", "")  # make the next sync build FAISS afresh
    copy_seconds = time.perf_counter() - started
    conn.close()

    from rag.indexing import sync
    s = settings(work, "index-100k")
    t_sync, report = timed(sync, s)
    assert report.chunks_embedded == 0 and not report.failed, report.failed
    reader = store.IndexReader(big)
    return {"copies": copies, "chunks": reader.faiss.ntotal, "rows_copied_s": copy_seconds,
            "hnsw_m": s.hnsw_m, "hnsw_ef_construction": s.hnsw_ef_construction,
            "faiss_kind": store.faiss_kind(reader.faiss), "faiss_build_s": t_sync,
            "disk_mb": disk_mb(big),
            "sqlite_mb": (store.active_dir(big) / store.DB_NAME).stat().st_size / 1e6}


def phase_search(work: Path, repeat: int) -> dict:
    import faiss

    from rag.answering import Assistant
    from rag.evaluation import load_qa
    from rag.query import understand
    from rag.retrieval import Retriever

    s = settings(work, "index-100k")
    t_open, reader = timed(store.IndexReader, s.index_dir)
    ids, vectors = store.all_vectors(reader.conn, int(reader.manifest["dimension"]))
    exact = store.build_faiss(ids, vectors, vectors.shape[1])
    hnsw = reader.faiss
    assert store.faiss_kind(hnsw) == store.HNSW, "expected HNSW at this size"
    assistant = Assistant(s, Retriever(s, reader=reader))
    retriever = assistant.retriever
    questions = [q["question"] for q in load_qa(ROOT / "eval" / "qa.jsonl")] + QUESTIONS
    queries = retriever.embedder.encode([understand(q, lexicon=reader).dense_text
                                         for q in questions])

    def search_times(index, params=None, k=10) -> tuple[list[float], np.ndarray, np.ndarray]:  # noqa: ANN001
        times, all_d, all_i = [], [], []
        for q in queries:
            t, (d, i) = timed(index.search, q.reshape(1, -1), k, params=params)
            times.append(t)
            all_d.append(d[0])
            all_i.append(i[0])
        return times, np.array(all_d), np.array(all_i)

    flat_t, flat_d, _ = search_times(exact, k=10)
    out = {"chunks": int(hnsw.ntotal), "open_index_s": t_open, "queries": len(questions),
           "flat_p50_ms": statistics.median(flat_t) * 1000, "hnsw": []}
    tenth = flat_d[:, 9] - 1e-5  # ties with the exact 10th count as found

    def row(label: str, ef: int, k: int) -> dict:
        times, d, _ = search_times(hnsw, faiss.SearchParametersHNSW(efSearch=ef), k=k)
        recall = float(np.mean((d[:, :10] >= tenth[:, None]).sum(axis=1) / 10))
        return {"label": label, "recall10": recall, "p50_ms": statistics.median(times) * 1000,
                "p95_ms": float(np.percentile(times, 95)) * 1000}

    out["hnsw"] = [row(f"k=10, efSearch={ef}", ef, 10) for ef in EF_SWEEP]
    ef = max(s.hnsw_ef_search, s.candidates)
    out["hnsw"].append(row(f"as retrieval runs it: k={s.candidates}, efSearch={ef}", ef,
                           s.candidates))

    # The copies make every vector a duplicate, which HNSW graphs handle worse than real
    # data; the same sweep on the corpus itself (unique vectors) shows the difference.
    base = store.connect(work / "index-base", readonly=True)
    base_ids, base_vectors = store.all_vectors(base, vectors.shape[1])
    base.close()
    spec = store.VectorIndexSpec("hnsw", s.hnsw_min_chunks, s.hnsw_m, s.hnsw_ef_construction)
    t_build, hnsw = timed(store.build_faiss, base_ids, base_vectors, vectors.shape[1],
                          store.HNSW, spec)
    exact = store.build_faiss(base_ids, base_vectors, vectors.shape[1])
    _, flat_d, _ = search_times(exact, k=10)
    tenth = flat_d[:, 9] - 1e-5
    out["base_chunks"], out["base_build_s"] = len(base_ids), t_build
    out["hnsw_base"] = [row(f"k=10, efSearch={ef}", ef, 10) for ef in EF_SWEEP]

    assistant.answer(QUESTIONS[0])
    floor, search, full = [], [], []
    for _ in range(repeat):
        for q in QUESTIONS:
            t_enc, vec = timed(retriever.embedder.encode,
                               [understand(q, lexicon=reader).dense_text])
            t_vec, _ = timed(retriever.dense, vec[0], s.candidates, None)
            t_fts, _ = timed(lambda q=q: reader.conn.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
                (store.fts_query(q), s.candidates)).fetchall())
            floor.append(t_enc + t_vec + t_fts)
            # From the question as typed, as search() took it before a Query existed.
            search.append(timed(lambda q=q: retriever.search(
                understand(q, lexicon=reader)))[0])
            full.append(timed(assistant.answer, q)[0])
    out.update(floor=stats(floor), search=stats(search), answer=stats(full),
               ratio=statistics.median(full) / statistics.median(floor),
               search_ratio=statistics.median(search) / statistics.median(floor))
    return out


def phase_add(work: Path, repeat: int) -> dict:
    from rag.embedding import Embedder
    from rag.indexing import sync

    s = settings(work, "index-100k")
    embedder = Embedder.for_settings(s)
    embedder.encode(["warm up"])
    letter = s.corpus_dir / "new-letter.txt"
    adds, removes, before, after = [], [], [], []
    for i in range(repeat):
        before.append(chunk_count(s.index_dir))
        letter.write_text(LETTER.replace("Testshire", f"Shire{i}"))
        t, report = timed(sync, s, embedder=embedder)
        assert report.added == ["new-letter.txt"], report
        adds.append(t)
        reader = store.IndexReader(s.index_dir)
        after.append((reader.faiss.ntotal, len(reader.dead)))
        reader.close()
        letter.unlink()
        removes.append(timed(sync, s, embedder=embedder)[0])
    nochange = [timed(sync, s)[0] for _ in range(repeat)]
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/rag"), "--index-dir", str(s.index_dir), "index",
                    "--quiet", str(s.corpus_dir)], check=True, stdout=subprocess.DEVNULL)
    cli_nochange = time.perf_counter() - started
    return {"add": stats(adds), "remove": stats(removes), "nochange": stats(nochange),
            "cli_nochange_s": cli_nochange, "chunks_before": before[0],
            "faiss_after_each_add": after}


# ---------------------------------------------------------------------------- driver

def phase(name: str, args: argparse.Namespace) -> dict:
    result, rss = run_phase(__file__, name, ["--work", str(args.work), "--source",
                                             str(args.source), "--repeat", str(args.repeat)])
    return {**result, "phase_peak_rss_mb": rss}


def report(work: Path, index: dict, grow: dict, search: dict, add: dict, repeat: int) -> str:
    base_chunks = chunk_count(work / "index-base")
    def table(results: list[dict]) -> str:
        return "\n".join(
            f"| {h['label']} | {h['recall10']:.3f} | {h['p50_ms']:.2f} | {h['p95_ms']:.2f} |"
            for h in results)

    hnsw = f"HNSW (M={grow['hnsw_m']}, efConstruction={grow['hnsw_ef_construction']})"
    return f"""# Benchmarks: scale corpus

Run: `.venv/bin/python bench/bench_scale.py --source /tmp/scale/ofsted-reports-text --work
{work} --repeat {repeat}` on {time.strftime('%Y-%m-%d')}, 2-core machine, CPU only.
Medians and p95 over repeats; each phase's peak RSS is that phase's own process.

## Indexing the whole corpus from scratch (`rag index`)
- {base_chunks} chunks from 859 documents in {index['seconds']:.0f} s:
  **{base_chunks / index['seconds']:.1f} chunks/s** (each chunk and each of its sentences
  is embedded), peak RSS {index['peak_rss_mb']:.0f} MB
- index on disk: {disk_mb(work / 'index-base'):.0f} MB

## The 100k-chunk index
- {grow['copies']} copies of the corpus under new names: {grow['chunks']} chunks
  (rows duplicated in SQLite in {grow['rows_copied_s']:.0f} s, no re-embedding)
- FAISS chosen by size: **{grow['faiss_kind']}**, built by `sync` in
  {grow['faiss_build_s']:.0f} s; on disk {grow['disk_mb']:.0f} MB (SQLite
  {grow['sqlite_mb']:.0f} MB); peak RSS {grow['phase_peak_rss_mb']:.0f} MB
- opening the index (IndexReader, FAISS file read): {search['open_index_s']:.2f} s

## Search at 100k chunks ({search['queries']} queries: the dev set and the benchmark's)
- exact (flat) search, k=10: {search['flat_p50_ms']:.2f} ms median

| {hnsw}, {search['chunks']} chunks | recall@10 vs exact | p50 ms | p95 ms |
|---|---|---|---|
{table(search['hnsw'])}

The same graph settings on the corpus itself ({search['base_chunks']} unique vectors, built
in {search['base_build_s']:.0f} s):

| {hnsw}, {search['base_chunks']} chunks | recall@10 vs exact | p50 ms | p95 ms |
|---|---|---|---|
{table(search['hnsw_base'])}

## Warm end to end at 100k chunks (HNSW, default settings)
- floor (query encoding + HNSW search + FTS5): {search['floor']}
- understand() + Retriever.search(): {search['search']} ({search['search_ratio']:.2f}x the floor)
- answer(): {search['answer']} (**{search['ratio']:.2f}x the floor**)
- peak RSS of this phase (includes an exact copy of all vectors): \
{search['phase_peak_rss_mb']:.0f} MB

## Re-indexing the 100k-chunk index (`sync`, model warm)
- add one letter: {add['add']}
- remove it again (HNSW keeps a tombstone): {add['remove']}
- FAISS (entries, tombstones) after each add: {add['faiss_after_each_add']}
- no-change sync (hashes every file; model never loaded): {add['nochange']}
- no-change `rag index` as a command (Python start-up and imports included):
  {add['cli_nochange_s']:.2f} s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/tmp/scale/ofsted-reports-text"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/scale-bench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.md")
    parser.add_argument("--phase", choices=["index", "grow", "search", "add"])
    args = parser.parse_args()
    phases = {"index": lambda: phase_index(args.work, args.source),
              "grow": lambda: phase_grow(args.work),
              "search": lambda: phase_search(args.work, args.repeat),
              "add": lambda: phase_add(args.work, args.repeat)}
    if args.phase:
        print(json.dumps(phases[args.phase]()))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    record = args.work / "index-run.json"
    if not record.exists() or not (args.work / "index-base").exists():
        record.write_text(json.dumps(phase("index", args)))
    index = json.loads(record.read_text())
    grow, search, add = (phase(name, args) for name in ("grow", "search", "add"))
    text = report(args.work, index, grow, search, add, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    (args.out.with_suffix(".json")).write_text(json.dumps(
        {"index": index, "grow": grow, "search": search, "add": add}, indent=2))
    print(text)


if __name__ == "__main__":
    main()
