"""A rebuild for changed settings, killed at any moment, never loses the index in use.

The rebuild writes a new build folder beside the index in use and switches to it only
when complete (rag.store.switch_to). The writer is the real `rag index` with a changed
chunk size (every vector is re-embedded), killed with SIGKILL at the checkpoints of
rag.indexing (the RAG_CRASH_AT hook, in children forked from one process that imported
the model once, as tests/test_crash_safety.py does) and once by the wall clock. After
each kill the previous index answers in full: every document, its vectors and its
settings, with FAISS, SQLite and FTS5 in agreement. Then the next run completes with
either settings: the new ones resume the unfinished build, the old ones discard it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import store
from rag.config import Settings
from rag.indexing import CRASH_ENV, sync
from rag.query import understand
from rag.retrieval import Retriever
from tests.conftest import CORPUS, settings_for
from tests.test_crash_safety import FORK_HELPER, RAG

OLD_TOKENS, NEW_TOKENS = 128, 96
NEVER = 100_000  # a checkpoint no run reaches: the run completes, printing every label
# Where to kill, by the label of the checkpoint (the first one with that label).
KILL_LABELS = ("scanned", "inserted (uncommitted)", "after batch commit",
               "before FAISS write", "after FAISS write", "before switch", "after switch")
# The suite's corpus without its one long report (100 KB of its 130): every run here
# re-embeds everything, a dozen times.
LONG_REPORT = "2016_ofsted_inspection-report.txt"


def env(chunk_tokens: int, crash_at: int | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    clean.update(HF_HUB_OFFLINE="1", RAG_CONFIG="/dev/null",
                 RAG_CHUNK_TOKENS=str(chunk_tokens))
    if crash_at is not None:
        clean[CRASH_ENV] = str(crash_at)
    return clean


def clone(template: Settings, where: Path) -> Settings:
    shutil.copytree(template.corpus_dir, where / "corpus")
    shutil.copytree(template.index_dir, where / "index")
    return settings_for(where)


def run_killed_at(jobs: list[tuple[Settings, int]]) -> list[tuple[int, list[str]]]:
    """A rebuild to the new settings per job, killed at checkpoint n; (exit code, the
    checkpoint labels it printed) each."""
    spec = [[str(s.index_dir), str(s.corpus_dir), n, str(s.index_dir.parent / "run.log")]
            for s, n in jobs]
    done = subprocess.run([sys.executable, "-c", FORK_HELPER, json.dumps(spec)],
                          env=env(NEW_TOKENS), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    codes = json.loads(done.stdout.strip().splitlines()[-1])
    return [(code, [ln.split(" ", 2)[2] for ln in Path(log).read_text().splitlines()
                    if ln.startswith("checkpoint ")])
            for code, (*_, log) in zip(codes, spec, strict=True)]


def run_rag(settings: Settings, chunk_tokens: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RAG), "--index-dir", str(settings.index_dir), "index", "--quiet",
         str(settings.corpus_dir)], env=env(chunk_tokens), capture_output=True, text=True,
        timeout=300)


def answers_in_full(settings: Settings, chunk_tokens: int, expected: dict, embedder,
                    label: str) -> None:
    """The index in use is complete for one settings: every document, the manifest, the
    same chunks as a finished build, and a search finds each probe passage."""
    reader = store.IndexReader(settings.index_dir)
    try:
        assert reader.manifest["chunk_tokens"] == chunk_tokens, label
        ids = {r[0] for r in reader.conn.execute("SELECT id FROM chunks")}
        fts = {r[0] for r in reader.conn.execute("SELECT rowid FROM chunks_fts")}
        assert reader.faiss is not None and set(store.faiss_ids(reader.faiss)) == ids, label
        assert fts == ids, label
        per_doc = dict(reader.conn.execute(
            "SELECT d.source, count(*) FROM chunks c JOIN documents d USING (doc_id)"
            " GROUP BY d.source"))
        assert per_doc == expected["chunks"], label
        if chunk_tokens == OLD_TOKENS:
            retriever = Retriever(settings, embedder=embedder, reader=reader)
            for chunk_id, phrase in expected["probes"]:
                hits = retriever.search(understand(phrase, lexicon=reader), k=10)
                assert chunk_id in [h.chunk_id for h in hits], (label, phrase)
    finally:
        reader.close()


def chunks_per_document(settings: Settings) -> dict[str, int]:
    conn = store.connect(settings.index_dir, readonly=True)
    try:
        return dict(conn.execute(
            "SELECT d.source, count(*) FROM chunks c JOIN documents d USING (doc_id)"
            " GROUP BY d.source"))
    finally:
        conn.close()


@pytest.fixture
def small_index(tmp_path: Path, embedder) -> Settings:  # noqa: ANN001
    """Four short documents indexed with the default settings (the index in use)."""
    shutil.copytree(CORPUS, tmp_path / "template" / "corpus",
                    ignore=shutil.ignore_patterns(LONG_REPORT))
    settings = settings_for(tmp_path / "template")
    report = sync(settings, embedder=embedder)
    assert len(report.added) == 4 and not report.failed, report.failed
    return settings


@pytest.mark.slow
def test_a_killed_settings_rebuild_leaves_the_old_index_answering_in_full(
    tmp_path: Path, small_index: Settings, embedder
) -> None:
    index_copy = small_index
    conn = store.connect(index_copy.index_dir, readonly=True)
    probes = [(r["id"], r["text"][:160]) for r in conn.execute(
        "SELECT id, text FROM chunks WHERE length(text) > 200 AND ordinal = 1")]
    conn.close()
    old = {"chunks": chunks_per_document(index_copy), "probes": probes}

    # One rebuild run to the end, printing every checkpoint it passes.
    finished = clone(index_copy, tmp_path / "finished")
    [(code, labels)] = run_killed_at([(finished, NEVER)])
    assert code == 0, labels
    new = {"chunks": chunks_per_document(finished)}
    assert sum(new["chunks"].values()) > sum(old["chunks"].values())  # really re-chunked
    answers_in_full(finished, NEW_TOKENS, new, embedder, "finished")
    assert store.builds(finished.index_dir) == [store.active_dir(finished.index_dir)]

    # Killed at each kind of point, from scanning to just after the switch.
    kill_at = {label: next(n for n, seen in enumerate(labels, start=1)
                           if seen.startswith(label)) for label in KILL_LABELS}
    targets = {label: clone(index_copy, tmp_path / f"at-{n}") for label, n in kill_at.items()}
    results = run_killed_at([(targets[label], n) for label, n in kill_at.items()])
    for (label, n), (code, seen) in zip(kill_at.items(), results, strict=True):
        assert code == -signal.SIGKILL, (label, code, seen)
        assert len(seen) == n and seen[-1].startswith(label), (label, seen)
        if label == "after switch":
            answers_in_full(targets[label], NEW_TOKENS, new, embedder, label)
        else:
            answers_in_full(targets[label], OLD_TOKENS, old, embedder, label)

    # Killed by the clock, wherever the run happens to be.
    timed = clone(index_copy, tmp_path / "timed")
    delay = random.Random(16).uniform(2.0, 8.0)
    proc = subprocess.Popen(
        [str(RAG), "--index-dir", str(timed.index_dir), "index", "--quiet",
         str(timed.corpus_dir)], env=env(NEW_TOKENS), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rc = proc.wait(timeout=60)
    switched = (store.stored_manifest(store.active_dir(timed.index_dir)) or {}).get(
        "chunk_tokens") == NEW_TOKENS
    assert rc in (0, -signal.SIGKILL)
    answers_in_full(timed, NEW_TOKENS if switched else OLD_TOKENS, new if switched else old,
                    embedder, f"killed after {delay:.1f}s")

    # The next run completes with the new settings: it resumes the unfinished build.
    resumed = targets["after batch commit"]
    done = run_rag(resumed, NEW_TOKENS)
    assert done.returncode == 0, done.stderr
    assert "Settings changed (chunk_tokens changed from 128 to 96)" in done.stdout
    assert "failed 0" in done.stdout, done.stdout
    answers_in_full(resumed, NEW_TOKENS, new, embedder, "resumed")
    assert store.builds(resumed.index_dir) == [store.active_dir(resumed.index_dir)]

    # ... or with the old settings: the unfinished build is discarded, nothing mixed in.
    for label in ("before FAISS write", "inserted (uncommitted)"):
        back = targets[label]
        done = run_rag(back, OLD_TOKENS)
        assert done.returncode == 0, done.stderr
        assert "Settings changed" not in done.stdout and "added 0," in done.stdout, label
        answers_in_full(back, OLD_TOKENS, old, embedder, f"back to the old settings ({label})")
        assert len(store.builds(back.index_dir)) <= 1
        assert not list(back.index_dir.glob("**/*.tmp"))
