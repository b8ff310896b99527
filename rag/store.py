"""The index on disk: one SQLite file (the source of truth) and one FAISS file (derived).

They live in a build folder, ``index/build-<time>-<id>/``, which ``index/CURRENT`` names.
A rebuild (the model or chunking changed, or a first build) writes a new build folder
beside the one in use and switches ``CURRENT`` to it only when it is complete, so readers
answer from the old index until then and a kill at any moment leaves it whole. An index
written before build folders (``rag.sqlite`` directly in ``index/``) is read in place.

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
import re
import secrets
import shutil
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.chunking import Chunk
from rag.documents import Document
from rag.glossary import initials_query, spell_out
from rag.ofsted import council_key
from rag.records import DocumentRef, Filters, Passage
from rag.words import STOPWORDS, TOKEN

FORMAT_VERSION = 3  # 2: sentence vectors stored beside each chunk; 3: Ofsted metadata
DB_NAME = "rag.sqlite"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
CURRENT_NAME = "CURRENT"  # names the build folder readers use
BUILD_PREFIX = "build-"
CHECKPOINT_WAIT_MS = 2000  # how long the writer's closing checkpoint waits for readers

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
    text TEXT NOT NULL,
    council TEXT,
    council_key TEXT,
    inspection_start TEXT,
    inspection_end TEXT,
    published TEXT,
    judgements TEXT NOT NULL DEFAULT '{}'
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


class IndexOutdated(IndexMissing):
    """The index was written in another format (an older version of this program): a
    reader cannot use it, and `rag index` (or the page's first start) builds it anew.
    It is an IndexMissing so that whatever builds a missing index builds this one too."""


def active_dir(index_dir: Path) -> Path | None:
    """The folder holding the index readers use: the build ``CURRENT`` names, or
    ``index_dir`` itself for an index written before build folders; None for no index."""
    try:
        name = (index_dir / CURRENT_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    if name and (index_dir / name / DB_NAME).is_file():
        return index_dir / name
    return index_dir if (index_dir / DB_NAME).is_file() else None


def _uri(path: Path) -> str:
    """A read-only SQLite URI for a path: quoted, so '#', '?' or '%' in it are a name."""
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"


def connect(index_dir: Path, readonly: bool = False,
            any_format: bool = False) -> sqlite3.Connection:
    """Read-only: the index in use under ``index_dir``, refused (IndexOutdated) when
    written in another format unless ``any_format``. Writable: the database in that
    very folder (the writer passes the build folder it writes)."""
    if readonly:
        where = active_dir(index_dir)
        if where is None:
            raise IndexMissing(f"no index in {index_dir}/; build it with `rag index`")
        conn = sqlite3.connect(_uri(where / DB_NAME), uri=True, check_same_thread=False)
        try:
            found = (read_manifest(conn) or {}).get("format_version", FORMAT_VERSION)
        except sqlite3.DatabaseError:  # no schema yet: a legacy index being written
            found = FORMAT_VERSION
        found = FORMAT_VERSION if any_format else found
        if found != FORMAT_VERSION:
            conn.close()
            raise IndexOutdated(
                f"the index in {index_dir}/ was written in format {found} and this version "
                f"reads format {FORMAT_VERSION}; rebuild it with `rag index`")
    else:
        index_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(index_dir / DB_NAME, check_same_thread=False)
        conn.executescript(SCHEMA)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def database_identity(index_dir: Path) -> tuple[int, int] | None:
    """Which database file is in use (device, inode): a reader compares it to notice an
    index that was switched, or deleted and built again, under it."""
    where = active_dir(index_dir)
    try:
        st = (where / DB_NAME).stat() if where else None
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st else None


def checkpoint(conn: sqlite3.Connection) -> None:
    """Fold the write-ahead log into the database and truncate it, waiting briefly for
    readers to finish their snapshot; if one does not, the next run tries again."""
    conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.execute("PRAGMA busy_timeout = 10000")


# ------------------------------------------------------------------------------ builds

def builds(index_dir: Path) -> list[Path]:
    """Every build folder under ``index_dir``, in use or not, oldest first."""
    return sorted(p for p in index_dir.glob(f"{BUILD_PREFIX}*") if p.is_dir())


def new_build(index_dir: Path) -> Path:
    """An empty build folder for a rebuild; nothing reads it until ``switch_to``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = index_dir / f"{BUILD_PREFIX}{stamp}-{secrets.token_hex(4)}"
    path.mkdir(parents=True)
    return path


def stored_manifest(build: Path) -> dict | None:
    """The manifest of one build folder's database (None when it has none)."""
    if not (build / DB_NAME).is_file():
        return None
    with closing(sqlite3.connect(_uri(build / DB_NAME), uri=True)) as conn:
        try:
            return read_manifest(conn)
        except sqlite3.DatabaseError:  # a build killed before its schema was written
            return None


def remove_builds(index_dir: Path, keep: Path | None) -> None:
    """Delete build folders other than ``keep``: a superseded index, or an unfinished
    rebuild no longer wanted. A reader still on one keeps its open files (POSIX) and
    moves to the new build at its next refresh."""
    for build in builds(index_dir):
        if build != keep:
            shutil.rmtree(build, ignore_errors=True)


def switch_to(index_dir: Path, build: Path) -> None:
    """Make a complete build the index in use: one atomic rename of ``CURRENT``, then
    the previous index is deleted."""
    previous = active_dir(index_dir)
    tmp = index_dir / (CURRENT_NAME + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(build.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / CURRENT_NAME)
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    remove_builds(index_dir, keep=build)
    if previous == index_dir:  # the index from before build folders
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", MANIFEST_NAME):
            (index_dir / name).unlink(missing_ok=True)
        for old in index_dir.glob("vectors-*.faiss*"):
            old.unlink(missing_ok=True)


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
        " page_starts, indexed_at, text, council, council_key, inspection_start,"
        " inspection_end, published, judgements) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (doc.doc_id, doc.source, doc.title, doc.date, doc.kind, doc.publisher, doc.url,
         doc.content_hash, json.dumps(doc.page_starts), time.time(), doc.text, doc.council,
         council_key(doc.council) if doc.council else None, doc.inspection_start,
         doc.inspection_end, doc.published, json.dumps(doc.judgements, sort_keys=True)),
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


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression that can never be a syntax error.

    Every word becomes a quoted string joined by OR, so quotes, ``*``, ``NEAR`` or
    unbalanced brackets in a question are just text.
    """
    words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def _filter_sql(filters: Filters) -> tuple[str, list]:
    """A WHERE clause over documents d. Partial dates ("2016") span their whole period."""
    clauses, args = ["1"], []
    if filters.kinds:
        clauses.append(f"d.kind IN ({','.join('?' * len(filters.kinds))})")
        args.extend(filters.kinds)
    if filters.doc_ids:
        clauses.append(f"d.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        args.extend(filters.doc_ids)
    if filters.date_from:
        clauses.append("substr(d.date || '-12-31', 1, 10) >= ?")
        args.append(filters.date_from)
    if filters.date_to:
        clauses.append("substr(d.date || '-01-01', 1, 10) <= ?")
        args.append(filters.date_to)
    if filters.councils:
        clauses.append(f"d.council_key IN ({','.join('?' * len(filters.councils))})")
        args.extend(filters.councils)
    if filters.years:
        # "The 2022 inspection" may mean the year it was carried out or published.
        marks = ",".join("?" * len(filters.years))
        clauses.append(f"(substr(d.date, 1, 4) IN ({marks}) OR substr(d.inspection_start, 1, 4)"
                       f" IN ({marks}) OR substr(d.inspection_end, 1, 4) IN ({marks}))")
        args.extend([*filters.years] * 3)
    return " AND ".join(clauses), args


_REF = "d.doc_id, d.title, d.source, d.date, d.kind, d.council"


def _document_ref(row: sqlite3.Row) -> DocumentRef:
    return DocumentRef(doc_id=row["doc_id"], title=row["title"], source=row["source"],
                       date=row["date"], kind=row["kind"], council=row["council"])


def documents(conn: sqlite3.Connection) -> list[DocumentRef]:
    """Every indexed document, oldest first (undated last), then by title."""
    rows = conn.execute(f"SELECT {_REF} FROM documents d"
                        " ORDER BY coalesce(date, '9999'), title")
    return [_document_ref(r) for r in rows]


@dataclass(frozen=True)
class LibraryEntry:
    """One row of the library table (`rag library --json`, the page's library view)."""

    doc: DocumentRef
    inspection_start: str | None
    inspection_end: str | None
    published: str | None
    judgements: dict[str, str]

    def to_json(self) -> dict:
        d = self.doc
        return {"source": d.source, "title": d.title, "council": d.council, "kind": d.kind,
                "date": d.date, "inspection_start": self.inspection_start,
                "inspection_end": self.inspection_end, "published": self.published,
                "judgements": self.judgements}


def library(conn: sqlite3.Connection) -> list[LibraryEntry]:
    """Every document with what Ofsted's heading says of it: by council, then date."""
    return _library_rows(conn, "1", [])


def _library_rows(conn: sqlite3.Connection, where: str, args: list) -> list[LibraryEntry]:
    rows = conn.execute(
        f"SELECT {_REF}, d.inspection_start, d.inspection_end, d.published, d.judgements"
        f" FROM documents d WHERE {where}"
        " ORDER BY coalesce(council, '~'), coalesce(date, '9999'), title", args)
    return [LibraryEntry(_document_ref(r), r["inspection_start"], r["inspection_end"],
                         r["published"], json.loads(r["judgements"])) for r in rows]


def document_text(conn: sqlite3.Connection, doc_id: str) -> tuple[DocumentRef, str] | None:
    """A document and its whole cleaned text; None when it is no longer indexed."""
    row = conn.execute(f"SELECT {_REF}, d.text FROM documents d"
                       " WHERE doc_id = ?", (doc_id,)).fetchone()
    return (_document_ref(row), row["text"]) if row else None


def chunk_span(conn: sqlite3.Connection, chunk_id: int, doc_id: str) -> tuple[int, int] | None:
    """Where a chunk sits in its document's cleaned text, if it is still indexed."""
    row = conn.execute("SELECT start, end FROM chunks WHERE id = ? AND doc_id = ?",
                       (chunk_id, doc_id)).fetchone()
    return (row["start"], row["end"]) if row else None


def chunk_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM chunks").fetchone()[0]


def stored_dimension(conn: sqlite3.Connection) -> int | None:
    """The dimension of the stored vectors (float32), None when there are none."""
    row = conn.execute("SELECT length(vector) FROM chunks LIMIT 1").fetchone()
    return row[0] // 4 if row else None


def chunk_ids(conn: sqlite3.Connection) -> np.ndarray:
    return np.array([r[0] for r in conn.execute("SELECT id FROM chunks")], dtype=np.int64)


SENTENCE_CACHE = 4000  # chunks whose sentence vectors a reader keeps decoded (~25 MB)


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
        self.generation = -1
        self.faiss: faiss.Index | None = None
        self.dead: np.ndarray = np.zeros(0, dtype=np.int64)  # tombstones (HNSW only)
        self.manifest: dict = {}
        self._glossary: list[tuple[str, str]] = []
        self._allowed: dict[Filters, np.ndarray] = {}
        self._spelled: dict[str, str | None] = {}
        self._pairs: dict[tuple[str, int], int] = {}  # rare_pairs' counts, this generation
        self._sentences: dict[int, np.ndarray] = {}  # decoded sentence vectors, this generation
        self._chunks = 0
        self._councils: dict[str, str] = {}
        self._lock = threading.Lock()
        self._retired: sqlite3.Connection | None = None  # the file switched away from
        self._open()
        self.refresh()

    def _open(self) -> None:
        """Connect to the database in use now. Its identity is read first: if a writer
        switches builds in between, the next refresh sees a different one and reopens."""
        for attempt in range(3):
            self.identity = database_identity(self.index_dir)
            self.dir = active_dir(self.index_dir) or self.index_dir
            try:
                self.conn = connect(self.index_dir, readonly=True)
                return
            except sqlite3.OperationalError:  # the build was switched away just now
                if attempt == 2:
                    raise

    def refresh(self) -> bool:
        """End the previous snapshot and take a new one, reloading what changed.

        A different database file (a rebuild switched builds, or index/ was deleted and
        built again) is reopened: generation numbers only compare within one file.
        """
        with self._lock:
            if self.conn.in_transaction:
                self.conn.commit()  # end the previous snapshot ...
            if self._retired is not None:
                self._retired.close()
                self._retired = None
            identity = database_identity(self.index_dir)
            if identity is not None and identity != self.identity:
                # Closed at the next refresh, not now: another thread may be mid-query.
                self._retired = self.conn
                self._open()
                self.generation, self.faiss = -1, None
            self.conn.execute("BEGIN")  # ... and take a new one at the first read below
            return self._reload()

    def release(self) -> None:
        """End the snapshot now instead of at the next refresh.

        An idle reader holding a snapshot stops the writer's checkpoint from emptying the
        write-ahead log, which then grows with every run: call this when an answer is
        done. The next refresh takes a new snapshot.
        """
        with self._lock:
            if self.conn.in_transaction:
                self.conn.commit()

    def _reload(self) -> bool:
        gen = generation(self.conn)
        if gen == self.generation and self.faiss is not None:
            return False
        self.manifest = read_manifest(self.conn) or {}
        dimension = int(self.manifest.get("dimension", 0))
        index = load_faiss(self.dir, gen)
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
        self._glossary = [(r[0], r[1]) for r in self.conn.execute(
            "SELECT short, min(long) FROM glossary GROUP BY short")]
        self._allowed, self._spelled, self._pairs, self._sentences = {}, {}, {}, {}
        self._chunks = len(chunk_ids)
        self._councils = {r[0]: r[1] for r in self.conn.execute(
            "SELECT council_key, min(council) FROM documents WHERE council_key IS NOT NULL"
            " GROUP BY council_key")}
        return True

    # The questions retrieval, the scope checks and reading a question ask of the index.
    # Each is one statement; none builds SQL from user text (FTS5 words are quoted).

    def glossary(self) -> list[tuple[str, str]]:
        """(acronym, phrase) pairs the indexed reports define, as of this generation."""
        return self._glossary

    def in_passages(self, word: str) -> bool:
        """Whether any indexed passage has the word (stemmed, as BM25 matches it)."""
        return self.conn.execute("SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1",
                                 (f'"{word}"',)).fetchone() is not None

    def in_titles(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM documents WHERE title LIKE ? LIMIT 1",
                                 (f"%{name}%",)).fetchone() is not None

    def initial_phrases(self, acronym: str, limit: int = 2000) -> list[str]:
        """Passages with words starting with the acronym's letters, near each other.

        At most ``limit`` of them: enough for a term used throughout a corpus to win
        (bench/bench_acronyms.py: about 0.1 s on the 57k-chunk scale index).
        """
        rows = self.conn.execute(
            "SELECT c.text FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
            " WHERE chunks_fts MATCH ? LIMIT ?", (initials_query(acronym), limit))
        return [r[0] for r in rows]

    def spelled(self, acronym: str) -> str | None:
        """The phrase an acronym the reports never write stands for, if one clearly wins
        (``glossary.spell_out``); None for one they write. Remembered until the index
        changes: at scale the lookup reads 2,000 passages, and staff ask "CSE" often."""
        if acronym not in self._spelled:
            self._spelled[acronym] = (None if self.in_passages(acronym) else
                                      spell_out(acronym, self.initial_phrases(acronym),
                                                STOPWORDS))
        return self._spelled[acronym]

    def councils(self) -> dict[str, str]:
        """council key -> the council's name, for every council the library holds."""
        return self._councils

    def newest_year(self) -> str | None:
        return self.conn.execute("SELECT max(substr(date, 1, 4)) FROM documents").fetchone()[0]

    def has_year(self, year: str, councils: Sequence[str] = ()) -> bool:
        """Whether any document (on one of these councils) is of that year: dated,
        inspected or published in it."""
        where, args = _filter_sql(Filters(councils=tuple(councils), years=(year,)))
        return self.conn.execute(f"SELECT 1 FROM documents d WHERE {where} LIMIT 1",
                                 args).fetchone() is not None

    def used_as_council(self, name: str) -> bool:
        """Whether some passage writes the name as a council's: "Manchester City
        Council", "Manchester's children's services"."""
        n = name.lower()
        phrases = [f'"{n} council"', f'"{n} city council"', f'"{n} county council"',
                   f'"{n} borough council"', f'"{n} children s services"']
        return self.conn.execute("SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1",
                                 (" OR ".join(phrases),)).fetchone() is not None

    def documents_naming(self, ordinal: str, noun: str) -> list[str]:
        """Documents that name "the fourth monitoring visit": in a passage with the
        ordinal near the noun, or in the title or file name."""
        rows = self.conn.execute(
            "SELECT DISTINCT c.doc_id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
            " WHERE chunks_fts MATCH ?", (f'NEAR("{ordinal}" "{noun}", 8)',)).fetchall()
        # "The fifth visit" is the file "...fifth-monitoring-visit.txt": one word (the
        # visit's kind) may stand between the ordinal and the noun in a title or name.
        named = re.compile(rf"\b{re.escape(ordinal)}\s+(?:[a-z]+\s+)?{re.escape(noun)}")
        rows += [(doc_id,) for doc_id, title, source in self.conn.execute(
            "SELECT doc_id, lower(title), replace(replace(lower(source), '-', ' '), '_', ' ')"
            " FROM documents WHERE instr(lower(title), ?1) OR instr(lower(source), ?1)",
            (ordinal.lower(),)) if named.search(title) or named.search(source)]
        return sorted({r[0] for r in rows})

    def allowed_ids(self, filters: Filters) -> np.ndarray | None:
        """The chunk ids a filter admits, None for no filter.

        A document's chunks get consecutive ids (one writer inserts them together), so
        each document is one id range: reading ranges instead of every id keeps a filter
        over a 100,000-chunk index to a few milliseconds. Remembered until the index
        changes, because the same filters (the sidebar's, a year's documents) come back.
        """
        if filters.is_empty():
            return None
        if filters not in self._allowed:
            where, args = _filter_sql(filters)
            rows = self.conn.execute(
                "SELECT min(c.id), max(c.id), count(*) FROM chunks c JOIN documents d"
                f" USING (doc_id) WHERE {where} GROUP BY c.doc_id", args).fetchall()
            if all(hi - lo + 1 == n for lo, hi, n in rows):
                ranges = [np.arange(lo, hi + 1, dtype=np.int64) for lo, hi, _ in rows]
                ids = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
            else:  # not consecutive (an index written some other way): read every id
                ids = np.array([r[0] for r in self.conn.execute(
                    f"SELECT c.id FROM chunks c JOIN documents d USING (doc_id) WHERE {where}",
                    args)], dtype=np.int64)
            if len(self._allowed) >= 64:
                self._allowed.clear()
            self._allowed[filters] = ids
        return self._allowed[filters]

    def bm25(self, text: str, n: int, filters: Filters,
             raw: bool = False) -> list[tuple[int, float]]:
        """The n best chunks for the text's words by BM25, best first, with their scores.
        ``raw``: the text is already an FTS5 expression built here (``phrases``)."""
        query = text if raw else fts_query(text)
        if not query:
            return []
        if filters.is_empty():  # no join needed: FTS5 alone is twice as fast at 100k chunks
            rows = self.conn.execute(
                "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
                " ORDER BY s LIMIT ?", (query, n))
            return [(int(r[0]), -float(r[1])) for r in rows]
        where, args = _filter_sql(filters)
        rows = self.conn.execute(
            "SELECT f.rowid, bm25(chunks_fts) AS s FROM chunks_fts f"
            " JOIN chunks c ON c.id = f.rowid JOIN documents d USING (doc_id)"
            f" WHERE chunks_fts MATCH ? AND {where} ORDER BY s LIMIT ?",
            [query, *args, n],
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def rare_pairs(self, pairs: Sequence[str], share: float) -> list[str]:
        """The word pairs found as phrases in at most ``share`` of all chunks, and in one
        at least: a rare phrase names the thing asked about ("considerable strength"); a
        common one ("looked after") only adds a vote for every passage. Counted once per
        pair, share and generation, and only as far as the limit: a common phrase's
        thousands of chunks are not all visited."""
        limit = int(share * max(1, self._chunks))
        kept = []
        for pair in pairs:
            count = self._pairs.get((pair, limit))
            if count is None:
                count = self._pairs[(pair, limit)] = self.conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ?"
                    " LIMIT ?)", (f'"{pair}"', limit + 1)).fetchone()[0]
            if 0 < count <= limit:
                kept.append(pair)
        return kept

    def phrases(self, pairs: Sequence[str], n: int,
                filters: Filters) -> list[tuple[int, float]]:
        """The n best chunks holding any of the word pairs as a phrase, by BM25."""
        if not pairs:
            return []
        return self.bm25(" OR ".join(f'"{p}"' for p in pairs), n, filters, raw=True)

    def texts(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        return {int(r[0]): r[1] for r in self.conn.execute(
            f"SELECT id, text FROM chunks WHERE id IN ({marks})", list(ids))}

    def vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Each chunk's own vector (float32, normalised)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})",
                                 list(ids))
        return {int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def sentence_vectors(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of each chunk's sentences (see ``sentence_vectors``).

        The last SENTENCE_CACHE chunks' are kept decoded for this generation: a search
        ranks a hundred candidates by their sentences, and the same passages come back
        from question to question (a tenth of a warm answer on the starting corpus)."""
        missing = [i for i in ids if i not in self._sentences]
        if missing:
            fetched = sentence_vectors(self.conn, missing,
                                       int(self.manifest.get("dimension", 0)))
            if len(self._sentences) + len(fetched) > SENTENCE_CACHE:
                self._sentences = {}
            self._sentences.update(fetched)
        cached = self._sentences
        return {i: cached[i] for i in ids if i in cached}

    def passages(self, ids: Sequence[int], scores: dict[int, float]) -> list[Passage]:
        """The chunks with their documents, in the order of ``ids`` (missing ones skipped)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self.conn.execute(
            f"SELECT c.id, {_REF}, c.page, c.paragraph, c.section, c.text"
            f" FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN ({marks})",
            list(ids))}
        return [Passage(chunk_id=i, doc=_document_ref(r), page=r["page"],
                        paragraph=r["paragraph"], section=r["section"], text=r["text"],
                        score=round(scores[i], 6))
                for i in ids if (r := rows.get(i)) is not None]

    def library(self, filters: Filters) -> list[LibraryEntry]:
        """The library table's rows a filter admits, by council, then date."""
        where, args = _filter_sql(filters)
        return _library_rows(self.conn, where, args)

    def judged_documents(self, filters: Filters, documents: int = 5) -> list[str]:
        """The newest (up to ``documents``) documents a filter admits that carry
        judgements, newest first."""
        where, args = _filter_sql(filters)
        return [r[0] for r in self.conn.execute(
            f"SELECT d.doc_id FROM documents d WHERE {where} AND d.judgements != '{{}}'"
            " ORDER BY coalesce(d.date, '') DESC LIMIT ?", [*args, documents])]

    def next_passage(self, chunk_id: int, step: int = 1) -> Passage | None:
        """The chunk ``step`` after this one in its document (before it when negative),
        if any."""
        row = self.conn.execute(
            "SELECT n.id FROM chunks c JOIN chunks n ON n.doc_id = c.doc_id"
            " AND n.ordinal = c.ordinal + ? WHERE c.id = ?", (step, chunk_id)).fetchone()
        return self.passages([row[0]], {row[0]: 0.0})[0] if row else None

    def opening_passages(self, doc_id: str, n: int) -> list[Passage]:
        """A document's first n chunks, in order."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM chunks WHERE doc_id = ? ORDER BY ordinal LIMIT ?", (doc_id, n))]
        return self.passages(ids, dict.fromkeys(ids, 0.0))

    def document_texts(self) -> list[tuple[DocumentRef, str]]:
        """Every document with its whole cleaned text, by id."""
        rows = self.conn.execute(f"SELECT {_REF}, d.text FROM documents d ORDER BY doc_id")
        return [(_document_ref(r), r["text"]) for r in rows]

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.commit()
        self.conn.close()
        if self._retired is not None:
            self._retired.close()


# ----------------------------------------------------------------------- feedback file
#
# People's ratings live in their own database under data_dir (rag.feedback), never in
# index/: the index is generated, rebuilt when settings change and may be deleted, and
# judgements of past answers must survive that.

FEEDBACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    user TEXT
);
"""


def _feedback(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.executescript(FEEDBACK_SCHEMA)
    if "user" not in {r["name"] for r in conn.execute("PRAGMA table_info(feedback)")}:
        conn.execute("ALTER TABLE feedback ADD COLUMN user TEXT")  # a file from before sign-in
    return conn


def save_rating(path: Path, answer_id: str, created_at: str, question: str, answer: str,
                abstained: bool, citations: str, filters: str, rating: int,
                user: str | None = None) -> None:
    """Store or change one answer's rating, keyed by the answer's id."""
    with closing(_feedback(path)) as conn, conn:
        conn.execute(
            "INSERT INTO feedback (answer_id, created_at, question, answer, abstained,"
            " citations, filters, rating, user) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(answer_id) DO UPDATE SET created_at = excluded.created_at,"
            " rating = excluded.rating, user = excluded.user",
            (answer_id, created_at, question, answer, int(abstained), citations, filters,
             rating, user))


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (its journal included) with SQLite's backup."""
    with closing(sqlite3.connect(source, timeout=10)) as src, \
            closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def delete_rating(path: Path, answer_id: str) -> None:
    with closing(_feedback(path)) as conn, conn:
        conn.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))


def ratings(path: Path) -> list[sqlite3.Row]:
    """Every rating, oldest first."""
    with closing(_feedback(path)) as conn:
        return conn.execute("SELECT * FROM feedback ORDER BY created_at, rowid").fetchall()


# ------------------------------------------------------------------- provenance log
#
# Every addition and withdrawal of a document through the page (rag.provenance), in its
# own database in data_dir: the index is generated and may be deleted and rebuilt, and
# who added what, when, must outlive it. Append-only: triggers refuse UPDATE and DELETE,
# so a withdrawal is a new row, never an edit of the addition.

PROVENANCE_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('added', 'withdrawn')),
    source TEXT NOT NULL,
    by TEXT NOT NULL,
    original_name TEXT,
    content_hash TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    moved_to TEXT
);
CREATE INDEX IF NOT EXISTS events_source ON events (source, id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the provenance log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the provenance log is append-only'); END;
"""


def _provenance(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.executescript(PROVENANCE_SCHEMA)
    return conn


def append_event(path: Path, at: str, action: str, source: str, by: str,
                 original_name: str | None = None, content_hash: str | None = None,
                 metadata: str = "{}", moved_to: str | None = None) -> int:
    """Append one addition or withdrawal; its row id."""
    with closing(_provenance(path)) as conn, conn:
        cur = conn.execute(
            "INSERT INTO events (at, action, source, by, original_name, content_hash,"
            " metadata, moved_to) VALUES (?,?,?,?,?,?,?,?)",
            (at, action, source, by, original_name, content_hash, metadata, moved_to))
        return int(cur.lastrowid)


def events(path: Path) -> list[sqlite3.Row]:
    """The whole log, oldest first; [] when nothing was ever added through the page."""
    if not path.is_file():
        return []
    with closing(_provenance(path)) as conn:
        return conn.execute("SELECT * FROM events ORDER BY id").fetchall()
