"""Find the passages that answer a question: dense + BM25, fused, diversified, filtered.

Dense search catches paraphrase ("kids who go missing"); BM25 catches the exact words,
figures and names that embeddings blur, and a third list the question's rare phrases
("considerable strength") that a bag of words cannot see. Reciprocal rank fusion
combines them without having to calibrate score scales. MMR then stops the report's
summary, findings and recommendations, which repeat each other, from filling every slot.
Which documents to search comes from rag.scope; what to search for from the ``Query``.
"""

from __future__ import annotations

import threading

import faiss
import numpy as np

from rag import store
from rag.config import Settings
from rag.embedding import Embedder
from rag.figures import Measure, counts_subject, gives_measure
from rag.ofsted import JUDGEMENT_CHUNKS, stated_judgement
from rag.query import DOC_REFERENCE, Query
from rag.records import Filters, Passage
from rag.reranking import Reranker, rerank
from rag.scope import scopes
from rag.store import IndexReader
from rag.words import split_sentences, word_pairs

MODES = ("hybrid", "dense", "bm25")
JUDGED_OPENING_CHUNKS = 2  # of each report in scope, for a question about its judgement


def interleave(lists: list[list[int]]) -> list[int]:
    """Round-robin merge of ranked lists, keeping each id's first appearance."""
    merged: dict[int, None] = {}
    for rank in range(max((len(x) for x in lists), default=0)):
        for ranked in lists:
            if rank < len(ranked):
                merged.setdefault(ranked[rank], None)
    return list(merged)


def rrf(rankings: dict[str, list[int]], weights: dict[str, float], k: int) -> dict[int, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the lists an id appears in."""
    fused: dict[int, float] = {}
    for name, ids in rankings.items():
        for rank, chunk_id in enumerate(ids, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weights.get(name, 1.0) / (k + rank)
    return fused


def mmr(
    candidates: list[int], relevance: dict[int, float], vectors: dict[int, np.ndarray],
    k: int, lam: float,
) -> list[int]:
    """Maximal marginal relevance: trade relevance against similarity to what is chosen.

    Each step takes the candidate with the best ``lam * relevance - (1 - lam) *
    (highest cosine to anything chosen)``; similarities come from one matrix product.
    """
    if not candidates:
        return []
    matrix = np.vstack([vectors[c] for c in candidates])
    similarity = matrix @ matrix.T
    rel = np.array([relevance[c] for c in candidates], dtype=np.float64)
    rel /= rel.max() or 1.0
    redundancy = np.zeros(len(candidates))  # nothing chosen yet: no penalty
    available = np.ones(len(candidates), dtype=bool)
    chosen: list[int] = []
    while available.any() and len(chosen) < k:
        gain = np.where(available, lam * rel - (1 - lam) * redundancy, -np.inf)
        best = int(np.argmax(gain))  # the first of equals, as in the fused order
        redundancy = similarity[best] if not chosen else np.maximum(redundancy,
                                                                     similarity[best])
        chosen.append(candidates[best])
        available[best] = False
    return chosen


def counts_documents(measure: Measure) -> bool:
    """"How many monitoring visits have there been?" counts documents, which no passage's
    figure does: its answer is the letters themselves."""
    return any(DOC_REFERENCE.fullmatch(word) for word in measure.counted)


class Retriever:
    """Holds the model and a read view of the index; safe to reuse across questions."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 reader: IndexReader | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder.for_settings(settings)
        self.reader = reader or IndexReader(settings.index_dir)
        self.reranker = Reranker(settings.reranker_path) if settings.reranker_path else None
        # One search at a time per reader: a search refreshes the reader's snapshot, so
        # two interleaved searches (the page's sessions share this object) could
        # otherwise pair one generation's vectors with another's rows.
        self._lock = threading.RLock()

    def dense(self, vector: np.ndarray, n: int,
              allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """The n nearest chunks by cosine, among ``allowed`` ids when a filter is set.

        On an HNSW graph a narrow filter is searched exactly over its own vectors: the
        graph walk would mostly visit chunks the filter excludes and return too few.
        Tombstones (ids removed from SQLite but still in the graph) are never returned.
        """
        index, dead = self.reader.faiss, self.reader.dead
        if index is None or index.ntotal == 0 or (allowed is not None and not len(allowed)):
            return []
        hnsw = store.faiss_kind(index) == store.HNSW
        if hnsw and allowed is not None and len(allowed) <= self.settings.hnsw_exact_filter_below:
            vectors = index.reconstruct_batch(allowed)
            scores = vectors @ vector
            top = np.argsort(-scores)[:n]
            return [(int(allowed[i]), float(scores[i])) for i in top]
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
        elif len(dead):
            excluded = faiss.IDSelectorBatch(dead)  # kept referenced while searching
            selector = faiss.IDSelectorNot(excluded)
        if hnsw:
            params = faiss.SearchParametersHNSW(efSearch=max(self.settings.hnsw_ef_search, n))
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        scores, ids = index.search(vector.reshape(1, -1), min(n, index.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def search(self, query: Query, k: int | None = None, filters: Filters | None = None,
               mode: str = "hybrid", diversify: bool = True,
               vector: np.ndarray | None = None) -> list[Passage]:
        """The k best passages for a question, best first.

        ``vector``: the embedded ``query.dense_text``, when the caller has it already.

        A question that names years ("between the 2016 inspection and the 2017 visit")
        gets a ranked list from each year's documents, interleaved with the overall
        list, so a comparison sees evidence from both ends instead of only the larger
        document.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        with self._lock:
            return self._search(query, k, filters, mode, diversify, vector)

    def _search(self, query: Query, k: int | None, filters: Filters | None, mode: str,
                diversify: bool, vector: np.ndarray | None) -> list[Passage]:
        self.reader.refresh()
        k = k or self.settings.k
        filters = filters or Filters()
        n = max(self.settings.candidates, k)
        if vector is None:
            vector = self.embedder.encode([query.dense_text])[0]
        lists, fused, rankings = [], {}, {}
        filters, narrower = scopes(query, filters, self.reader)
        asks_judgement = query.judgement is not None and not query.over_time
        if asks_judgement and (filters.councils or filters.doc_ids):
            # A judgement is stated on a report's first pages, beside the headline
            # findings; words of the question ("overall effectiveness") rarely are.
            lists.append(self.judged_openings(filters, query.judgement.keys))
        for scope in [*narrower, filters]:
            ranked, scores, named = self._ranked(query.bm25_text, vector, scope, mode, n)
            lists.append(ranked)
            for c, v in scores.items():
                fused[c] = max(fused.get(c, 0.0), v)
            if scope is filters:
                rankings = named
        ordered = interleave(lists)
        if query.measure is not None and not counts_documents(query.measure):
            ordered = self.figures_first(ordered, query)
        if self.reranker is not None and ordered:
            top = ordered[: self.settings.rerank_candidates]
            texts = self.reader.texts(top)
            scores = self.reranker.scores(query.text, [texts.get(c, "") for c in top])
            ordered = rerank(top, scores) + ordered[len(top):]
        vectors = self.reader.vectors(ordered)
        cosine = {c: float(vectors[c] @ vector) for c in ordered}
        if diversify and len(ordered) > k:
            relevance = {c: 1.0 / (rank + 1) for rank, c in enumerate(ordered)}
            ordered = mmr(ordered, relevance, vectors, k, self.settings.mmr_lambda)
        # A judged opening chunk may be in no ranked list: it has no fused score.
        passages = self.reader.passages(ordered[:k], {c: fused.get(c, 0.0) for c in ordered[:k]})
        for p in passages:
            p.dense = cosine[p.chunk_id]
            p.ranks = {name: ids.index(p.chunk_id) + 1
                       for name, ids in rankings.items() if p.chunk_id in ids}
        return passages

    def figures_first(self, ordered: list[int], query: Query) -> list[int]:
        """The top k candidates of a figure question, those that state a figure of the
        asked kind first, and a count of what is counted before any count; in fused
        order within each tier.

        "How many children were looked after in December 2014?" fuses "the previous
        inspection was in December 2011" above the paragraph with "549 children were
        being looked after": the words agree, the figure is missing. Only the top k are
        reordered, so a passage far down is not pulled up for holding any number.
        """
        measure, top = query.measure, ordered[:self.settings.k]
        texts = self.reader.texts(top)

        def tier(chunk_id: int) -> int:
            text = texts.get(chunk_id, "")
            sentences = [text[a:b] for a, b in split_sentences(text)]
            if any(counts_subject(s, measure) for s in sentences):
                return 0
            return 1 if any(gives_measure(s, measure) for s in sentences) else 2
        return sorted(top, key=tier) + ordered[len(top):]

    def judged_openings(self, filters: Filters, keys: tuple[str, ...]) -> list[int]:
        """For each judged report in scope, newest first: the opening chunk that states
        the judgement asked for, then the report's first chunks. An older report's
        first chunks are its title page and contents; its judgement is a page on
        ("Overall effectiveness for looked after children is inadequate")."""
        ids: list[int] = []
        for doc_id in self.reader.judged_documents(filters):
            opening = self.reader.opening_passages(doc_id, JUDGEMENT_CHUNKS)
            stated = [p.chunk_id for p in opening
                      if any(stated_judgement(p.text, key) for key in keys)]
            ids += stated[:1] + [p.chunk_id for p in opening[:JUDGED_OPENING_CHUNKS]]
        return list(dict.fromkeys(ids))

    def _ranked(self, text: str, vector: np.ndarray, filters: Filters, mode: str, n: int,
                ) -> tuple[list[int], dict[int, float], dict[str, list[int]]]:
        """Fused ranking within one scope: ids best first, their RRF scores, the inputs."""
        allowed = self.reader.allowed_ids(filters)
        dense = self.dense(vector, n, allowed) if mode != "bm25" else []
        sparse = self.reader.bm25(text, n, filters) if mode != "dense" else []
        rankings = {"dense": [i for i, _ in dense], "bm25": [i for i, _ in sparse]}
        if mode == "hybrid" and self.settings.phrase_max_share > 0:
            pairs = self.reader.rare_pairs(word_pairs(text), self.settings.phrase_max_share)
            if pairs:
                rankings["phrases"] = [i for i, _ in self.reader.phrases(pairs, n, filters)]
        if mode == "hybrid" and self.settings.rank_by_sentence:
            rankings["dense"] = self.by_best_sentence(rankings["dense"] + rankings["bm25"],
                                                      vector)
        weights = {"dense": self.settings.dense_weight, "bm25": self.settings.bm25_weight,
                   "phrases": self.settings.bm25_weight}
        fused = rrf(rankings, weights, self.settings.rrf_k)
        return sorted(fused, key=lambda c: -fused[c]), fused, rankings

    def by_best_sentence(self, ids: list[int], vector: np.ndarray) -> list[int]:
        """Candidates ordered by their sentence closest to the question, best first.

        A passage's own vector averages all its sentences, so a finding stated in one
        sentence of a long summary passage ("a relatively stable workforce, including a
        reduction in ... agency staff") is diluted by the rest. Ranking the union of both
        searches' candidates by their best sentence lets that passage compete, and gives
        passages found only by BM25 a dense score too. Passages without stored sentence
        vectors keep their chunk cosine.
        """
        ids = list(dict.fromkeys(ids))
        stored = self.sentence_vectors(ids)
        chunks = self.reader.vectors([i for i in ids if not len(stored.get(i, ()))])
        best = {i: float((stored[i] @ vector).max()) if len(stored.get(i, ())) else
                float(chunks[i] @ vector) for i in ids if len(stored.get(i, ())) or i in chunks}
        return sorted(best, key=lambda i: -best[i])

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of each chunk's sentences (see store.sentence_vectors)."""
        with self._lock:
            return self.reader.sentence_vectors(ids)
