"""Embedding backends: throughput, agreement with torch's vectors, and `rag index` end to end.

Run by hand (never in the test suite); writes bench/results/embedding.md (and .json).

    mkdir -p /tmp/scale && tar -xJf ../shared/scale-corpus/ofsted-reports-text.tar.xz -C /tmp/scale
    .venv/bin/python bench/bench_embedding.py --source /tmp/scale/ofsted-reports-text \
        [--docs 40] [--rounds 5] [--e2e-docs 100] [--e2e-repeat 2] [--extra]

What it measures, on documents drawn (seeded) from the scale corpus and chunked by the
project's own chunker:

1. Throughput, texts/s, of chunk texts (as embedded: title, section, text; ~100 tokens)
   and of their sentences (~25 tokens), for each backend: `torch` (sentence-transformers
   as the Embedder runs it: batches of 32, two threads), `openvino` (the Embedder's
   backend), and with --extra the candidates not shipped: torch with one thread, torch
   under bfloat16 autocast, ONNX Runtime float32 and dynamic int8 (per tensor and per
   channel; needs onnxruntime and onnx), OpenVINO static int8 (needs nncf). Rounds
   alternate the backends (A B C A B C ...) so a busy machine slows all alike; the figure
   is the median round, and the ratio to torch is what to read, not the seconds.
2. OpenVINO batch sizes, and sorting by length (padding waste) against the order given.
3. Agreement with torch: cosine of every chunk and sentence vector; for the dev-set
   questions (eval/qa.jsonl), overlap of the top 10 among the pool of chunks (the starting
   corpus and the sampled ones), ranked by chunk vector and by best sentence (as
   retrieval ranks); and whether a text embedded alone gets the vector it got in a batch.
4. With --e2e-docs N: `rag index --quiet` of N scale-corpus files, from scratch, with each
   backend in turn (A B A B ...), wall seconds and chunks/s, and where the openvino run's
   time goes (chunk vectors, sentence vectors, the rest) measured in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.chunking import chunk_document  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.documents import load_document  # noqa: E402
from rag.embedding import Embedder, resolve_model_path  # noqa: E402
from rag.words import split_sentences  # noqa: E402

Encode = Callable[[list[str]], np.ndarray]


# ---------------------------------------------------------------- data


def sample_texts(source: Path, docs: int, seed: int, embedder: Embedder) -> tuple[list, list]:
    """Chunk texts as indexing embeds them, and every sentence of those chunks."""
    files = sorted(source.rglob("*.txt"))
    random.Random(seed).shuffle(files)
    s = load_settings(env={})
    chunks, sentences = [], []
    for f in files[:docs]:
        doc = load_document(f, source)
        for c in chunk_document(doc, embedder.count_tokens, embedder.max_tokens,
                                s.chunk_tokens, s.chunk_overlap_tokens):
            spans = split_sentences(c.text)
            chunks.append((c.embed_text(doc.title), [c.text[a:b] for a, b in spans]))
    for _, sents in chunks:
        sentences.extend(sents)
    return chunks, sentences


def fixture_chunks(embedder: Embedder) -> list:
    corpus = ROOT / "tests" / "fixtures" / "corpus"
    s = load_settings(env={})
    out = []
    for f in sorted(corpus.rglob("*")):
        if f.suffix.lower() not in (".txt", ".md", ".html", ".pdf") or f.name == "README.md":
            continue
        try:
            doc = load_document(f, corpus)
        except Exception:  # noqa: BLE001 - a bench skips what it cannot read
            continue
        for c in chunk_document(doc, embedder.count_tokens, embedder.max_tokens,
                                s.chunk_tokens, s.chunk_overlap_tokens):
            out.append((c.embed_text(doc.title), [c.text[a:b] for a, b in split_sentences(c.text)]))
    return out


# ---------------------------------------------------------------- extra backends


class Exported:
    """Raw ONNX / OpenVINO files for the candidates that are measured but not shipped."""

    def __init__(self, work: Path, model_path: str) -> None:
        self.work = work
        self.path = model_path
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(model_path)

    def batches(self, texts: list[str], bs: int, sort: bool = True):  # noqa: ANN201
        ids = self.tok(texts, truncation=True, max_length=256)["input_ids"]
        order = list(range(len(ids)))
        if sort:
            order.sort(key=lambda i: -len(ids[i]))
        for s in range(0, len(order), bs):
            rows = order[s : s + bs]
            width = max(len(ids[i]) for i in rows)
            a = np.zeros((len(rows), width), np.int64)
            m = np.zeros_like(a)
            for r, i in enumerate(rows):
                a[r, : len(ids[i])] = ids[i]
                m[r, : len(ids[i])] = 1
            yield rows, a, m

    def onnx_fp32(self) -> Path:
        out = self.work / "model_fp32.onnx"
        if out.exists():
            return out
        import torch
        from transformers import AutoModel

        bert = AutoModel.from_pretrained(self.path, attn_implementation="eager").eval()

        class Pooled(torch.nn.Module):
            def __init__(self, m):  # noqa: ANN001
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
                h = self.m(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
                w = attention_mask.unsqueeze(-1).to(h.dtype)
                v = (h * w).sum(1) / w.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(v, p=2, dim=1)

        names = ["input_ids", "attention_mask", "token_type_ids"]
        e = self.tok(["hello world", "a second text"], padding=True, return_tensors="pt")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(Pooled(bert).eval(), tuple(e[n] for n in names), str(out),
                              dynamo=False, input_names=names, output_names=["embedding"],
                              dynamic_axes={**{n: {0: "b", 1: "s"} for n in names},
                                            "embedding": {0: "b"}}, opset_version=17)
        return out

    def onnx_int8(self, per_channel: bool) -> Path:
        out = self.work / f"model_int8{'_pc' if per_channel else ''}.onnx"
        if not out.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(self.onnx_fp32()), str(out), weight_type=QuantType.QInt8,
                             per_channel=per_channel, op_types_to_quantize=["MatMul"])
        return out

    def ort(self, f: Path, threads: int = 0, bs: int = 32) -> Encode:
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"])

        def enc(texts: list[str]) -> np.ndarray:
            out = np.zeros((len(texts), 384), np.float32)
            for rows, a, m in self.batches(texts, bs):
                out[rows] = sess.run(None, {"input_ids": a, "attention_mask": m,
                                            "token_type_ids": np.zeros_like(a)})[0]
            return out
        return enc

    def ov_static_int8(self, calibration: list[str]) -> Encode:
        import nncf
        import openvino as ov

        xml = self.work / "ov_int8.xml"
        if not xml.exists():
            items = []
            for _, a, m in self.batches(calibration, 8):
                items.append({"input_ids": a, "attention_mask": m,
                              "token_type_ids": np.zeros_like(a)})
            model = ov.Core().read_model(str(self.onnx_fp32()))
            q = nncf.quantize(model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(items))
            ov.save_model(q, str(xml))
        cm = ov.Core().compile_model(str(xml), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        queue = ov.AsyncInferQueue(cm, int(cm.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

        def enc(texts: list[str]) -> np.ndarray:
            out = np.zeros((len(texts), 384), np.float32)

            def done(req, rows) -> None:  # noqa: ANN001
                out[rows] = req.get_output_tensor(0).data
            queue.set_callback(done)
            for rows, a, m in self.batches(texts, 16):
                queue.start_async({"input_ids": a, "attention_mask": m,
                                   "token_type_ids": np.zeros_like(a)}, rows)
            queue.wait_all()
            return out
        return enc


def torch_variant(model, mode: str) -> Encode:  # noqa: ANN001
    import torch

    def enc(texts: list[str]) -> np.ndarray:
        threads = torch.get_num_threads()
        if mode == "1 thread":
            torch.set_num_threads(1)
        try:
            if mode == "bf16 autocast":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return model.encode(texts, batch_size=32, normalize_embeddings=True)
            return model.encode(texts, batch_size=32, normalize_embeddings=True)
        finally:
            torch.set_num_threads(threads)
    return enc


# ---------------------------------------------------------------- measuring


def timed_rounds(backends: dict[str, Encode], sets: dict[str, list[str]], rounds: int) -> dict:
    times = {name: {k: [] for k in sets} for name in backends}
    for f in backends.values():  # warm-up: first calls allocate
        f(sets["chunks"][:16])
    for r in range(rounds):
        for name, f in backends.items():
            for kind, texts in sets.items():
                t = time.perf_counter()
                f(texts)
                times[name][kind].append(time.perf_counter() - t)
        print(f"  round {r + 1}/{rounds} done", flush=True)
    return {name: {kind: len(sets[kind]) / statistics.median(v) for kind, v in per.items()}
            for name, per in times.items()}


def cosines(a: np.ndarray, b: np.ndarray) -> dict:
    c = np.sum(a * b, axis=1)
    return {"min": float(c.min()), "p1": float(np.percentile(c, 1)), "mean": float(c.mean())}


TIE = 1e-3  # float16, as sentence vectors are stored, keeps about three digits


def overlap(scores: np.ndarray, ref: np.ndarray, k: int = 10) -> tuple[float, float]:
    """Top-k overlap with the reference ranking: strict (the same k ids), and counting an
    id as agreeing when its reference score is within TIE of the reference k-th score
    (chunks that share an overlap sentence tie exactly on best sentence, and any change
    in the last digits reorders ties)."""
    strict, tolerant = [], []
    for s, r in zip(scores, ref, strict=True):
        top, top_ref = np.argsort(-s, kind="stable")[:k], np.argsort(-r, kind="stable")[:k]
        strict.append(len(set(top) & set(top_ref)) / k)
        tolerant.append(float(np.mean(r[top] >= r[top_ref[-1]] - TIE)))
    return float(np.mean(strict)), float(np.mean(tolerant))


def best_sentence_scores(q: np.ndarray, sent: np.ndarray, owner: np.ndarray,
                         n_chunks: int) -> np.ndarray:
    """Each chunk's score for each question: its best sentence's cosine."""
    s = q @ sent.T
    out = np.full((len(q), n_chunks), -1.0, dtype=np.float32)
    np.maximum.at(out.T, owner, s.T)
    return out


def agreement(encs: dict[str, Encode], pool: list, questions: list[str]) -> dict:
    texts = [t for t, _ in pool]
    sents = [s for _, ss in pool for s in ss]
    owner = np.array([i for i, (_, ss) in enumerate(pool) for _ in ss])
    vec = {name: (f(texts), f(sents), f(questions)) for name, f in encs.items()}
    ref = vec["torch"]
    out = {}
    for name, (c, s, q) in vec.items():
        if name == "torch":
            continue
        bs_ref = best_sentence_scores(ref[2], ref[1], owner, len(texts))
        bs = best_sentence_scores(q, s, owner, len(texts))
        out[name] = {
            "chunk_cos": cosines(c, ref[0]), "sentence_cos": cosines(s, ref[1]),
            "question_cos": cosines(q, ref[2]),
            "top10_chunk_vectors": overlap(q @ c.T, ref[2] @ ref[0].T),
            "top10_best_sentence": overlap(bs, bs_ref),
        }
    return out


def batch_consistency(f: Encode, texts: list[str]) -> dict:
    together = f(texts)
    alone = np.vstack([f([t]) for t in texts])
    return cosines(together, alone)


# ---------------------------------------------------------------- end to end


def e2e(source: Path, docs: int, seed: int, repeat: int, work: Path) -> dict:
    files = sorted(source.rglob("*.txt"))
    random.Random(seed + 1).shuffle(files)
    corpus = work / "e2e-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for i, f in enumerate(files[:docs]):
        shutil.copy(f, corpus / f"{i:03d}-{f.parent.name.replace(' ', '-')}-{f.name}")
    rag = ROOT / ".venv" / "bin" / "rag"
    walls: dict[str, list[float]] = {"torch": [], "openvino": []}
    chunks = 0
    for r in range(repeat):
        for backend in walls:
            index = work / f"e2e-index-{backend}"
            shutil.rmtree(index, ignore_errors=True)
            env = {**os.environ, "RAG_EMBEDDING_BACKEND": backend}
            t = time.perf_counter()
            subprocess.run([str(rag), "--index-dir", str(index), "index", "--quiet", str(corpus)],
                           env=env, check=True, capture_output=True)
            walls[backend].append(time.perf_counter() - t)
            status = subprocess.run([str(rag), "--index-dir", str(index), "status"], env=env,
                                    check=True, capture_output=True, text=True).stdout
            chunks = int(status.split(" chunks")[0].split()[-1].replace(",", ""))
            print(f"  e2e {backend} run {r + 1}: {walls[backend][-1]:.1f} s, {chunks} chunks",
                  flush=True)
    return {"docs": docs, "chunks": chunks, "walls": walls,
            "ratio_torch_over_openvino": statistics.median(
                [a / b for a, b in zip(walls["torch"], walls["openvino"], strict=True)])}


class TimedEmbedder(Embedder):
    """The openvino Embedder, timing chunk texts and sentences apart: indexing embeds a
    batch's chunk texts and then their sentences in one call, after splitting each chunk
    into sentences once, so the count of those splits marks where the chunks end."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner.name, inner.batch_size, inner.backend, inner.cache_dir or "")
        self.__dict__["model"] = inner.model
        self.split_calls = 0
        self.chunk_s = self.sentence_s = 0.0

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        n, self.split_calls = self.split_calls, 0
        t0 = time.perf_counter()
        a = super().encode(texts[:n]) if n else np.zeros((0, self.dimension), np.float32)
        t1 = time.perf_counter()
        b = super().encode(texts[n:]) if n < len(texts) else np.zeros((0, self.dimension),
                                                                       np.float32)
        self.chunk_s += t1 - t0
        self.sentence_s += time.perf_counter() - t1
        return np.vstack([a, b])


def e2e_breakdown(corpus: Path, embedder: Embedder, work: Path) -> dict:
    """In-process `sync()` of the e2e corpus with the loaded openvino model: its wall time,
    and the part of it spent on chunk vectors and on sentence vectors."""
    import rag.indexing as indexing

    timed = TimedEmbedder(embedder)
    real_split = indexing.split_sentences

    def counting_split(text: str):  # noqa: ANN202
        timed.split_calls += 1
        return real_split(text)

    index = work / "e2e-index-breakdown"
    shutil.rmtree(index, ignore_errors=True)
    settings = load_settings(env={}, index_dir=str(index), embedding_backend="openvino")
    indexing.split_sentences = counting_split
    try:
        t = time.perf_counter()
        report = indexing.sync(settings, corpus, embedder=timed)
        wall = time.perf_counter() - t
    finally:
        indexing.split_sentences = real_split
    return {"chunks": report.chunks_embedded, "sync_s": wall, "chunk_vectors_s": timed.chunk_s,
            "sentence_vectors_s": timed.sentence_s}


# ---------------------------------------------------------------- report


def write_report(out: Path, res: dict, args: argparse.Namespace) -> None:
    lines = ["# Embedding backends", "",
             f"`.venv/bin/python bench/bench_embedding.py {' '.join(sys.argv[1:])}` "
             f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at the end). Texts from {args.docs} scale-corpus documents "
             f"(seed {args.seed}): {res['n_chunks']} chunks (median {res['chunk_tokens']} tokens), "
             f"{res['n_sentences']} sentences (median {res['sentence_tokens']} tokens). "
             "Throughput is the median of alternating rounds; on a shared machine read the "
             "ratios to torch, not the texts/s.", "",
             "## Throughput", "",
             "| backend | chunks/s | x torch | sentences/s | x torch "
             "| est. index chunks/s x torch |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    spc = res["n_sentences"] / res["n_chunks"]
    t = res["throughput"]
    base = 1 / t["torch"]["chunks"] + spc / t["torch"]["sentences"]
    for name, v in t.items():
        per = 1 / v["chunks"] + spc / v["sentences"]
        lines.append(f"| {name} | {v['chunks']:.1f} | {v['chunks'] / t['torch']['chunks']:.2f} | "
                     f"{v['sentences']:.1f} | {v['sentences'] / t['torch']['sentences']:.2f} | "
                     f"{base / per:.2f} |")
    lines += ["", f"The last column weighs both by {spc:.2f} sentences per chunk: the model's "
              "share of indexing, sped up.", ""]
    if res.get("batch_sizes"):
        lines += ["## OpenVINO batch size and sorting", "",
                  "| batch | sorted | chunks/s | sentences/s |", "| ---: | --- | ---: | ---: |"]
        for key, v in res["batch_sizes"].items():
            bs, srt = key.split("/")
            lines.append(f"| {bs} | {srt} | {v['chunks']:.1f} | {v['sentences']:.1f} |")
        pw = res["padding"]
        lines += ["", f"Padding, as a share of the tokens computed, batches of 16 in the "
                  f"order given vs sorted by length: chunks {pw['chunks_unsorted']:.1%} vs "
                  f"{pw['chunks_sorted']:.1%}, sentences {pw['sentences_unsorted']:.1%} vs "
                  f"{pw['sentences_sorted']:.1%}. The project embeds each batch's chunk texts "
                  "and sentences in one call (rag/indexing.py `_commit_batch`); "
                  "sentence-transformers sorts that call by character length, the openvino "
                  "backend by token count, and embeds a repeated text once.", ""]
    lines += ["## Agreement with torch's vectors", "",
              f"Cosine to torch's vector; top-10 overlap for the {res['n_questions']} "
              f"dev-set questions among {res['pool']} chunks (the starting corpus and the "
              "sample), by chunk vector and by best sentence (as retrieval ranks): the same "
              f"ids, and ids whose torch score is within {TIE} of torch's 10th (ties).", "",
              "| backend | chunk cos min / p1 / mean | sentence cos min / p1 / mean | "
              "question cos min | top-10 chunk: same / within ties | "
              "top-10 best sentence: same / within ties |",
              "| --- | --- | --- | ---: | ---: | ---: |"]
    for name, a in res["agreement"].items():
        c, s = a["chunk_cos"], a["sentence_cos"]
        lines.append(f"| {name} | {c['min']:.5f} / {c['p1']:.5f} / {c['mean']:.6f} | "
                     f"{s['min']:.5f} / {s['p1']:.5f} / {s['mean']:.6f} | "
                     f"{a['question_cos']['min']:.5f} | "
                     f"{a['top10_chunk_vectors'][0]:.3f} / {a['top10_chunk_vectors'][1]:.3f} | "
                     f"{a['top10_best_sentence'][0]:.3f} / {a['top10_best_sentence'][1]:.3f} |")
    lines += ["", "A sentence embedded alone against the same sentence embedded in a batch "
              "(cosine min / mean):", ""]
    for name, v in res["batch_consistency"].items():
        lines.append(f"- {name}: {v['min']:.5f} / {v['mean']:.6f}")
    if res.get("e2e"):
        e = res["e2e"]
        lines += ["", "## `rag index` end to end", "",
                  f"{e['docs']} scale-corpus files, {e['chunks']} chunks, from scratch, "
                  "`rag index --quiet`, backends alternating:", "",
                  "| backend | wall s (runs) | chunks/s (median) |", "| --- | --- | ---: |"]
        for b, w in e["walls"].items():
            lines.append(f"| {b} | {', '.join(f'{x:.1f}' for x in w)} | "
                         f"{e['chunks'] / statistics.median(w):.1f} |")
        ratio = e["ratio_torch_over_openvino"]
        lines.append(f"\ntorch / openvino wall time, paired: **{ratio:.2f}x**.")
        if res.get("breakdown"):
            b = res["breakdown"]
            wall = b["sync_s"]
            rest = wall - b["chunk_vectors_s"] - b["sentence_vectors_s"]
            lines += ["", "Where the openvino run's time goes, measured inside one `sync()` "
                      f"of the same files with the model already loaded ({b['chunks']} chunks, "
                      f"{b['chunks'] / wall:.1f} chunks/s): chunk vectors "
                      f"{b['chunk_vectors_s']:.1f} s ({b['chunk_vectors_s'] / wall:.0%}), "
                      f"sentence vectors {b['sentence_vectors_s']:.1f} s "
                      f"({b['sentence_vectors_s'] / wall:.0%}), everything else (reading, "
                      f"cleaning, chunking, SQLite, FAISS) {rest:.1f} s ({rest / wall:.0%}) "
                      f"of {wall:.1f} s. The command adds start-up (imports, compiling the "
                      "model) to that."]
    (out / "embedding.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "embedding.json").write_text(json.dumps(res, indent=1), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/scale/ofsted-reports-text"))
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--speed-chunks", type=int, default=192)
    ap.add_argument("--speed-sentences", type=int, default=640)
    ap.add_argument("--extra", action="store_true", help="also the candidates not shipped")
    ap.add_argument("--e2e-docs", type=int, default=0)
    ap.add_argument("--e2e-repeat", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-embedding")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    torch_e = Embedder(load_settings(env={}).model, 32, backend="torch", cache_dir="")
    ov_e = Embedder(torch_e.name, 32, backend="openvino", cache_dir="")
    chunks, sentences = sample_texts(args.source, args.docs, args.seed, torch_e)
    tok = torch_e.tokenizer
    res: dict = {"n_chunks": len(chunks), "n_sentences": len(sentences),
                 "chunk_tokens": int(np.median([len(tok.encode(t)) for t, _ in chunks])),
                 "sentence_tokens": int(np.median([len(tok.encode(s)) for s in sentences]))}
    rng = random.Random(args.seed + 7)
    speed = {"chunks": rng.sample([t for t, _ in chunks], min(args.speed_chunks, len(chunks))),
             "sentences": rng.sample(sentences, min(args.speed_sentences, len(sentences)))}

    backends: dict[str, Encode] = {"torch": torch_e.encode, "openvino": ov_e.encode}
    if args.extra:
        ex = Exported(args.work, resolve_model_path(torch_e.name))
        backends["torch 1 thread"] = torch_variant(torch_e.model, "1 thread")
        backends["torch bf16 autocast"] = torch_variant(torch_e.model, "bf16 autocast")
        try:
            backends["onnxruntime fp32"] = ex.ort(ex.onnx_fp32())
            backends["onnxruntime int8 per-tensor"] = ex.ort(ex.onnx_int8(False))
            backends["onnxruntime int8 per-channel"] = ex.ort(ex.onnx_int8(True))
            backends["onnxruntime int8 per-channel, 1 thread"] = ex.ort(ex.onnx_int8(True), 1)
        except ImportError as exc:
            print(f"skipping onnxruntime: {exc}")
        try:
            calibration = [t for t, _ in chunks[-150:]] + sentences[-150:]
            backends["openvino static int8 (nncf)"] = ex.ov_static_int8(calibration)
        except ImportError as exc:
            print(f"skipping OpenVINO int8: {exc}")

    print(f"{len(chunks)} chunks, {len(sentences)} sentences; throughput...", flush=True)
    res["throughput"] = timed_rounds(backends, speed, args.rounds)

    print("batch sizes...", flush=True)
    import rag.embedding as emb_mod

    ovm = ov_e.model
    res["batch_sizes"] = {}
    sizes = {}
    for bs in (8, 16, 32, 64):
        def f(texts: list[str], bs: int = bs) -> np.ndarray:
            old, emb_mod.OPENVINO_BATCH = emb_mod.OPENVINO_BATCH, bs
            try:
                return ovm.encode(texts)
            finally:
                emb_mod.OPENVINO_BATCH = old
        sizes[f"{bs}/sorted"] = f
    ex2 = Exported(args.work, resolve_model_path(torch_e.name))
    import openvino as ov

    queue = ov.AsyncInferQueue(ovm.compiled, ovm.requests)

    def unsorted(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), ovm.dimension), np.float32)

        def done(req, rows) -> None:  # noqa: ANN001
            out[rows] = req.get_output_tensor(0).data
        queue.set_callback(done)
        for rows, a, m in ex2.batches(texts, 16, sort=False):
            queue.start_async({"input_ids": a, "attention_mask": m}, rows)
        queue.wait_all()
        return out
    sizes["16/unsorted"] = unsorted
    res["batch_sizes"] = timed_rounds(sizes, speed, max(2, args.rounds - 2))

    def pad_share(texts: list[str], sort: bool) -> float:
        real = padded = 0
        for _, _, m in ex2.batches(texts, 16, sort=sort):
            real += int(m.sum())
            padded += m.size
        return 1 - real / padded
    res["padding"] = {f"{k}_{'sorted' if s else 'unsorted'}": pad_share(v, s)
                      for k, v in speed.items() for s in (True, False)}

    print("agreement...", flush=True)
    qa_lines = (ROOT / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in qa_lines if line.strip()]
    pool = fixture_chunks(torch_e) + chunks
    agree_backends = {k: v for k, v in backends.items()
                      if k in ("torch", "openvino") or not k.startswith("torch")}
    res["agreement"] = agreement(agree_backends, pool, questions)
    res["n_questions"], res["pool"] = len(questions), len(pool)
    res["batch_consistency"] = {name: batch_consistency(f, speed["sentences"][:200])
                                for name, f in agree_backends.items()}

    if args.e2e_docs:
        print("end to end...", flush=True)
        res["e2e"] = e2e(args.source, args.e2e_docs, args.seed, args.e2e_repeat, args.work)
        res["breakdown"] = e2e_breakdown(args.work / "e2e-corpus", ov_e, args.work)
    write_report(args.out, res, args)
    print((args.out / "embedding.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
