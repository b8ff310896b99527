"""Queries keep being answered, from one generation at a time, while `rag index` runs.

Two real `rag index` processes are started on the same index folder (the second must wait
for the first and say so), while three threads in this process (a Retriever each, sharing
the model) and a second process query the same folder. Every query must succeed, and
each must be answered from one committed generation: after the search, in the same read
view, the reader's FAISS ids equal the SQLite chunk ids, every hit is one of them, and
the documents seen for a generation are the same whoever looked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import faiss
import pytest

from rag import store
from rag.config import Settings
from rag.query import understand
from rag.retrieval import Retriever
from tests.test_indexing import assert_consistent

ROOT = Path(__file__).resolve().parent.parent
RAG = Path(sys.executable).parent / "rag"
QUESTIONS = [
    "What did inspectors say about return home interviews?",
    "How are care leavers supported by personal advisers?",
    "Newtown2 early help",
    "What did the council say in response to the inspection?",
    "management oversight of child protection plans",
]
THREADS = 3
MIN_QUERIES_PER_THREAD = 40
MIN_QUERIES_IN_PROCESS = 80

# The check, run after each search while the reader still holds that search's snapshot;
# shared by the threads here and the second process (exec'd there).
CHECK = '''
def check(retriever, question):
    hits = retriever.search(understand(question, lexicon=retriever.reader), k=5)
    reader = retriever.reader
    gen = reader.generation
    assert store.generation(reader.conn) == gen, "the read view moved during the search"
    ids = {r[0] for r in reader.conn.execute("SELECT id FROM chunks")}
    faiss_ids = set(faiss.vector_to_array(reader.faiss.id_map).tolist())
    assert faiss_ids == ids, f"generation {gen}: FAISS and SQLite disagree"
    assert len(hits) == 5, f"generation {gen}: {len(hits)} hits"
    assert {h.chunk_id for h in hits} <= ids, f"generation {gen}: a hit from elsewhere"
    docs = sorted(r[0] + ":" + r[1] for r in reader.conn.execute(
        "SELECT source, content_hash FROM documents"))
    return gen, docs
'''
namespace: dict = {"store": store, "faiss": faiss, "understand": understand}
exec(CHECK, namespace)  # noqa: S102 - the same source runs in the second process
check = namespace["check"]

READER_PROCESS = f'''
import json, sys, time
from pathlib import Path
import faiss
from rag import store
from rag.config import load_settings
from rag.query import understand
from rag.retrieval import Retriever
{CHECK}
settings = load_settings(env={{}}, index_dir=Path(sys.argv[1]))
retriever = Retriever(settings)
questions = json.loads(sys.argv[2])
stop = Path(sys.argv[3])
print(json.dumps({{"ready": True}}), flush=True)
n = 0
while n < {MIN_QUERIES_IN_PROCESS} or not stop.exists():
    q = questions[n % len(questions)]
    try:
        gen, docs = check(retriever, q)
        print(json.dumps({{"gen": gen, "docs": docs}}), flush=True)
    except Exception as exc:
        print(json.dumps({{"error": repr(exc)}}), flush=True)
    n += 1
    time.sleep(0.02)
'''


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    clean["HF_HUB_OFFLINE"] = "1"
    return clean


def give_work(settings: Settings) -> None:
    corpus = settings.corpus_dir
    letter = (corpus / "2017-10-19_ofsted_monitoring-visit-letter.txt").read_text()
    for n in range(1, 5):
        (corpus / f"2019-0{n}-01_newtown-{n}.txt").write_text(
            letter.replace("Birmingham", f"Newtown{n}"))
    changed = corpus / "community-care_fifth-monitoring-visit.txt"
    changed.chmod(0o644)
    changed.write_text(changed.read_text() + "\nInspectors praised the trust's new leaders.\n")
    (corpus / "children-first_fourth-monitoring-visit.txt").unlink()


def holds_lock(index_dir: Path, pid: int) -> bool:
    lock = index_dir / store.LOCK_NAME
    return lock.is_file() and lock.read_text().strip() == f"pid {pid}"


@pytest.mark.slow
def test_queries_during_two_concurrent_reindexes_are_answered_from_one_generation(
    index_copy: Settings, embedder, tmp_path: Path
) -> None:
    give_work(index_copy)
    stop = tmp_path / "stop"
    reader_proc = subprocess.Popen(
        [sys.executable, "-c", READER_PROCESS, str(index_copy.index_dir),
         json.dumps(QUESTIONS), str(stop)],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(reader_proc.stdout.readline()) == {"ready": True}, reader_proc.stderr.read()

    seen: list[tuple[int, list[str]]] = []
    errors: list[str] = []
    writers_done = threading.Event()

    def ask_repeatedly() -> None:
        retriever = Retriever(index_copy, embedder=embedder)
        n = 0
        while n < MIN_QUERIES_PER_THREAD or not writers_done.is_set():
            try:
                seen.append(check(retriever, QUESTIONS[n % len(QUESTIONS)]))
            except Exception as exc:  # every failure is collected and reported
                errors.append(repr(exc))
            n += 1
            time.sleep(0.02)  # leave the writers some CPU
        retriever.reader.close()

    threads = [threading.Thread(target=ask_repeatedly) for _ in range(THREADS)]
    for t in threads:
        t.start()

    command = [str(RAG), "--index-dir", str(index_copy.index_dir), "index", "--quiet",
               str(index_copy.corpus_dir)]
    first = subprocess.Popen(command, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not holds_lock(index_copy.index_dir, first.pid):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = subprocess.Popen(command, env=env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=180)
    out2, err2 = second.communicate(timeout=180)
    writers_done.set()
    stop.touch()
    for t in threads:
        t.join(timeout=120)
    proc_out, proc_err = reader_proc.communicate(timeout=120)

    # Both writers succeeded; the second waited, then found nothing left to do.
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "added 4, updated 1, removed 1" in out1, out1
    assert f"Waiting for pid {first.pid} to finish" in out2, out2
    assert "added 0, updated 0, removed 0, unchanged 8" in out2, out2
    final = assert_consistent(index_copy)
    assert store.status(final.conn).documents == 8

    # Every query answered, each from one generation.
    for line in proc_out.splitlines():
        record = json.loads(line)
        if "error" in record:
            errors.append("process: " + record["error"])
        else:
            seen.append((record["gen"], record["docs"]))
    assert not errors, errors[:5]
    assert len(seen) >= THREADS * MIN_QUERIES_PER_THREAD + MIN_QUERIES_IN_PROCESS
    by_gen: dict[int, list[str]] = {}
    for gen, docs in seen:
        assert by_gen.setdefault(gen, docs) == docs, f"generation {gen} seen with two contents"
    # Queries saw the old index and the new one; every view was a committed generation.
    start_gen = min(by_gen)
    assert len(by_gen[start_gen]) == 5 and max(by_gen) == final.generation, sorted(by_gen)
    assert len(by_gen) >= 2


def test_a_writer_that_will_not_wait_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    with store.writer_lock(index_dir):
        with pytest.raises(store.IndexLocked) as refused:
            with store.writer_lock(index_dir, wait=False):
                pass
    message = str(refused.value)
    assert f"pid {os.getpid()}" in message and "try again when it finishes" in message
    assert str(index_dir) in message
    with store.writer_lock(index_dir, wait=False):  # released: taken at once
        pass
