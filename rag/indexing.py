"""`rag index`: bring index/ in line with corpus/, touching only what changed.

Files are compared by content hash. New and changed files are loaded, chunked and
embedded in batches; each batch is one SQLite transaction, so a crash keeps what was
committed and loses nothing that was there before. The FAISS file is written last.

A run whose settings do not match the index in use (or the first run) writes a new build
folder beside it and switches to it only when complete (``store.switch_to``): until then
readers answer from the old index, and a killed rebuild is resumed by the next run with
the same settings or discarded by one with the old settings. A sync that would remove all
documents, or more than half, refuses unless ``prune`` is given: an empty, wrong or
unmounted folder must not empty the index.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag import chunking, ofsted, store
from rag.chunking import Chunk, chunk_document
from rag.config import CHOICES, Settings
from rag.documents import (
    CATALOG_NAME,
    SUPPORTED,
    Document,
    LoadError,
    file_hash,
    load_catalog,
)
from rag.embedding import Embedder, tuning_digest
from rag.glossary import mine_acronyms
from rag.loading import Budget, load_all
from rag.words import split_sentences

BATCH_CHUNKS = 256  # chunks embedded (and committed) together
IGNORED_NAMES = {CATALOG_NAME, "README.md", ".gitkeep"}

# Test hook (tests/test_crash_safety.py): with RAG_CRASH_AT=n set, each checkpoint below
# is printed to stderr and the n-th one kills this process with SIGKILL, so a test can
# crash a real `rag index` at a chosen point. Unset (always, outside tests) it does nothing.
CRASH_ENV = "RAG_CRASH_AT"
_checkpoints_passed = 0


def _checkpoint(label: str) -> None:
    target = os.environ.get(CRASH_ENV)
    if not target:
        return
    global _checkpoints_passed
    _checkpoints_passed += 1
    print(f"checkpoint {_checkpoints_passed} {label}", file=sys.stderr, flush=True)
    if _checkpoints_passed == int(target):
        os.kill(os.getpid(), signal.SIGKILL)


class PruneRefused(RuntimeError):
    """The sync would remove all or most indexed documents; nothing was changed."""


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    rebuilt_because: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt_because)


# What an index built before a manifest key existed was built with.
MANIFEST_DEFAULTS = {"embedding_backend": "torch", "chunk_vectors": "embedded",
                     "metadata_version": 1, "model_tuning": ""}


def manifest_for(settings: Settings, dimension: int | None = None) -> dict:
    """What the stored vectors depend on; any difference means they must be rebuilt."""
    manifest = {
        "format_version": store.FORMAT_VERSION,
        "model": settings.model,
        "model_tuning": tuning_digest(settings.model_tuning),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "chunker_version": chunking.VERSION,
        "embedding_backend": settings.embedding_backend,
        "chunk_vectors": settings.chunk_vectors,
        "metadata_version": ofsted.VERSION,
    }
    if dimension is not None:
        manifest["dimension"] = dimension
    return manifest


def manifest_mismatch(stored: dict | None, wanted: dict) -> str | None:
    """Say which setting changed, or None when the stored index fits these settings."""
    if not stored:
        return None
    for key, value in wanted.items():
        was = stored.get(key, MANIFEST_DEFAULTS.get(key))
        if was != value:
            return f"{key} changed from {was!r} to {value!r}"
    return None


def scan_corpus(corpus_dir: Path) -> tuple[dict[str, Path], list[tuple[str, str]]]:
    """Indexable files by relative path, and files refused before reading (with why)."""
    found: dict[str, Path] = {}
    refused: list[tuple[str, str]] = []
    root = corpus_dir.resolve()
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir).as_posix()
        if path.name in IGNORED_NAMES or any(p.startswith(".") for p in Path(rel).parts):
            continue
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling, or a loop (RuntimeError in 3.11)
                refused.append((rel, "a broken symlink (its target is missing, or it loops); "
                                     "replace it with the file itself"))
                continue
            if not target.is_relative_to(root):
                refused.append((rel, "a symlink pointing outside the corpus; copy the file in"))
                continue
        if not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED:
            refused.append((rel, f"unsupported type {path.suffix or '(none)'!r}; "
                                 f"convert to one of {', '.join(sorted(SUPPORTED))}"))
            continue
        found[rel] = path
    return found, refused


def sync(
    settings: Settings,
    corpus_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    prune: bool = False,
    removing: Collection[str] = (),
) -> SyncReport:
    """Sync the index with the corpus and report what was done.

    ``progress(label, done, total)`` is called as files are processed, so the CLI can
    draw a bar and the page a progress widget. Raises ``PruneRefused`` (and changes
    nothing) when the folder lacks all or more than half of the indexed documents,
    unless ``prune``; ``removing`` names documents the caller took out on purpose (a
    withdrawal), which do not count.
    """
    corpus_dir = corpus_dir or settings.corpus_dir
    index_dir = settings.index_dir
    report = SyncReport()
    if not corpus_dir.is_dir():
        raise FileNotFoundError(
            f"corpus folder {corpus_dir}/ does not exist; create it and add files")
    with store.writer_lock(index_dir):
        files, refused = scan_corpus(corpus_dir)
        if not prune:
            _refuse_mass_removal(index_dir, corpus_dir, files,
                                 {rel for rel, _ in refused} | set(removing))
        target, reason, fresh = _choose_build(index_dir, manifest_for(settings))
        report.rebuilt_because = reason
        conn = store.connect(target)
        try:
            if fresh and store.read_manifest(conn) is None:
                with conn:  # marks the build as these settings', so a kill can resume it
                    store.write_manifest(conn, target, manifest_for(settings))
            _sync_locked(conn, target, settings, corpus_dir, files, refused, embedder,
                         progress, report)
            store.checkpoint(conn)
        finally:
            conn.close()
        if fresh:
            _checkpoint("before switch")
            store.switch_to(index_dir, target)
            _checkpoint("after switch")
    return report


def _refuse_mass_removal(index_dir: Path, corpus_dir: Path, files: dict[str, Path],
                         excused: set[str]) -> None:
    """Raise PruneRefused when the folder lacks all, or more than half, of the indexed
    documents (of the index in use: a rebuild would drop them just the same). Files
    refused before reading, and ``excused`` ones removed on purpose, do not count."""
    where = store.active_dir(index_dir)
    if where is None:
        return
    conn = store.connect(index_dir, readonly=True, any_format=True)  # a rebuild's too
    try:
        indexed = store.indexed_hashes(conn)
    finally:
        conn.close()
    gone = [s for s in indexed if s not in files and s not in excused]
    if gone and (len(gone) == len(indexed) or 2 * len(gone) > len(indexed)):
        share = "all of them" if len(gone) == len(indexed) else "more than half"
        raise PruneRefused(
            f"{corpus_dir}/ lacks {len(gone)} of the {len(indexed)} indexed documents "
            f"({share}; it has {len(files)} indexable files): syncing would remove them. "
            "Nothing was changed. If the folder is wrong, empty or not mounted, fix that; "
            "to remove them, run `rag index --prune`.")


def _choose_build(index_dir: Path, wanted: dict) -> tuple[Path, str | None, bool]:
    """Where this run writes: (folder, why it is a rebuild, whether it is a new build).

    The index in use when its manifest fits these settings; otherwise an unfinished
    build for these settings (a killed rebuild, resumed) or a new one. Builds that are
    neither in use nor this run's are deleted, so vectors of two models never meet.
    """
    current = store.active_dir(index_dir)
    stored = store.stored_manifest(current) if current else None
    reason = manifest_mismatch(stored, wanted)
    if current is not None and reason is None:
        store.remove_builds(index_dir, keep=current if current != index_dir else None)
        return current, None, False
    resume = next((b for b in store.builds(index_dir) if b != current
                   and (m := store.stored_manifest(b)) and manifest_mismatch(m, wanted) is None),
                  None)
    for build in store.builds(index_dir):
        if build not in (current, resume):
            shutil.rmtree(build, ignore_errors=True)
    return resume or store.new_build(index_dir), reason, True


def _sync_locked(conn, index_dir, settings, corpus_dir, files, refused, embedder,  # noqa: ANN001
                 progress, report) -> None:
    report.failed.extend(refused)
    indexed = store.indexed_hashes(conn)
    todo: list[tuple[str, Path, str]] = []
    for rel, path in files.items():
        try:
            digest = file_hash(path)
        except OSError as exc:
            report.failed.append((rel, f"cannot read: {exc.strerror}"))
            continue
        if indexed.get(rel) == digest:
            report.unchanged.append(rel)
        else:
            todo.append((rel, path, digest))
    refused_names = {rel for rel, _ in refused}
    failed_now: set[str] = set()
    gone = [s for s in indexed if s not in files and s not in refused_names]
    _checkpoint("scanned")

    start_gen = store.generation(conn)
    removed_ids: list[int] = []
    added_ids: list[int] = []
    added_vectors: list[np.ndarray] = []

    if todo:
        embedder = embedder or Embedder.for_settings(settings)
        try:
            catalog = load_catalog(corpus_dir)
        except LoadError as exc:
            report.failed.append((CATALOG_NAME, str(exc)))
            catalog = {}
        pending: list[tuple[Document, list]] = []
        # Read in worker processes, ahead of the embedding, each within a time budget.
        loaded = load_all([(rel, path) for rel, path, _ in todo], corpus_dir, catalog,
                          Budget.of(settings))
        for done, ((rel, path, _digest), (_, doc)) in enumerate(zip(todo, loaded, strict=True),
                                                                start=1):
            if progress:
                progress(rel, done - 1, len(todo))
            try:
                if isinstance(doc, LoadError):
                    raise doc
                chunks = chunk_document(
                    doc, embedder.count_tokens, embedder.max_tokens,
                    settings.chunk_tokens, settings.chunk_overlap_tokens,
                )
            except LoadError as exc:
                report.failed.append((rel, str(exc).removeprefix(f"{path.name}: ")))
                failed_now.add(rel)
                continue
            except Exception as exc:  # a bad file must never stop the run
                report.failed.append((rel, f"unexpected error while reading: {exc!r}"))
                failed_now.add(rel)
                continue
            _checkpoint(f"loaded {rel}")
            if not chunks:
                report.failed.append((rel, "no text to index after cleaning"))
                continue
            pending.append((doc, chunks))
            if sum(len(c) for _, c in pending) >= BATCH_CHUNKS:
                _commit_batch(conn, embedder, pending, indexed, report, removed_ids,
                              added_ids, added_vectors, settings.chunk_vectors)
                pending = []
        if pending:
            _commit_batch(conn, embedder, pending, indexed, report, removed_ids,
                          added_ids, added_vectors, settings.chunk_vectors)
        if progress:
            progress("", len(todo), len(todo))

    if gone:
        _checkpoint("before removal commit")
        with conn:
            for rel in gone:
                removed_ids.extend(store.remove_document(conn, rel))
                report.removed.append(rel)
                _checkpoint(f"removing (uncommitted) {rel}")
            store.bump_generation(conn)
        _checkpoint("after removal commit")

    dimension = ((embedder.dimension if embedder else None)
                 or (store.read_manifest(conn) or {}).get("dimension")
                 or store.stored_dimension(conn))
    chunks = store.chunk_count(conn)
    spec = vector_index_spec(settings)
    kind = spec.kind_for(chunks)
    gen = store.generation(conn)
    ids = store.chunk_ids(conn)
    if not (report.changed or store.get_meta(conn, "faiss_kind") != kind
            or not _matches(store.load_faiss(index_dir, gen), ids, kind, dimension)):
        return
    if dimension is None:  # an empty index that never loaded the model
        return
    # The file as it was when this run started; this run's changes are applied to it,
    # then checked against SQLite like a reader does: a file missing a chunk (or
    # holding one SQLite no longer has) is rebuilt from the stored vectors, not kept.
    vectors_index = store.load_faiss(index_dir, start_gen)
    if _can_update(vectors_index, kind, chunks, len(added_ids), report):
        store.remove_from_faiss(vectors_index, removed_ids)
        if added_ids:
            vectors_index.add_with_ids(np.vstack(added_vectors),
                                       np.array(added_ids, dtype=np.int64))
    else:
        vectors_index = None
    if not _matches(vectors_index, ids, kind, dimension):
        if progress:
            progress(f"building the {kind} vector index", 0, 1)
        vectors_index = store.build_faiss(*store.all_vectors(conn, dimension), dimension,
                                          kind, spec)
    _checkpoint("before manifest write")
    with conn:
        store.write_manifest(conn, index_dir, manifest_for(settings, dimension))
        store.set_meta(conn, "faiss_kind", kind)
    _checkpoint("before FAISS write")
    store.write_faiss(index_dir, gen, vectors_index)
    _checkpoint("after FAISS write")


def _matches(index, ids: np.ndarray, kind: str, dimension: int | None) -> bool:  # noqa: ANN001
    """Whether a FAISS index holds exactly these chunk ids (HNSW: at least them, the
    rest tombstones), in the wanted kind and dimension."""
    if index is None or store.faiss_kind(index) != kind or index.d != dimension:
        return False
    in_faiss = store.faiss_ids(index)
    if np.setdiff1d(ids, in_faiss).size:
        return False
    return kind == store.HNSW or in_faiss.size == ids.size


def vector_index_spec(settings: Settings) -> store.VectorIndexSpec:
    return store.VectorIndexSpec(settings.vector_index, settings.hnsw_min_chunks,
                                 settings.hnsw_m, settings.hnsw_ef_construction)


def _can_update(index, kind: str, chunks: int, added: int, report: SyncReport) -> bool:  # noqa: ANN001
    """Whether the loaded FAISS index can take this run's changes in place.

    Not when there is none, when the settings were reset, when the wanted kind changed
    (the corpus grew past the HNSW threshold, or the setting changed), or when an HNSW
    graph would carry more than MAX_TOMBSTONE_SHARE removed ids.
    """
    if index is None or report.rebuilt_because or store.faiss_kind(index) != kind:
        return False
    if kind == store.HNSW:
        dead = index.ntotal + added - chunks
        return dead <= store.MAX_TOMBSTONE_SHARE * (index.ntotal + added)
    return True


def embed_chunks(embedder: Embedder, pending: list[tuple[Document, list[Chunk]]],
                 how: str = "sentences") -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk's vector, and its sentences' vectors (``split_sentences`` order), from
    one call to the model.

    The sentences are embedded so that answering needs the model only for the question.
    With ``how`` "sentences" the chunk's vector is built from them: the normalised sum
    of its sentences' vectors and its heading's. The sentences cover the chunk's text, so
    embedding the chunk as well had the model read every token twice (chunk vectors were
    48% of indexing time, sentences 42%). A chunk with no sentence, and every chunk with
    ``how`` "embedded", is embedded as its heading and text.
    """
    if how not in CHOICES["chunk_vectors"]:
        raise ValueError(f"chunk_vectors {how!r}: choose one of {CHOICES['chunk_vectors']}")
    chunks = [(doc, c) for doc, cs in pending for c in cs]
    spans = [split_sentences(c.text) for _, c in chunks]
    sentences = [c.text[s:e] for (_, c), cs in zip(chunks, spans, strict=True) for s, e in cs]
    whole = [how == "embedded" or not cs for cs in spans]
    # What each chunk adds to the call: its heading and text, or its heading alone (a
    # document's chunks share a few headings; the model embeds each distinct text once).
    firsts = [c.embed_text(doc.title) if w else c.heading(doc.title)
              for (doc, c), w in zip(chunks, whole, strict=True)]
    encoded = embedder.encode(firsts + sentences)
    first_rows, sentence_rows = encoded[: len(firsts)], encoded[len(firsts):]
    per_chunk = np.split(sentence_rows, np.cumsum([len(cs) for cs in spans])[:-1])
    vectors = np.array(first_rows, dtype=np.float32)
    for i, ((doc, c), w) in enumerate(zip(chunks, whole, strict=True)):
        if not w:
            total = per_chunk[i].sum(axis=0) + (first_rows[i] if c.heading(doc.title) else 0)
            vectors[i] = total / max(float(np.linalg.norm(total)), 1e-12)
    return vectors, per_chunk


def _commit_batch(conn, embedder, pending, indexed, report, removed_ids, added_ids,  # noqa: ANN001
                  added_vectors, chunk_vectors: str) -> None:
    """Embed a batch of documents (``embed_chunks``) and swap them in within one
    transaction."""
    vectors, per_chunk = embed_chunks(embedder, pending, chunk_vectors)
    report.chunks_embedded += len(vectors)
    at = 0
    _checkpoint("before batch commit")
    with conn:
        for doc, chunks in pending:
            if doc.source in indexed:
                removed_ids.extend(store.remove_document(conn, doc.source))
                report.updated.append(doc.source)
            else:
                report.added.append(doc.source)
            block = vectors[at : at + len(chunks)]
            at += len(chunks)
            added_ids.extend(store.insert_document(conn, doc, chunks, block,
                                                   mine_acronyms(doc.text),
                                                   per_chunk[at - len(chunks) : at]))
            added_vectors.append(block)
            _checkpoint(f"inserted (uncommitted) {doc.source}")
        store.bump_generation(conn)
    _checkpoint("after batch commit")
