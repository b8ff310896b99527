"""Syncs that must not damage the index: a folder that lost most files, a FAISS file that
lost a chunk, a write-ahead log that would grow while the page is open."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag import store
from rag.cli import main
from rag.config import Settings
from rag.indexing import PruneRefused, sync
from rag.query import understand
from rag.retrieval import Retriever
from tests.conftest import settings_for
from tests.test_indexing import NEW_LETTER, assert_consistent


def indexed(settings: Settings) -> tuple[set[str], int]:
    reader = store.IndexReader(settings.index_dir)
    try:
        return ({r[0] for r in reader.conn.execute("SELECT source FROM documents")},
                reader.generation)
    finally:
        reader.close()


def keep_only(corpus: Path, n: int) -> list[str]:
    """Delete all but the first n files of the corpus; return the names deleted."""
    files = sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix != ".toml")
    for path in files[n:]:
        path.unlink()
    return [p.name for p in files[n:]]


def test_a_sync_against_an_empty_folder_changes_nothing_and_says_why(
    tmp_path: Path, index_copy: Settings
) -> None:
    before = indexed(index_copy)
    empty = tmp_path / "unmounted"
    empty.mkdir()
    with pytest.raises(PruneRefused) as refused:
        sync(index_copy, empty)
    message = str(refused.value)
    assert str(empty) in message
    assert "lacks 5 of the 5 indexed documents (all of them; it has 0" in message
    assert "--prune" in message
    assert indexed(index_copy) == before


def test_a_sync_that_would_remove_more_than_half_stops_but_half_or_less_goes_ahead(
    index_copy: Settings,
) -> None:
    before = indexed(index_copy)
    kept = index_copy.corpus_dir
    keep_only(kept, 2)  # 3 of 5 gone
    with pytest.raises(PruneRefused, match="lacks 3 of the 5 .*more than half"):
        sync(index_copy)
    assert indexed(index_copy) == before
    report = sync(index_copy, prune=True)
    assert len(report.removed) == 3
    assert len(indexed(index_copy)[0]) == 2
    keep_only(kept, 1)  # 1 of the 2 left: half, not more
    assert len(sync(index_copy).removed) == 1


def test_rag_index_refuses_a_mass_removal_unless_prune(
    tmp_path: Path, index_copy: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    before = indexed(index_copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["--index-dir", str(index_copy.index_dir), "index", "--quiet", str(empty)]
    assert main(args) == 1
    err = capfd.readouterr().err
    assert err.startswith("rag: ") and str(empty) in err and "5 of the 5" in err
    assert indexed(index_copy) == before
    assert main([*args, "--prune"]) == 0
    assert indexed(index_copy)[0] == set()


def faiss_on_disk(settings: Settings) -> tuple[np.ndarray, np.ndarray, Path]:
    """(FAISS ids in the current file, SQLite chunk ids, the file's path)."""
    conn = store.connect(settings.index_dir, readonly=True)
    try:
        path = store.faiss_path(store.active_dir(settings.index_dir), store.generation(conn))
        return (np.sort(store.faiss_ids(faiss.read_index(str(path)))),
                np.sort(store.chunk_ids(conn)), path)
    finally:
        conn.close()


def drop_a_chunk_from_the_faiss_file(settings: Settings) -> int:
    in_faiss, _, path = faiss_on_disk(settings)
    index = faiss.read_index(str(path))
    lost = int(in_faiss[len(in_faiss) // 2])
    index.remove_ids(np.array([lost], dtype=np.int64))
    faiss.write_index(index, str(path))
    return lost


def test_a_faiss_file_missing_a_chunk_is_repaired_by_the_next_run(index_copy: Settings) -> None:
    lost = drop_a_chunk_from_the_faiss_file(index_copy)
    in_faiss, ids, _ = faiss_on_disk(index_copy)
    assert lost not in in_faiss and lost in ids
    report = sync(index_copy)  # nothing changed in the corpus
    assert not report.changed and report.chunks_embedded == 0
    in_faiss, ids, _ = faiss_on_disk(index_copy)
    assert np.array_equal(in_faiss, ids)


def test_changes_are_not_applied_to_a_faiss_file_missing_a_chunk(
    index_copy: Settings, embedder
) -> None:
    lost = drop_a_chunk_from_the_faiss_file(index_copy)
    (index_copy.corpus_dir / "2018-03-19_testshire_letter.txt").write_text(NEW_LETTER)
    report = sync(index_copy, embedder=embedder)
    assert report.added == ["2018-03-19_testshire_letter.txt"]
    in_faiss, ids, _ = faiss_on_disk(index_copy)
    assert lost in in_faiss
    assert np.array_equal(in_faiss, ids)
    assert_consistent(index_copy).close()


def test_the_write_ahead_log_stays_small_across_runs_with_the_page_open(
    index_copy: Settings, embedder
) -> None:
    """Six runs that each re-embed a file while a reader (the page's) keeps answering:
    the log is emptied after every run, also after one that ran while an answer held a
    snapshot, instead of growing run after run."""
    page = Retriever(index_copy, embedder=embedder)
    question = understand("What did inspectors find about care leavers?", lexicon=page.reader)
    edited = index_copy.corpus_dir / "2017-10-19_ofsted_monitoring-visit-letter.txt"
    text = edited.read_text()
    wal = store.active_dir(index_copy.index_dir) / f"{store.DB_NAME}-wal"
    database = wal.with_name(store.DB_NAME)
    sizes = []
    for run in range(6):
        edited.write_text(text + f"\nA note added on run {run}: care leavers were seen.\n")
        page.search(question, k=5)  # an answer in progress: its snapshot is held ...
        if run != 2:
            page.reader.release()  # ... until the page has shown it
        report = sync(index_copy, embedder=embedder)
        assert report.updated == [edited.name]
        if run == 2:
            page.reader.release()
        assert page.search(question, k=5)
        page.reader.release()
        sizes.append((wal.stat().st_size, database.stat().st_size))
    assert all(w <= 2 * d for w, d in sizes), sizes
    assert sizes[-1][0] == 0, sizes  # nothing pins it: the last checkpoint emptied it
    page.reader.close()


def test_a_reader_serves_an_index_deleted_and_built_again_from_the_new_one(
    index_copy: Settings, embedder
) -> None:
    reader = store.IndexReader(index_copy.index_dir)
    keep_only(index_copy.corpus_dir, 2)
    shutil.rmtree(index_copy.index_dir)
    sync(index_copy, embedder=embedder)
    assert reader.refresh()
    sources = {r[0] for r in reader.conn.execute("SELECT source FROM documents")}
    assert sources == indexed(index_copy)[0] and len(sources) == 2
    assert reader.faiss.ntotal == store.chunk_count(reader.conn)
    reader.close()


def test_withdrawing_the_only_document_is_not_refused_as_a_mass_removal(
    tmp_path: Path, embedder
) -> None:
    """A withdrawal removes one named document on purpose: the guard against an empty
    folder must not stop it, even when it is the library's last document."""
    from rag import access, editing
    from tests.test_provenance import EDITOR, LETTER, NAME

    (tmp_path / "corpus").mkdir()
    settings = settings_for(tmp_path, editors=EDITOR)
    editor = access.visitor_from({"is_logged_in": True, "email": EDITOR})
    assert [s.name for s in editing.add(settings, editor, [(NAME, LETTER)],
                                        embedder=embedder).added] == [NAME]
    done = editing.withdraw(settings, editor, NAME, embedder=embedder)
    assert done.report.removed == [NAME]
    assert indexed(settings)[0] == set()
