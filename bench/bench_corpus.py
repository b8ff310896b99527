"""Benchmarks on the starting corpus, run by hand; results go to bench/results/corpus.md.

Measures, with medians and p95 over repeated runs, each beside its floor:
- query: warm Assistant.answer() broken into stages (query encoding, vector search,
  BM25, fusion and the rest of retrieval, answer building), against the floor
  (query encoding + raw FAISS search + raw FTS5 query);
- indexing: `sync` from scratch vs the model's pure encode() on the same texts (chunks
  and their sentences): the share of time inside the model;
- re-index with nothing changed (must not load the model), and adding one letter;
- start-up: `rag ask` from process start to printed answer, and the page (streamlit +
  Chromium) from process start to the chat box, and to its first answer;
- peak RSS of each phase, each run in its own process.

Run: .venv/bin/python bench/bench_corpus.py [--repeat 20] [--out bench/results/corpus.md]
Numbers depend on the machine and on what else runs: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rag import store  # noqa: E402
from rag.answering import Assistant  # noqa: E402
from rag.chunking import Chunk  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.embedding import Embedder  # noqa: E402
from rag.indexing import sync  # noqa: E402
from rag.query import understand  # noqa: E402
from rag.records import Filters  # noqa: E402
from rag.scope import out_of_scope  # noqa: E402
from rag.store import IndexReader  # noqa: E402
from rag.words import split_sentences  # noqa: E402

QUESTIONS = [
    "What did inspectors say about return home interviews?",
    "How many domestic abuse referrals were in the backlog?",
    "How did thresholds change between the 2016 inspection and the 2017 visit?",
    "What did inspectors say about care leavers?",
    "How well does Birmingham handle CSE?",
]
# Questions the starting corpus does not answer: the decline path, timed beside answers
# (issue: a decline must cost no more than an answer).
DECLINES = [
    "What did inspectors say about the use of restraint?",
    "What did inspectors say about knife crime?",
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


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def stats(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:8.1f} ms median, {p95(xs) * 1000:8.1f} ms p95"


def corpus_copy(tmp: Path):  # noqa: ANN201 - Settings
    settings = load_settings(env={}, corpus_dir=tmp / "corpus", index_dir=tmp / "index")
    shutil.copytree(ROOT / "corpus", settings.corpus_dir)
    return settings


# ------------------------------------------------------------------------------ phases

def phase_query(repeat: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = corpus_copy(Path(tmp))
        sync(settings)
        assistant = Assistant(settings)
        retriever = assistant.retriever
        reader = retriever.reader
        assistant.answer(QUESTIONS[0])  # warm: model, index, caches
        n = settings.candidates
        t = {k: [] for k in ("floor", "encode_floor", "encode", "vector", "bm25", "fusion",
                             "building", "answer")}
        for _ in range(repeat):
            for q in QUESTIONS:
                # The floor: one query encoding, raw FAISS, raw FTS5.
                t_enc, vec = timed(retriever.embedder.encode, [q])
                t_faiss, _ = timed(retriever.reader.faiss.search, vec, n)
                t_fts, _ = timed(lambda q=q: reader.conn.execute(
                    "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank"
                    " LIMIT ?", (store.fts_query(q), n)).fetchall())
                t["floor"].append(t_enc + t_faiss + t_fts)
                t["encode_floor"].append(t_enc)
                # The pipeline's stages, as answer() runs them. Reading the question
                # (acronyms, years, names) is timed within retrieval, where it was
                # before the question became a Query built once.
                query = understand(q, lexicon=reader)
                t_e, vectors = timed(retriever.embedder.encode, [query.dense_text])
                t_v, _ = timed(retriever.dense, vectors[0], n, None)
                t_b, _ = timed(reader.bm25, query.bm25_text, n, Filters())
                t_s, passages = timed(lambda q=q, v=vectors[0]: retriever.search(
                    understand(q, lexicon=reader), vector=v))
                t_a, _ = timed(lambda query=query, passages=passages, v=vectors[-1]: (
                    out_of_scope(query, reader, [], retriever.embedder,
                                 settings.synonym_similarity),
                    assistant.extractive(query, passages, v)))
                t["encode"].append(t_e)
                t["vector"].append(t_v)
                t["bm25"].append(t_b)
                t["fusion"].append(max(0.0, t_s - t_v - t_b))
                t["building"].append(t_a)
                t["answer"].append(timed(assistant.answer, q)[0])
            for q in DECLINES:
                took, result = timed(assistant.answer, q)
                t.setdefault("decline", []).append(took)
                t.setdefault("declined", []).append(float(result.abstained))
    ratio = statistics.median(t["answer"]) / statistics.median(t["floor"])
    declined = sum(t["declined"]) / len(t["declined"])
    return [
        f"- floor (encode + FAISS + FTS5): {stats(t['floor'])}",
        f"  - of which query encoding: {stats(t['encode_floor'])}",
        f"- warm answer() end to end: {stats(t['answer'])}",
        f"  - query encoding: {stats(t['encode'])}",
        f"  - vector search: {stats(t['vector'])}",
        f"  - BM25 (FTS5): {stats(t['bm25'])}",
        "  - fusion and the rest of retrieval (reading the question, year scopes, MMR, rows): "
        f"{stats(t['fusion'])}",
        f"  - answer building (scope checks, sentence scoring, citations): "
        f"{stats(t['building'])}",
        f"- **ratio answer/floor (medians): {ratio:.2f}x** (target <= 1.5x)",
        f"- warm decline ({len(DECLINES)} questions about subjects the reports never name; "
        f"{declined:.0%} of runs declined): {stats(t['decline'])}; **decline/answer "
        f"(medians): {statistics.median(t['decline']) / statistics.median(t['answer']):.2f}x**"
        " (target <= 1x)",
    ]


def phase_indexing(repeat: int) -> list[str]:
    embedder = Embedder.for_settings(load_settings(env={}))
    embedder.encode(["warm up"])
    lines = []
    sync_times, encode_times = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            settings = corpus_copy(Path(tmp))
            t_sync, report = timed(sync, settings, embedder=embedder)
            sync_times.append(t_sync)
            reader = IndexReader(settings.index_dir)
            ids, _ = store.all_vectors(reader.conn, int(reader.manifest["dimension"]))
            passages = reader.passages(ids.tolist(), dict.fromkeys(ids.tolist(), 0.0))
            reader.close()
            texts = [Chunk(p.doc.doc_id, 0, p.text, 0, 0, None, None, p.section)
                     .embed_text(p.doc.title) for p in passages]
            texts += [p.text[s:e] for p in passages for s, e in split_sentences(p.text)]
            t_enc, _ = timed(embedder.encode, texts)
            encode_times.append(t_enc)
            n = report.chunks_embedded
    share = statistics.median(encode_times) / statistics.median(sync_times)
    lines.append(f"- from scratch: {n} chunks ({len(texts)} texts with their sentences), "
                 f"sync {stats(sync_times)} ({n / statistics.median(sync_times):.0f} chunks/s)")
    lines.append(f"- pure encode of the same texts: {stats(encode_times)}")
    lines.append(f"- **share of indexing time inside encode: {share:.0%}** (target >= 85%)")

    with tempfile.TemporaryDirectory() as tmp:
        settings = corpus_copy(Path(tmp))
        sync(settings, embedder=embedder)
        nochange = [timed(sync, settings)[0] for _ in range(repeat)]  # no embedder given
        lines.append(f"- no-change re-index, `sync()` (model never loaded): {stats(nochange)} "
                     "(target < 1 s)")
        cli = [timed(subprocess.run, [str(ROOT / ".venv/bin/rag"), "--index-dir",
                                      str(settings.index_dir), "index", "--quiet",
                                      str(settings.corpus_dir)],
                     check=True, stdout=subprocess.DEVNULL)[0] for _ in range(3)]
        lines.append(f"- no-change `rag index` as a command (start-up and imports "
                     f"included): {stats(cli)}")
        adds = []
        for i in range(min(repeat, 10)):
            (settings.corpus_dir / f"letter-{i}.txt").write_text(LETTER.replace("Testshire",
                                                                                f"Shire{i}"))
            adds.append(timed(sync, settings, embedder=embedder)[0])
        lines.append(f"- add one letter to the corpus index (model warm): {stats(adds)}")
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def phase_startup(repeat: int) -> list[str]:
    """Cold starts: a new process each time, with the index already built."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = corpus_copy(Path(tmp))
        sync(settings)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
               "RAG_CORPUS_DIR": str(settings.corpus_dir),
               "RAG_INDEX_DIR": str(settings.index_dir),
               "RAG_CONFIG": str(Path(tmp) / "none.toml"), "HF_HUB_OFFLINE": "1"}
        cli = [timed(subprocess.run, [str(ROOT / ".venv/bin/rag"), "ask", QUESTIONS[0]],
                     env=env, check=True, stdout=subprocess.DEVNULL)[0]
               for _ in range(repeat)]
        render, first = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking"])
            for _ in range(repeat):
                port = _free_port()
                started = time.perf_counter()
                server = subprocess.Popen(
                    [str(ROOT / ".venv/bin/streamlit"), "run", str(ROOT / "app.py"),
                     "--server.headless", "true", "--server.port", str(port),
                     "--server.fileWatcherType", "none", "--browser.gatherUsageStats",
                     "false"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                try:
                    page = browser.new_page()
                    page.set_default_timeout(120_000)
                    while True:
                        try:
                            page.goto(f"http://127.0.0.1:{port}")
                            break
                        except Exception:  # not listening yet
                            time.sleep(0.1)
                    box = page.get_by_placeholder("Ask about the inspection reports")
                    box.wait_for()
                    page.get_by_text("documents ·").first.wait_for()
                    render.append(time.perf_counter() - started)
                    box.fill(QUESTIONS[0])
                    box.press("Enter")
                    page.locator('[data-testid="stFeedback"]').first.wait_for()
                    first.append(time.perf_counter() - started)
                    page.close()
                finally:
                    server.terminate()
                    server.wait(timeout=30)
            browser.close()
    return [
        f"- `rag ask` from process start to printed answer: {stats(cli)}",
        f"- page: `streamlit run` to the chat box and index status in Chromium: {stats(render)}",
        f"- page: `streamlit run` to the first answer shown: {stats(first)}",
    ]


# ---------------------------------------------------------------------------- driver

def run_phase(script: str, phase: str, argv: list[str]) -> tuple[object, float]:
    """Run one phase in its own process: its JSON result and that process's peak RSS."""
    proc = subprocess.Popen([sys.executable, script, "--phase", phase, *argv],
                            stdout=subprocess.PIPE, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"phase {phase} failed")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024


PHASES = {"query": ("Query (warm)", phase_query, 1),
          "indexing": ("Indexing", phase_indexing, 5),
          "startup": ("Start-up (cold process, index already built)", phase_startup, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "corpus.md"))
    parser.add_argument("--phase", choices=sorted(PHASES))
    args = parser.parse_args()
    if args.phase:
        _, fn, divisor = PHASES[args.phase]
        print(json.dumps(fn(max(3, args.repeat // divisor))))
        return
    sections = [
        "# Benchmarks: starting corpus (5 documents)", "",
        f"Run: `.venv/bin/python bench/bench_corpus.py --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d')}, 2-core machine; medians and p95 over repeats. "
        "Each phase runs in its own process; its peak RSS is its own.", "",
    ]
    for name, (title, _, _) in PHASES.items():
        lines, rss = run_phase(__file__, name, ["--repeat", str(args.repeat)])
        sections += [f"## {title}", *lines, f"- peak RSS of this phase: {rss:.0f} MB", ""]
    text = "\n".join(sections)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
