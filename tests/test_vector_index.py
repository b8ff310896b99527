"""The FAISS index kind: exact flat by default, HNSW for large indexes, deletion on both.

Real model, real FAISS, real SQLite; the starting corpus is small, so these tests ask
for HNSW explicitly (or lower the "auto" threshold) instead of indexing 50,000 chunks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.config import Settings
from rag.embedding import Embedder
from rag.indexing import sync
from rag.query import understand
from rag.records import Filters
from rag.retrieval import Retriever
from tests.conftest import settings_for

QUESTION = "What did inspectors say about return home interviews?"
SMALL = "2017-10-19_ofsted_monitoring-visit-letter.txt"  # 11 of 199 chunks
LARGE = "2016_ofsted_inspection-report.txt"  # 164 of 199 chunks


def copy_of(settings: Settings, tmp: Path, **overrides: object) -> Settings:
    shutil.copytree(settings.corpus_dir, tmp / "corpus")
    shutil.copytree(settings.index_dir, tmp / "index")
    return settings_for(tmp, **overrides)


def kind_on_disk(settings: Settings) -> str:
    reader = store.IndexReader(settings.index_dir)
    kind = store.faiss_kind(reader.faiss)
    assert store.get_meta(reader.conn, "faiss_kind") == kind
    reader.close()
    return kind


@pytest.fixture(scope="module")
def hnsw_built(tmp_path_factory: pytest.TempPathFactory, built_index: Settings,
               embedder: Embedder) -> Settings:
    """The corpus index with its vectors moved into an HNSW graph (nothing re-embedded)."""
    settings = copy_of(built_index, tmp_path_factory.mktemp("hnsw"), vector_index="hnsw")
    report = sync(settings, embedder=embedder)
    assert report.chunks_embedded == 0 and not report.rebuilt_because
    assert kind_on_disk(settings) == store.HNSW
    return settings


@pytest.fixture
def hnsw_copy(tmp_path: Path, hnsw_built: Settings) -> Settings:
    return copy_of(hnsw_built, tmp_path, vector_index="hnsw")


def test_auto_is_exact_below_the_threshold_and_hnsw_from_it(
    tmp_path: Path, built_index: Settings, embedder: Embedder
) -> None:
    assert kind_on_disk(built_index) == store.FLAT  # 199 chunks, default threshold 50,000
    grown = copy_of(built_index, tmp_path, hnsw_min_chunks=150)
    report = sync(grown, embedder=embedder)
    assert report.chunks_embedded == 0  # a new kind rebuilds FAISS, not the vectors
    assert kind_on_disk(grown) == store.HNSW
    with pytest.raises(ValueError, match="vector_index"):
        store.VectorIndexSpec("ivf").kind_for(10)


def test_hnsw_finds_what_exact_search_finds(built_index: Settings, hnsw_built: Settings,
                                            embedder: Embedder) -> None:
    flat = Retriever(built_index, embedder=embedder)
    hnsw = Retriever(hnsw_built, embedder=embedder)
    vector = embedder.encode([QUESTION])[0]
    exact = [c for c, _ in flat.dense(vector, 10, None)]
    approx = [c for c, _ in hnsw.dense(vector, 10, None)]
    # The same chunk ids in both (copied index); recall@10 of 0.9 leaves room for a tie.
    assert len(set(exact) & set(approx)) >= 9


def test_hnsw_deletion_leaves_tombstones_that_are_never_returned(
    hnsw_copy: Settings, embedder: Embedder
) -> None:
    settings = hnsw_copy
    retriever = Retriever(settings, embedder=embedder)
    before = retriever.reader.faiss.ntotal
    gone = {r[0] for r in retriever.reader.conn.execute(
        "SELECT c.id FROM chunks c JOIN documents d USING (doc_id) WHERE d.source = ?",
        (SMALL,))}
    assert gone
    (settings.corpus_dir / SMALL).unlink()
    report = sync(settings, embedder=embedder)
    assert report.removed == [SMALL]
    hits = retriever.search(understand(QUESTION, lexicon=retriever.reader), k=10)
    # The graph was not rebuilt: the removed ids are still in it, as tombstones ...
    assert retriever.reader.faiss.ntotal == before
    assert set(retriever.reader.dead.tolist()) == gone
    # ... and no search returns them, however many results are asked for.
    vector = embedder.encode([QUESTION])[0]
    assert not {c for c, _ in retriever.dense(vector, before, None)} & gone
    assert hits and not {h.chunk_id for h in hits} & gone
    assert all(h.doc.source != SMALL for h in hits)


def test_hnsw_is_rebuilt_once_tombstones_pass_a_tenth(hnsw_copy: Settings,
                                                      embedder: Embedder) -> None:
    settings = hnsw_copy
    (settings.corpus_dir / LARGE).unlink()
    sync(settings, embedder=embedder)
    reader = store.IndexReader(settings.index_dir)
    chunks = reader.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    assert reader.faiss.ntotal == chunks and not len(reader.dead)


def test_a_narrow_filter_on_hnsw_is_searched_exactly(hnsw_built: Settings,
                                                     embedder: Embedder) -> None:
    retriever = Retriever(hnsw_built, embedder=embedder)
    letters = Filters(kinds=("monitoring letter",))
    allowed = retriever.reader.allowed_ids(letters)
    vector = embedder.encode([QUESTION])[0]
    found = retriever.dense(vector, 5, allowed)
    stored = store.all_vectors(retriever.reader.conn, embedder.dimension)
    scores = {int(i): float(v @ vector) for i, v in zip(*stored, strict=True)}
    best = sorted((int(i) for i in allowed), key=lambda i: -scores[i])[:5]
    assert [c for c, _ in found] == best
    assert np.allclose([s for _, s in found], [scores[i] for i in best], atol=1e-5)
