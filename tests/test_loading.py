"""Each file is read within a budget: a file over it is skipped and named, the rest load.

The time budget is set in the test from a measurement on this machine: the large file
(the fixture reports, repeated) is timed being read here, and the budget is a tenth of
that, while the small file takes a small share of it. A file over the size limit is
refused before reading, and a worker that dies is reported and replaced.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.documents import Document, LoadError, load_document
from rag.indexing import sync
from rag.loading import Budget, load_all
from tests.conftest import CORPUS


def _big_and_small(folder: Path, times: int = 3) -> tuple[Path, Path]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    big = folder / "big.txt"
    big.write_text("\n\n".join(texts) * times, encoding="utf-8")
    small = folder / "small.txt"
    small.write_text(texts[0], encoding="utf-8")
    return big, small


def _seconds_to_read(path: Path) -> float:
    start = time.perf_counter()
    load_document(path, path.parent)
    return time.perf_counter() - start


def test_a_file_over_the_time_budget_is_skipped_with_its_reason_and_the_rest_load(
        tmp_path: Path) -> None:
    big, small = _big_and_small(tmp_path)
    budget = Budget(max_bytes=10**9, seconds=_seconds_to_read(big) / 10)
    assert _seconds_to_read(small) < budget.seconds / 3  # room for the worker's overhead
    files = [("small.txt", small), ("big.txt", big), ("again.txt", small)]
    results = dict(load_all(files, tmp_path, {}, budget))
    assert list(results) == ["small.txt", "big.txt", "again.txt"]
    assert isinstance(results["small.txt"], Document)
    assert isinstance(results["again.txt"], Document)  # the worker was replaced
    refused = results["big.txt"]
    assert isinstance(refused, LoadError)
    assert "big.txt" in str(refused) and "load_timeout_s" in str(refused)


def test_a_file_over_the_size_limit_is_refused_and_named(tmp_path: Path) -> None:
    big, small = _big_and_small(tmp_path)
    budget = Budget(max_bytes=small.stat().st_size + 1, seconds=60)
    results = dict(load_all([("big.txt", big), ("small.txt", small)], tmp_path, {}, budget))
    assert isinstance(results["small.txt"], Document)
    assert isinstance(results["big.txt"], LoadError)
    assert "over the" in str(results["big.txt"]) and "limit" in str(results["big.txt"])


def test_documents_read_in_a_worker_equal_those_read_here(tmp_path: Path) -> None:
    files = [(p.name, p) for p in sorted(CORPUS.glob("*.txt"))]
    got = dict(load_all(files, CORPUS, {}, Budget(10**9, 120)))
    for name, path in files:
        assert got[name] == load_document(path, CORPUS)


@pytest.mark.model
def test_sync_names_a_file_over_budget_and_indexes_the_rest(
        tmp_path: Path, embedder) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    big, _ = _big_and_small(tmp_path, times=16)  # 2 MB: the largest fixture is 0.1 MB
    budget_s = _seconds_to_read(big) / 4
    shutil.move(big, corpus / "pasted-minutes.txt")
    settings = load_settings(toml_path=tmp_path / "none.toml", env={},
                             corpus_dir=corpus, index_dir=tmp_path / "index",
                             load_timeout_s=budget_s)
    report = sync(settings, embedder=embedder)
    assert len(report.added) == len(list(CORPUS.glob("*.txt")))
    [(name, why)] = report.failed
    assert name == "pasted-minutes.txt" and "load_timeout_s" in why
