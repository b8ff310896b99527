"""The systems ``rag eval`` compares: the product and the baselines it must beat.

Each is a callable from a QA item to a ``Response`` (ranked passages, answer, seconds),
so rag.evaluation scores them all by the same rules. They live here, apart from the
scoring, because they are what runs the index and the model; the scoring does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering import Assistant
from rag.records import Answer, Citation, DocumentRef, Passage

RANK_DEPTH = 10  # retrieval metrics look at the top 10 passages of every system
NAIVE_CHUNK_CHARS = 1000
NAIVE_TOP_K = 5


@dataclass
class Response:
    """What one system returned for one question: ranked passages, answer, time taken."""

    passages: list[str]
    answer: Answer
    seconds: float
    sources: list[str] | None = None  # each passage's document (rag.metrics.Quote)


System = Callable[[dict], Response]


class FullPipeline:
    """The product as the page and `rag ask` run it: ``Assistant.answer``.

    Its retrieval is scored on a separate hybrid search for the same question (the answer
    does not expose all its hits); only the ``answer`` call is timed.
    """

    description = ("the product: hybrid retrieval (dense + BM25, RRF, MMR), out-of-scope "
                   "checks, extractive answer")

    def __init__(self, assistant: Assistant, depth: int = RANK_DEPTH) -> None:
        self.assistant, self.depth = assistant, depth

    def __call__(self, item: dict) -> Response:
        history = item.get("history", [])
        query = self.assistant.understand(item["question"], history)
        hits = self.assistant.retriever.search(query, k=self.depth, mode="hybrid")
        started = time.perf_counter()
        answer = self.assistant.answer(item["question"], history=history)
        return Response([h.text for h in hits], answer, time.perf_counter() - started,
                        [h.doc.source for h in hits])


class RetrievalBaseline:
    """One retrieval mode alone over the real index, with the product's extractive answer.

    It isolates what fusion adds: same index, same sentence picking, same abstention
    threshold; but no out-of-scope checks, which belong to ``Assistant.answer``.
    """

    def __init__(self, assistant: Assistant, mode: str, depth: int = RANK_DEPTH) -> None:
        self.assistant, self.mode, self.depth = assistant, mode, depth
        engine = "SQLite FTS5" if mode == "bm25" else "FAISS"
        self.description = (f"{mode} only ({engine}) over the same index, same extractive "
                            "answer, no out-of-scope checks")

    def __call__(self, item: dict) -> Response:
        started = time.perf_counter()
        query = self.assistant.understand(item["question"], item.get("history", []))
        k = self.assistant.settings.k
        hits = self.assistant.retriever.search(query, k=max(k, self.depth), mode=self.mode)
        answer = self.assistant.extractive(query, hits[:k])
        return Response([h.text for h in hits[:self.depth]], answer,
                        time.perf_counter() - started, [h.doc.source for h in hits[:self.depth]])


def fixed_chunks(text: str, size: int = NAIVE_CHUNK_CHARS) -> list[tuple[int, int]]:
    """Consecutive (start, end) spans of ``size`` characters, no overlap, last one short."""
    return [(i, min(i + size, len(text))) for i in range(0, len(text), size)]


class NaiveBaseline:
    """RAG the way a first tutorial builds it, as the floor the product must clear.

    Fixed 1,000-character chunks of the same cleaned texts (the documents table), dense
    top 5 by the same model in memory, and the answer is the top passage cited as [1].
    It never declines and keeps no conversation: a follow-up is embedded as asked.
    Retrieval metrics use its top ``depth`` so recall@10 is defined; its answer uses
    only the first of the top 5.
    """

    description = ("tutorial baseline: fixed 1,000-character chunks, dense top-5 in memory, "
                   "answer = top passage [1], never declines, no history")

    def __init__(self, assistant: Assistant, depth: int = RANK_DEPTH,
                 size: int = NAIVE_CHUNK_CHARS, top_k: int = NAIVE_TOP_K) -> None:
        self.embedder = assistant.retriever.embedder
        self.depth, self.top_k = depth, top_k
        self.chunks: list[tuple[DocumentRef, int, int, str]] = []
        for doc, text in assistant.retriever.reader.document_texts():
            for start, end in fixed_chunks(text, size):
                self.chunks.append((doc, start, end, text[start:end]))
        self.vectors = self.embedder.encode([c[3] for c in self.chunks])

    def __call__(self, item: dict) -> Response:
        started = time.perf_counter()
        vector = self.embedder.encode([item["question"]])[0]
        order = np.argsort(-(self.vectors @ vector))[:max(self.depth, self.top_k)]
        top = [int(i) for i in order]
        doc, start, end, text = self.chunks[top[0]]
        # Its chunks are not in the index: the passage is labelled by its characters.
        passage = Passage(chunk_id=top[0], doc=doc, page=None, paragraph=None,
                          section=f"characters {start + 1}-{end}", text=text)
        citation = Citation(n=1, passage=passage, quote=text)
        # One paragraph, so the whole passage is one statement carrying the [1].
        answer = Answer(item["question"], f"{' '.join(text.split())} [1]", False, [citation],
                        searched_for=item["question"])
        return Response([self.chunks[i][3] for i in top[:self.depth]], answer,
                        time.perf_counter() - started,
                        [self.chunks[i][0].source for i in top[:self.depth]])


SYSTEMS = ("full", "bm25", "dense", "naive")


def build_systems(assistant: Assistant, names: Sequence[str],
                  depth: int = RANK_DEPTH) -> dict[str, System]:
    makers: dict[str, Callable[[], System]] = {
        "full": lambda: FullPipeline(assistant, depth),
        "bm25": lambda: RetrievalBaseline(assistant, "bm25", depth),
        "dense": lambda: RetrievalBaseline(assistant, "dense", depth),
        "naive": lambda: NaiveBaseline(assistant, depth),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: {list(makers)}")
    return {name: makers[name]() for name in names}

