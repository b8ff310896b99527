"""Read and clean corpus files in worker processes, each within a time and size budget.

Reading one file (rag/documents.py: decoding, PDF layout, cleaning, metadata) is pure
Python holding the interpreter lock. In the page process one slow file froze every
session, and a file that never finished held the index's writer lock for good. Here
each file is read in a worker process: a file over the size limit is refused before
reading, one that takes longer than the time limit has its worker killed, and both are
reported by name with the reason while the rest of the corpus is indexed. The worker
reads the next file while the caller chunks and embeds the one before.

Workers are fresh interpreters started with ``python -c``: a fork of the caller could
inherit the model's threads mid-operation, and multiprocessing's own start methods
re-import the caller's main script in the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from rag.config import Settings
from rag.documents import Document, LoadError, load_document

_AHEAD = 2  # files read ahead of the one the caller is on, per worker
_STARTUP_S = 120  # at most this long for a worker's imports, however busy the machine


@dataclass(frozen=True)
class Budget:
    """What one file may cost to read: bytes on disk and seconds of a worker's time."""

    max_bytes: int
    seconds: float
    workers: int = 1

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(int(settings.max_file_mb * 1e6), settings.load_timeout_s)


def serve() -> None:
    """A worker process's main: read each path sent on stdin until told to stop or the
    caller is gone, answering on what was stdout (print goes to stderr instead)."""
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    requests = Connection(0, writable=False)
    try:
        corpus_dir, catalog, max_bytes = requests.recv()
        replies.send(("ready", None))  # imports done: a file's time starts from here
        while (path := requests.recv()) is not None:
            try:
                reply: tuple[str, object] = ("ok", load_document(path, corpus_dir, catalog,
                                                                 max_bytes))
            except LoadError as exc:
                reply = ("refused", str(exc))
            except Exception as exc:  # a bad file must never stop the run
                reply = ("refused", f"{path.name}: unexpected error while reading: {exc!r}")
            replies.send(reply)
    except (EOFError, OSError):  # the caller is gone
        return


class _Worker:
    """A fresh interpreter (not a fork of the caller, which may be running the model's
    threads, nor multiprocessing's, which re-runs the caller's main script) reading files
    sent to it over a pipe."""

    def __init__(self, corpus_dir: Path, catalog: dict, max_bytes: int) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from rag.loading import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.conn = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.requests.send((corpus_dir, catalog, max_bytes))
        if self.conn.poll(_STARTUP_S):  # the first file's budget is not spent on imports
            try:
                self.conn.recv()
            except (EOFError, OSError):
                pass  # died starting: the first file sent will say so
        self.task: int | None = None
        self.deadline = 0.0

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def give(self, task: int, path: Path, seconds: float) -> None:
        self.task, self.deadline = task, time.monotonic() + seconds
        try:
            self.requests.send(path)
        except OSError:
            pass  # it died: reading its answer says so

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.requests.send(None)
            except OSError:
                kill = True
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.requests.close()
        self.conn.close()


def _receive(worker: _Worker, rel: str) -> tuple[Document | LoadError, bool]:
    """A worker's answer, and whether the worker can take another file."""
    try:
        kind, value = worker.conn.recv()
    except (EOFError, OSError):  # the worker died: killed for memory, or crashed
        try:
            worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return LoadError(
            f"{rel}: the process reading it stopped (exit code {worker.exitcode}); "
            "the file may need more memory than the machine has; split it or save it as "
            "plain text"), False
    if kind == "ok":
        return value, True
    return LoadError(str(value)), True


def load_all(
    files: Sequence[tuple[str, Path]],
    corpus_dir: Path,
    catalog: dict | None,
    budget: Budget,
) -> Iterator[tuple[str, Document | LoadError]]:
    """Each file's Document, or the LoadError saying why it was skipped, in the order
    given. Files are read by ``budget.workers`` worker processes, ahead of the caller."""
    if budget.workers < 1:
        raise ValueError("a budget needs at least one worker")
    results: dict[int, Document | LoadError] = {}
    workers: list[_Worker] = []
    idle: list[_Worker] = []
    next_task = 0

    def hand_out(current: int) -> None:
        """Give idle workers the next files, up to a few ahead of the one wanted now."""
        nonlocal next_task
        while next_task < min(len(files), current + _AHEAD * budget.workers):
            if not idle and len(workers) < budget.workers:
                idle.append(_Worker(corpus_dir, catalog or {}, budget.max_bytes))
                workers.append(idle[-1])
            if not idle:
                return
            idle.pop().give(next_task, files[next_task][1], budget.seconds)
            next_task += 1

    try:
        for current in range(len(files)):
            hand_out(current)
            while current not in results:
                busy = [w for w in workers if w.task is not None]
                timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
                ready = wait([w.conn for w in busy], timeout)
                for w in busy:
                    task = w.task
                    assert task is not None
                    rel = files[task][0]
                    if w.conn in ready:
                        outcome, healthy = _receive(w, rel)
                    elif time.monotonic() >= w.deadline:
                        outcome, healthy = LoadError(
                            f"{rel}: reading and cleaning it took longer than "
                            f"{budget.seconds:g} s (setting load_timeout_s), so it was "
                            "skipped; split the file or save it as plain text"), False
                    else:
                        continue
                    results[task] = outcome
                    w.task = None
                    if healthy:
                        idle.append(w)
                    else:
                        workers.remove(w)
                        w.stop(kill=True)
                hand_out(current)  # the next file is read while the caller embeds this one
            yield files[current][0], results.pop(current)
    finally:
        for w in workers:
            w.stop(kill=w.task is not None)
