"""Where the index lives on disk: build folders, the CURRENT switch, odd folder names.

Fast tier: these write real SQLite databases with the store's own functions and no model
(a vector of 4 numbers stands in for an embedding; nothing here searches by meaning).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.chunking import Chunk
from rag.documents import Document

DIM = 4


def a_document(source: str) -> tuple[Document, list[Chunk]]:
    text = f"Inspectors visited {source}. Leaders know their services well."
    doc = Document(doc_id=source, source=source, title=source, date="2020", kind="letter",
                   publisher=None, url=None, text=text, content_hash=source)
    return doc, [Chunk(doc_id=source, ordinal=0, text=text, start=0, end=len(text), page=None,
                       paragraph=None, section=None)]


def write_index(folder: Path, sources: list[str], model: str = "m") -> None:
    """A small complete index in one folder: rows, manifest and FAISS file."""
    conn = store.connect(folder)
    with conn:
        for source in sources:
            doc, chunks = a_document(source)
            store.insert_document(conn, doc, chunks, np.eye(DIM, dtype=np.float32)[:1])
        store.write_manifest(conn, folder, {"model": model, "dimension": DIM})
        gen = store.bump_generation(conn)
    store.write_faiss(folder, gen, store.build_faiss(*store.all_vectors(conn, DIM), DIM))
    conn.close()


def sources_read(index_dir: Path) -> set[str]:
    reader = store.IndexReader(index_dir)
    try:
        return {r[0] for r in reader.conn.execute("SELECT source FROM documents")}
    finally:
        reader.close()


@pytest.mark.parametrize("name", ["reports#2024", "what?", "100%", "a b#c?d=e"])
def test_an_index_folder_with_hash_or_question_mark_in_its_path_opens(
    tmp_path: Path, name: str
) -> None:
    index_dir = tmp_path / name / "index"
    build = store.new_build(index_dir)
    write_index(build, ["one.txt", "two.txt"])
    store.switch_to(index_dir, build)
    assert sources_read(index_dir) == {"one.txt", "two.txt"}
    conn = store.connect(index_dir, readonly=True)
    assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 2
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM chunks")  # still opened read-only
    conn.close()
    assert store.stored_manifest(build)["model"] == "m"


def test_readers_use_the_build_current_names_until_the_switch(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    old = store.new_build(index_dir)
    write_index(old, ["old.txt"])
    store.switch_to(index_dir, old)
    new = store.new_build(index_dir)
    write_index(new, ["new-1.txt", "new-2.txt"], model="other")
    assert sources_read(index_dir) == {"old.txt"}  # a complete build not yet switched to
    store.switch_to(index_dir, new)
    assert sources_read(index_dir) == {"new-1.txt", "new-2.txt"}
    assert store.builds(index_dir) == [new]  # the superseded build is gone


def test_an_index_from_before_build_folders_is_read_in_place_and_replaced_by_a_switch(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    write_index(index_dir, ["legacy.txt"])
    assert store.active_dir(index_dir) == index_dir
    assert sources_read(index_dir) == {"legacy.txt"}
    build = store.new_build(index_dir)
    write_index(build, ["rebuilt.txt"])
    store.switch_to(index_dir, build)
    assert sources_read(index_dir) == {"rebuilt.txt"}
    assert not (index_dir / store.DB_NAME).exists()
    assert not list(index_dir.glob("vectors-*.faiss"))


def test_a_reader_notices_an_index_deleted_and_built_again(tmp_path: Path) -> None:
    """Generation numbers only compare within one database file: a new index starting
    again at the same generation must still be seen."""
    index_dir = tmp_path / "index"
    build = store.new_build(index_dir)
    write_index(build, ["before.txt"])
    store.switch_to(index_dir, build)
    reader = store.IndexReader(index_dir)
    gen = reader.generation
    shutil.rmtree(index_dir)
    build = store.new_build(index_dir)
    write_index(build, ["after-1.txt", "after-2.txt"])
    store.switch_to(index_dir, build)
    assert store.IndexReader(index_dir).generation == gen  # the same number, another file
    assert reader.refresh()
    assert {r[0] for r in reader.conn.execute("SELECT source FROM documents")} == {
        "after-1.txt", "after-2.txt"}
    assert reader.faiss is not None and reader.faiss.ntotal == 2
    reader.close()


def test_a_reader_notices_a_legacy_index_deleted_and_built_again(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    write_index(index_dir, ["before.txt"])
    reader = store.IndexReader(index_dir)
    for path in index_dir.iterdir():
        path.unlink()
    write_index(index_dir, ["after.txt"])
    assert reader.refresh()
    assert [r[0] for r in reader.conn.execute("SELECT source FROM documents")] == ["after.txt"]
    reader.close()


def test_a_released_reader_lets_the_checkpoint_empty_the_write_ahead_log(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    write_index(index_dir, ["a.txt"])
    reader = store.IndexReader(index_dir)  # a search took a snapshot
    wal = index_dir / f"{store.DB_NAME}-wal"
    conn = store.connect(index_dir)
    for n in range(20):
        with conn:
            doc, chunks = a_document(f"more-{n}.txt")
            store.insert_document(conn, doc, chunks, np.eye(DIM, dtype=np.float32)[:1])
            store.bump_generation(conn)
    store.checkpoint(conn)
    assert wal.stat().st_size > 0  # the snapshot holds the log
    reader.release()  # the answer is done
    store.checkpoint(conn)
    assert wal.stat().st_size == 0
    assert reader.refresh()  # and the next search sees the new rows
    assert reader.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 21
    conn.close()
    reader.close()


def test_an_index_in_an_older_format_is_refused_with_the_command_that_rebuilds_it(
        tmp_path: Path) -> None:
    """An index left by an older version once crashed `rag ask` with "no such column":
    the reader now names the format and what to run, and the page, which builds a missing
    index, builds this one too (IndexOutdated is an IndexMissing)."""
    index_dir = tmp_path / "index"
    write_index(index_dir, ["a.txt"])
    conn = store.connect(index_dir)
    with conn:
        store.write_manifest(conn, index_dir, {"model": "m", "dimension": DIM,
                                               "format_version": store.FORMAT_VERSION - 1})
    conn.close()
    with pytest.raises(store.IndexOutdated, match="rebuild it with `rag index`"):
        store.IndexReader(index_dir)
    assert issubclass(store.IndexOutdated, store.IndexMissing)
    # The writer still reads the old index's document list (the mass-removal guard)
    # before it rebuilds.
    conn = store.connect(index_dir, readonly=True, any_format=True)
    assert list(store.indexed_hashes(conn)) == ["a.txt"]
    conn.close()
    conn = store.connect(index_dir)
    with conn:
        store.write_manifest(conn, index_dir, {"model": "m", "dimension": DIM,
                                               "format_version": store.FORMAT_VERSION})
    conn.close()
    assert store.IndexReader(index_dir).generation >= 1
