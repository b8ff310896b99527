"""Optional cross-encoder reranking of the fused candidates, off unless a path is set.

No cross-encoder ships inside a PyPI wheel that loads offline here, so fusion and MMR
carry the ranking by default. Where a local cross-encoder exists (a directory saved by
sentence-transformers, e.g. a downloaded ms-marco-MiniLM), setting ``reranker_path``
reorders the top ``rerank_candidates`` passages by its scores before MMR.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.embedding import ModelError


class Reranker:
    """A sentence-transformers CrossEncoder loaded from a local directory, lazily."""

    def __init__(self, path: str) -> None:
        self.path = path

    @cached_property
    def model(self):  # noqa: ANN201 - CrossEncoder, imported lazily
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if not Path(self.path).is_dir():
            raise ModelError(f"reranker_path {self.path!r} is not a directory; set it to a "
                             "local cross-encoder saved by sentence-transformers, or unset it")
        from sentence_transformers import CrossEncoder

        try:
            return CrossEncoder(self.path, device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many kinds; all mean the same here
            raise ModelError(f"cannot load the cross-encoder at {self.path!r}: {exc}") from exc

    def scores(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0)
        pairs = [(question, p) for p in passages]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float32)


def rerank(ids: list[int], scores: np.ndarray) -> list[int]:
    """The ids ordered by score, best first; ties keep their fused order."""
    order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), i))
    return [ids[i] for i in order]
