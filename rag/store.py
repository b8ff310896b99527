"""The index on disk: one SQLite file (the source of truth) and one FAISS file (derived).

SQLite holds documents, chunks with their metadata and vectors, an FTS5 table for BM25
and a ``generation`` counter bumped by every committed change. The FAISS file is named
after the generation it reflects. A reader that finds no FAISS file for the current
generation (a writer is mid-run, or was killed) rebuilds the vectors from SQLite, so a
crash at any point leaves something loadable whose FAISS ids and SQLite rows agree.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.chunking import Chunk
from rag.documents import Document

FORMAT_VERSION = 2  # 2: sentence vectors stored beside each chunk
DB_NAME = "rag.sqlite"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    date TEXT,
    kind TEXT NOT NULL,
    publisher TEXT,
    url TEXT,
    content_hash TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    indexed_at REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    page INTEGER,
    paragraph INTEGER,
    section TEXT,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sentence_vectors (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    vectors BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, section, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, section) VALUES (new.id, new.text, new.section);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, section)
    VALUES ('delete', old.id, old.text, old.section);
END;
CREATE TABLE IF NOT EXISTS glossary (
    short TEXT NOT NULL,
    long TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS glossary_doc ON glossary(doc_id);
"""


class IndexLocked(RuntimeError):
    """Another process is writing the index."""


class IndexMissing(RuntimeError):
    """No index has been built yet; run `rag index`."""


def connect(index_dir: Path, readonly: bool = False) -> sqlite3.Connection:
    path = index_dir / DB_NAME
    if readonly:
        if not path.is_file():
            raise IndexMissing(f"no index in {index_dir}/; build it with `rag index`")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        index_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.executescript(SCHEMA)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


@contextmanager
def writer_lock(index_dir: Path, wait: bool = True) -> Iterator[None]:
    """One writer at a time; a second `rag index` waits (or refuses) instead of interleaving."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_NAME).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if not wait:
                raise IndexLocked(
                    f"{index_dir}/ is being re-indexed by {holder}; try again when it finishes"
                ) from None
            print(f"Waiting for {holder} to finish re-indexing {index_dir}/ ...", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ----------------------------------------------------------------------- meta, manifest

def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def generation(conn: sqlite3.Connection) -> int:
    return int(get_meta(conn, "generation", "0") or 0)


def bump_generation(conn: sqlite3.Connection) -> int:
    gen = generation(conn) + 1
    set_meta(conn, "generation", str(gen))
    set_meta(conn, "updated_at", str(time.time()))
    return gen


def read_manifest(conn: sqlite3.Connection) -> dict | None:
    raw = get_meta(conn, "manifest")
    return json.loads(raw) if raw else None


def write_manifest(conn: sqlite3.Connection, index_dir: Path, manifest: dict) -> None:
    """The manifest lives in SQLite (authoritative) and in manifest.json (for people)."""
    set_meta(conn, "manifest", json.dumps(manifest, sort_keys=True))
    tmp = index_dir / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, index_dir / MANIFEST_NAME)


def reset(conn: sqlite3.Connection, index_dir: Path) -> None:
    """Empty the index in one transaction (a settings change makes old vectors meaningless)."""
    with conn:
        conn.execute("DELETE FROM glossary")
        conn.execute("DELETE FROM sentence_vectors")
        conn.execute("DELETE FROM chunks")
        conn.execute("DELETE FROM documents")
        conn.execute("DELETE FROM meta WHERE key = 'manifest'")
        bump_generation(conn)
    for path in index_dir.glob("vectors-*.faiss"):
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- documents

def indexed_hashes(conn: sqlite3.Connection) -> dict[str, str]:
    """source -> content hash of what is in the index now."""
    return {r["source"]: r["content_hash"] for r in conn.execute(
        "SELECT source, content_hash FROM documents")}


def remove_document(conn: sqlite3.Connection, source: str) -> list[int]:
    """Delete a document's rows (chunks and FTS follow); return the chunk ids removed."""
    ids = [r[0] for r in conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d USING (doc_id) WHERE d.source = ?",
        (source,))]
    conn.execute("DELETE FROM documents WHERE source = ?", (source,))
    return ids


def insert_document(
    conn: sqlite3.Connection,
    doc: Document,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    glossary: Sequence[tuple[str, str]] = (),
    sentence_vectors: Sequence[np.ndarray] | None = None,
) -> list[int]:
    """Insert a document with its chunks and vectors; return the new chunk ids in order.

    ``sentence_vectors[i]`` holds one row per sentence of chunk i (``split_sentences``
    order), so answers score sentences with a dot product instead of running the model
    on every question. Stored as float16: half the size, cosines off by about 1e-3.
    """
    conn.execute(
        "INSERT INTO documents (doc_id, source, title, date, kind, publisher, url, content_hash,"
        " page_starts, indexed_at, text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (doc.doc_id, doc.source, doc.title, doc.date, doc.kind, doc.publisher, doc.url,
         doc.content_hash, json.dumps(doc.page_starts), time.time(), doc.text),
    )
    ids = []
    for chunk, vector in zip(chunks, vectors, strict=True):
        cur = conn.execute(
            "INSERT INTO chunks (doc_id, ordinal, text, start, end, page, paragraph, section,"
            " vector) VALUES (?,?,?,?,?,?,?,?,?)",
            (chunk.doc_id, chunk.ordinal, chunk.text, chunk.start, chunk.end, chunk.page,
             chunk.paragraph, chunk.section, np.asarray(vector, dtype=np.float32).tobytes()),
        )
        ids.append(int(cur.lastrowid))
    if sentence_vectors is not None:
        conn.executemany(
            "INSERT INTO sentence_vectors (chunk_id, vectors) VALUES (?, ?)",
            [(i, np.asarray(v, dtype=np.float16).tobytes())
             for i, v in zip(ids, sentence_vectors, strict=True)],
        )
    conn.executemany(
        "INSERT INTO glossary (short, long, doc_id) VALUES (?, ?, ?)",
        [(short, long, doc.doc_id) for short, long in glossary],
    )
    return ids


def all_vectors(conn: sqlite3.Connection, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, vectors.reshape(len(rows), dimension)


def sentence_vectors(conn: sqlite3.Connection, ids: Sequence[int],
                     dimension: int) -> dict[int, np.ndarray]:
    """Stored sentence vectors (float32, one row per sentence) for these chunk ids."""
    if not ids or not dimension:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT chunk_id, vectors FROM sentence_vectors WHERE chunk_id IN ({marks})", list(ids))
    return {int(r[0]): np.frombuffer(r[1], dtype=np.float16).reshape(-1, dimension)
            .astype(np.float32) for r in rows}


# -------------------------------------------------------------------------------- FAISS
#
# Two kinds, both wrapped in IndexIDMap2 so FAISS ids are chunk ids:
# - "flat": exact inner product over normalised vectors (cosine). Deletes in place.
# - "hnsw": an HNSW graph, approximate, for large indexes (bench/bench_scale.py measures
#   where it pays and which efSearch keeps recall@10 >= 0.95 against flat). HNSW cannot
#   delete, so a removed chunk's id stays in the graph as a tombstone: SQLite no longer
#   has the row, readers exclude such ids from every search, and the writer rebuilds the
#   graph once tombstones pass a tenth of it.

FLAT, HNSW = "flat", "hnsw"
VECTOR_INDEX_KINDS = ("auto", FLAT, HNSW)
MAX_TOMBSTONE_SHARE = 0.1


@dataclass(frozen=True)
class VectorIndexSpec:
    """Which FAISS index to build, from settings (see config.Settings)."""

    kind: str = "auto"  # "auto", "flat" or "hnsw"
    hnsw_min_chunks: int = 50_000  # "auto" switches to HNSW at this many chunks
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80

    def kind_for(self, chunks: int) -> str:
        if self.kind not in VECTOR_INDEX_KINDS:
            raise ValueError(f"vector_index must be one of {VECTOR_INDEX_KINDS}, "
                             f"not {self.kind!r}")
        if self.kind != "auto":
            return self.kind
        return HNSW if chunks >= self.hnsw_min_chunks else FLAT


def faiss_path(index_dir: Path, gen: int) -> Path:
    return index_dir / f"vectors-{gen}.faiss"


def new_faiss(dimension: int, kind: str = FLAT,
              spec: VectorIndexSpec | None = None) -> faiss.Index:
    if kind == HNSW:
        spec = spec or VectorIndexSpec()
        inner = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = spec.hnsw_ef_construction
        return faiss.IndexIDMap2(inner)
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def faiss_kind(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return HNSW if isinstance(inner, faiss.IndexHNSW) else FLAT


def build_faiss(ids: np.ndarray, vectors: np.ndarray, dimension: int, kind: str = FLAT,
                spec: VectorIndexSpec | None = None) -> faiss.Index:
    index = new_faiss(dimension, kind, spec)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def faiss_ids(index: faiss.Index) -> np.ndarray:
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def remove_from_faiss(index: faiss.Index, ids: Sequence[int]) -> None:
    """Delete where the kind can; HNSW keeps tombstones (see above)."""
    if len(ids) and faiss_kind(index) == FLAT:
        index.remove_ids(np.asarray(ids, dtype=np.int64))


def load_faiss(index_dir: Path, gen: int) -> faiss.Index | None:
    path = faiss_path(index_dir, gen)
    try:
        return faiss.read_index(str(path))
    except (RuntimeError, OSError):
        return None


def write_faiss(index_dir: Path, gen: int, index: faiss.Index) -> None:
    """Write atomically (temp file, fsync, rename), then drop older generations."""
    final = faiss_path(index_dir, gen)
    tmp = final.with_suffix(".faiss.tmp")
    faiss.write_index(index, str(tmp))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    for old in index_dir.glob("vectors-*.faiss*"):  # older generations, and the .tmp a
        if old != final:                            # killed writer left behind
            old.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ reading

@dataclass
class IndexStatus:
    documents: int
    chunks: int
    model: str | None
    generation: int
    updated_at: float | None
    vector_index: str | None = None  # "flat" or "hnsw"


def status(conn: sqlite3.Connection) -> IndexStatus:
    manifest = read_manifest(conn) or {}
    updated = get_meta(conn, "updated_at")
    return IndexStatus(
        documents=conn.execute("SELECT count(*) FROM documents").fetchone()[0],
        chunks=conn.execute("SELECT count(*) FROM chunks").fetchone()[0],
        model=manifest.get("model"),
        generation=generation(conn),
        updated_at=float(updated) if updated else None,
        vector_index=get_meta(conn, "faiss_kind"),
    )


class IndexReader:
    """A consistent read view: FAISS vectors matching the SQLite generation they came from.

    ``refresh()`` is cheap when nothing changed; when a writer has committed, it reloads
    (or rebuilds from SQLite) so a search never mixes old vectors with new rows.

    Each ``refresh()`` also starts a read transaction that lasts until the next one: in
    WAL mode that is a snapshot, so every query on ``conn`` until the next refresh sees
    the generation ``faiss`` was loaded for, even while a writer commits. Without it a
    commit landing mid-search paired old FAISS ids with new rows (hits silently dropped,
    or passages from two generations in one answer). The snapshot holds for one thread
    at a time: threads that search concurrently should have a reader each.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.conn = connect(index_dir, readonly=True)
        self.generation = -1
        self.faiss: faiss.Index | None = None
        self.dead: np.ndarray = np.zeros(0, dtype=np.int64)  # tombstones (HNSW only)
        self.manifest: dict = {}
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> bool:
        with self._lock:
            if self.conn.in_transaction:
                self.conn.commit()  # end the previous snapshot ...
            self.conn.execute("BEGIN")  # ... and take a new one at the first read below
            return self._reload()

    def _reload(self) -> bool:
        gen = generation(self.conn)
        if gen == self.generation and self.faiss is not None:
            return False
        self.manifest = read_manifest(self.conn) or {}
        dimension = int(self.manifest.get("dimension", 0))
        index = load_faiss(self.index_dir, gen)
        chunk_ids = np.array([r[0] for r in self.conn.execute("SELECT id FROM chunks")],
                             dtype=np.int64)
        dead = np.zeros(0, dtype=np.int64)
        if index is not None:
            in_faiss = faiss_ids(index)
            if np.setdiff1d(chunk_ids, in_faiss).size:  # not the file for these rows
                index = None
            else:
                dead = np.setdiff1d(in_faiss, chunk_ids)
        if index is None and dimension:
            # Exact search over SQLite's vectors until the writer's file appears: quick
            # to build at any size, and never wrong.
            index = build_faiss(*all_vectors(self.conn, dimension), dimension)
            dead = np.zeros(0, dtype=np.int64)
        self.faiss, self.generation, self.dead = index, gen, dead
        return True

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.commit()
        self.conn.close()
