"""A `rag index` killed with SIGKILL at any point leaves a loadable, consistent index.

The writer is the real `rag` command in a subprocess, on a copy of the built index with
real work to do (four new files, one changed, one removed). It is killed two ways:

- deterministically, at the checkpoints of `rag.indexing` (the ``RAG_CRASH_AT`` test hook:
  after scanning, after each file is loaded, before/inside/after each transaction,
  before the manifest, before and after the FAISS write). To keep 17 runs affordable,
  these run `rag.cli.main(["--index-dir", ..., "index", ...])` (what the `rag` script
  calls) in children forked from one helper process that has already imported torch and
  sentence-transformers (about 6 s a run otherwise); the kill is still a real SIGKILL of
  the process doing the writing;
- by the wall clock, at seeded random delays, wherever it happens to be: these, and the
  final run, are the real `rag` command.

After each kill: the index opens (``store.IndexReader``), FAISS ids == SQLite chunk ids ==
FTS5 rowids, every document that was indexed before the run and not removed by it is
still there, and a search finds its passages. Finally a normal `rag index` finishes.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag import store
from rag.config import Settings
from rag.documents import file_hash
from rag.indexing import CRASH_ENV
from rag.query import understand
from rag.retrieval import Retriever
from tests.conftest import settings_for

RAG = Path(sys.executable).parent / "rag"
CHANGED = "community-care_fifth-monitoring-visit.txt"
REMOVED = "children-first_fourth-monitoring-visit.txt"
UNTOUCHED = [
    "2012-10-19_birmingham-city-council_response-to-inspection.txt",
    "2016_ofsted_inspection-report.txt",
    "2017-10-19_ofsted_monitoring-visit-letter.txt",
]
NEW = [f"2019-0{i}-01_newtown-{i}_monitoring-letter.txt" for i in range(1, 5)]
# scanned, 5 loaded, before commit, 5 inserted, after commit, before removal, 1 removing,
# after removal, before manifest, before FAISS write, after FAISS write
CHECKPOINTS = 19
# Every checkpoint but two of the ten alike ones (the 2nd of 5 loads, the 2nd of 5 inserts),
# plus three wall-clock kills: twenty kills in all, two at a time.
KILL_AT = [n for n in range(1, CHECKPOINTS + 1) if n not in (3, 9)]
WALL_CLOCK_KILLS = 3


def env(crash_at: int | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    clean["HF_HUB_OFFLINE"] = "1"
    if crash_at is not None:
        clean[CRASH_ENV] = str(crash_at)
    return clean


def command(settings: Settings) -> list[str]:
    return [str(RAG), "--index-dir", str(settings.index_dir), "index", "--quiet",
            str(settings.corpus_dir)]


def prepare(template: Settings) -> None:
    """Give the copied corpus real work: new letters, an edited file, a deleted file."""
    corpus = template.corpus_dir
    letter = (corpus / "2017-10-19_ofsted_monitoring-visit-letter.txt").read_text()
    for n, name in enumerate(NEW, start=1):
        (corpus / name).write_text(letter.replace("Birmingham", f"Newtown{n}"))
    changed = corpus / CHANGED
    changed.chmod(0o644)
    changed.write_text(changed.read_text() + "\nA late correction: inspectors praised the trust.\n")
    (corpus / REMOVED).unlink()


def clone(template: Settings, where: Path) -> Settings:
    shutil.copytree(template.corpus_dir, where / "corpus")
    shutil.copytree(template.index_dir, where / "index")
    return settings_for(where)


def check_after_crash(settings: Settings, probes: dict[str, tuple[int, str]], embedder,
                      label: str) -> set[str]:
    """The index loads, its three id sets agree, and nothing indexed before is lost."""
    reader = store.IndexReader(settings.index_dir)
    try:
        ids = {r[0] for r in reader.conn.execute("SELECT id FROM chunks")}
        fts = {r[0] for r in reader.conn.execute("SELECT rowid FROM chunks_fts")}
        assert reader.faiss is not None, label
        faiss_ids = {int(reader.faiss.id_map.at(i)) for i in range(reader.faiss.ntotal)}
        assert faiss_ids == ids, label
        assert fts == ids, label
        orphans = reader.conn.execute(
            "SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
        ).fetchone()[0]
        assert orphans == 0, label
        sources = {r[0] for r in reader.conn.execute("SELECT source FROM documents")}
        assert set(UNTOUCHED) | {CHANGED} <= sources, label
        retriever = Retriever(settings, embedder=embedder, reader=reader)
        for source, (chunk_id, phrase) in probes.items():
            hits = retriever.search(understand(phrase, lexicon=reader), k=10)
            assert chunk_id in [h.chunk_id for h in hits], (label, source)
        return sources
    finally:
        reader.close()


@pytest.fixture
def template(index_copy: Settings) -> Settings:
    prepare(index_copy)
    return index_copy


@pytest.fixture
def probes(template: Settings) -> dict[str, tuple[int, str]]:
    """For each untouched document, one chunk id and a phrase from that chunk."""
    reader = store.IndexReader(template.index_dir)
    out = {}
    for source in UNTOUCHED:
        row = reader.conn.execute(
            "SELECT id, text FROM chunks WHERE doc_id = ? AND length(text) > 200"
            " ORDER BY ordinal LIMIT 1 OFFSET 1", (source,)).fetchone()
        out[source] = (row["id"], row["text"][:160])
    reader.close()
    return out


FORK_HELPER = """
import json, os, sys
import sentence_transformers, torch  # noqa: F401 - the slow imports, done once
import rag.cli, rag.embedding, rag.indexing  # noqa: F401
codes = []
for index_dir, corpus_dir, crash_at, log in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:  # the child is one `rag index` run
        os.environ["RAG_CRASH_AT"] = str(crash_at)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        code = 1
        try:
            code = rag.cli.main(["--index-dir", index_dir, "index", "--quiet", corpus_dir])
        finally:
            os._exit(code)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
"""


def run_killed_at(jobs: list[tuple[Settings, int]]) -> list[tuple[int, str]]:
    """Run `rag index` once per job, killed at checkpoint n; (exit code, output) each."""
    spec = [[str(s.index_dir), str(s.corpus_dir), n, str(s.index_dir.parent / "run.log")]
            for s, n in jobs]
    done = subprocess.run([sys.executable, "-c", FORK_HELPER, json.dumps(spec)], env=env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    codes = json.loads(done.stdout.strip().splitlines()[-1])
    return [(code, Path(log).read_text()) for code, (*_, log) in zip(codes, spec, strict=True)]


def run_killed_after(settings: Settings, delay: float) -> int:
    proc = subprocess.Popen(command(settings), env=env(), cwd=settings.index_dir.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


@pytest.mark.slow
def test_kill_at_every_checkpoint_and_at_random_times_loses_nothing(
    tmp_path: Path, template: Settings, probes, embedder
) -> None:
    targets = [clone(template, tmp_path / f"at-{n}") for n in KILL_AT]
    rng = random.Random(7)
    delays = sorted(rng.uniform(1.0, 10.0) for _ in range(WALL_CLOCK_KILLS))
    timed = [clone(template, tmp_path / f"after-{i}") for i in range(WALL_CLOCK_KILLS)]

    jobs = list(zip(targets, KILL_AT, strict=True))
    with ThreadPoolExecutor(max_workers=2) as pool:
        halves = list(pool.map(run_killed_at, [jobs[0::2], jobs[1::2]]))
        clocked = list(pool.map(run_killed_after, timed, delays))
    hooked = [None] * len(jobs)
    hooked[0::2], hooked[1::2] = halves

    where_killed = {}
    for n, settings, (code, output) in zip(KILL_AT, targets, hooked, strict=True):
        # killed exactly at checkpoint n (so the hook reached it), not before or after
        assert code == -signal.SIGKILL, (n, code, output[-2000:])
        last = [ln for ln in output.splitlines() if ln.startswith("checkpoint ")][-1]
        assert last.startswith(f"checkpoint {n} "), (n, last)
        where_killed[n] = last
        sources = check_after_crash(settings, probes, embedder, last)
        if "after batch commit" in last or "removal" in last or "write" in last:
            assert set(NEW) <= sources, last  # committed before the kill: kept
        if "loaded" in last or "inserted" in last or "before batch" in last:
            assert not set(NEW) & sources, last  # never committed: absent, not half there
    labels = " ".join(where_killed.values())
    for stage in ("scanned", "loaded", "inserted (uncommitted)", "after batch commit",
                  "removing (uncommitted)", "before manifest", "before FAISS", "after FAISS"):
        assert stage in labels, stage

    for settings, delay, rc in zip(timed, delays, clocked, strict=True):
        assert rc in (0, -signal.SIGKILL), (delay, rc)
        check_after_crash(settings, probes, embedder, f"killed after {delay:.1f}s")

    # A normal run afterwards finishes the work on an index that was killed mid-transaction.
    survivor = targets[KILL_AT.index(10)]
    done = subprocess.run(command(survivor), env=env(), cwd=survivor.index_dir.parent,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stdout, done.stdout
    sources = check_after_crash(survivor, probes, embedder, "finished")
    assert sources == set(UNTOUCHED) | {CHANGED} | set(NEW)
    reader = store.IndexReader(survivor.index_dir)
    assert store.faiss_path(reader.dir, reader.generation).is_file()
    row = reader.conn.execute("SELECT content_hash FROM documents WHERE source = ?",
                              (CHANGED,)).fetchone()
    assert row["content_hash"] == file_hash(survivor.corpus_dir / CHANGED)  # the new version
    assert not list(survivor.index_dir.glob("*.tmp"))
    reader.close()
