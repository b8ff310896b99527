"""Find the passages that answer a question: dense + BM25, fused, diversified, filtered.

Dense search catches paraphrase ("kids who go missing"); BM25 catches the exact words,
figures and names that embeddings blur. Reciprocal rank fusion combines them without
having to calibrate two score scales. MMR then stops the report's summary, findings and
recommendations, which repeat each other, from filling every slot.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import asdict, dataclass, field, replace

import faiss
import numpy as np

from rag import store
from rag.config import Settings
from rag.embedding import Embedder
from rag.glossary import expand_query, initials_query, spell_out, typed_acronyms
from rag.reranking import Reranker, rerank
from rag.store import IndexReader

MODES = ("hybrid", "dense", "bm25")

STOPWORDS = frozenset(
    "a about above after again all also am an and any are as at be been before being below "
    "between both but by can could did do does doing down during each few for from further "
    "had has have having he her here hers him his how i if in into is it its itself just me "
    "more most my no nor not now of off on once only or other our out over own said same say "
    "says she should so some such than that the their them then there these they this those "
    "through to too under until up very was we were what when where which while who whom why "
    "will with would you your ofsted inspectors inspector report reports tell".split()
)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents; applied before ranking, not after."""

    kinds: tuple[str, ...] = ()
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None
    doc_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.kinds or self.date_from or self.date_to or self.doc_ids)


@dataclass
class Hit:
    chunk_id: int
    doc_id: str
    title: str
    source: str
    date: str | None
    kind: str
    page: int | None
    paragraph: int | None
    section: str | None
    score: float
    text: str
    dense: float = 0.0  # cosine similarity to the question, for abstention
    ranks: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        for private in ("section", "dense", "ranks"):
            data.pop(private)
        data["section"] = self.section
        return data


_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_DOCUMENT_YEAR = re.compile(
    r"\b((?:19|20)\d\d)(?:'s)?\s+(?:\w+\s+)?(?:re-?)?(?:inspection|visit|report|letter)"
    r"|\b(?:inspection|visit|report|letter)\w*\s+(?:in|of|from)\s+((?:19|20)\d\d)\b", re.I)
# "the sixth monitoring visit": a document named by its place in a series.
_ORDINAL_DOCUMENT = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))"
    r"\s+(?:monitoring\s+|focused\s+)?(?:visit|inspection|letter)", re.I)
# The subject a question names: "what did inspectors say about <the use of restraint>?",
# "and what about <care leavers>?". It ends at the question mark or the previous
# question folded in by a follow-up ("... (What did ...)").
_SUBJECT = re.compile(r"\babout\s+([^?()]+)", re.I)
# A capitalised word that does not open the question: a place, person or organisation.
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][a-z]{2,})\b")


def year_scopes(question: str, filters: Filters) -> list[Filters]:
    """One filter per distinct year the question names, unless dates are already fixed."""
    if filters.date_from or filters.date_to:
        return []
    years = dict.fromkeys(_YEAR.findall(question))
    return [replace(filters, date_from=f"{y}-01-01", date_to=f"{y}-12-31") for y in years]


DOC_REFERENCE = re.compile(
    r"\b(?:(?:19|20)\d\d|(?:re-?)?inspections?|monitoring|visits?|letters?|reports?|"
    r"press releases?|ofsted|inspectors?|change[ds]?|between|since|improved?)\b", re.I)


def topic_of(question: str) -> str:
    """The question without the words that point at documents rather than the subject.

    "How did thresholds change between the 2016 inspection and the 2017 monitoring
    visit?" is about thresholds; the years already choose the documents (year_scopes),
    and "inspection", "visit", "report" occur in every passage, so they only add noise
    to both the embedding and BM25. Falls back to the question if nothing is left.
    """
    topic = " ".join(DOC_REFERENCE.sub(" ", question).split())
    left = [w for w in re.findall(r"\w+", topic.lower()) if w not in STOPWORDS]
    return topic if left else question


def interleave(lists: list[list[int]]) -> list[int]:
    """Round-robin merge of ranked lists, keeping each id's first appearance."""
    merged: dict[int, None] = {}
    for rank in range(max((len(x) for x in lists), default=0)):
        for ranked in lists:
            if rank < len(ranked):
                merged.setdefault(ranked[rank], None)
    return list(merged)


def fts_query(question: str) -> str:
    """An FTS5 MATCH expression that can never be a syntax error.

    Every word becomes a quoted string joined by OR, so quotes, ``*``, ``NEAR`` or
    unbalanced brackets in a question are just text.
    """
    words = [w for w in re.findall(r"\w+", question.lower()) if w not in STOPWORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


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


class Retriever:
    """Holds the model and a read view of the index; safe to reuse across questions."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 reader: IndexReader | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model, settings.batch_size)
        self.reader = reader or IndexReader(settings.index_dir)
        self._glossary: list[tuple[str, str]] | None = None
        self._glossary_gen = -1
        self._spelled: dict[str, str | None] = {}
        self._spelled_gen = -1
        self._allowed: dict[tuple[int, Filters], np.ndarray] = {}
        self.reranker = Reranker(settings.reranker_path) if settings.reranker_path else None
        # One search at a time per reader: a search refreshes the reader's snapshot, so
        # two interleaved searches (the page's sessions share this object) could
        # otherwise pair one generation's vectors with another's rows.
        self._lock = threading.RLock()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.reader.conn

    def glossary(self) -> list[tuple[str, str]]:
        if self._glossary is None or self._glossary_gen != self.reader.generation:
            self._glossary = [(r[0], r[1]) for r in self.conn.execute(
                "SELECT short, min(long) FROM glossary GROUP BY short")]
            self._glossary_gen = self.reader.generation
        return self._glossary

    def acronyms_for(self, question: str) -> list[tuple[str, str]]:
        """The mined glossary, plus the question's acronyms that the index never writes."""
        return self.glossary() + self.spelled_acronyms(question)

    def spelled_acronyms(self, question: str) -> list[tuple[str, str]]:
        """(acronym, phrase) for each acronym of the question the index never writes.

        Staff write "CSE"; these reports never do, and never define it, but write "child
        sexual exploitation" 18 times. Such an acronym is spelled out from the passages
        whose words start with its letters (``spell_out``). One answer asks this several
        times (query text, dense text, subject check, notice), so each acronym's outcome,
        None for one the index writes, is kept until the index changes.
        """
        if self._spelled_gen != self.reader.generation:
            self._spelled, self._spelled_gen = {}, self.reader.generation
        known = {short for short, _ in self.glossary()}
        pairs = []
        for acronym in typed_acronyms(question):
            if acronym in known:
                continue
            if acronym not in self._spelled:
                self._spelled[acronym] = (None if self.in_passages(acronym)
                                          else self.spell_out(acronym))
            if phrase := self._spelled[acronym]:
                pairs.append((acronym, phrase))
        return pairs

    def spell_out(self, acronym: str) -> str | None:
        """The indexed phrase whose initials spell the acronym, if one clearly wins.

        Reads at most 2,000 passages: enough for a term used throughout a corpus to win
        (bench/bench_acronyms.py: about 0.1 s on the 57k-chunk scale index).
        """
        rows = self.conn.execute(
            "SELECT c.text FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
            " WHERE chunks_fts MATCH ? LIMIT 2000", (initials_query(acronym),))
        return spell_out(acronym, (r[0] for r in rows), STOPWORDS)

    def in_passages(self, word: str) -> bool:
        """Whether any indexed passage has the word (stemmed, as BM25 matches it)."""
        return self.conn.execute("SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? LIMIT 1",
                                 (f'"{word}"',)).fetchone() is not None

    def unknown_names(self, question: str) -> list[str]:
        """Capitalised names in the question that no indexed passage or title mentions.

        "What did Ofsted say about Manchester?" over a Birmingham corpus: the honest
        answer is that the index has nothing on Manchester, however similar the
        passages about other councils look to the embedding.
        """
        unknown = []
        for name in dict.fromkeys(_NAME.findall(question)):
            if name.lower() in STOPWORDS:
                continue
            found = self.in_passages(name) or self.conn.execute(
                "SELECT 1 FROM documents WHERE title LIKE ? LIMIT 1", (f"%{name}%",)).fetchone()
            if not found:
                unknown.append(name)
        return unknown

    def unmentioned_subject_words(self, question: str, passages: list[str]) -> list[str]:
        """Words of the subject of "what did they say about X?" that no passage mentions.

        "What did inspectors say about the use of restraint?" over reports that never
        use the word: every passage about residential homes looks close to the
        embedding, but the reports cannot have said anything about restraint. A word
        counts as mentioned when the index has it (stemmed, as BM25 sees it) or when
        a word of the retrieved ``passages`` means nearly the same to the embedding
        model ("kids" and "children": 0.88; "restraint" and "protection": 0.57), or
        when it is an acronym the passages spell out ("CSE").
        """
        m = _SUBJECT.search(question)
        if not m:
            return []
        spelled = {form for short, _ in self.acronyms_for(question)
                   for form in (short.lower(), short.lower() + "s")}
        absent = [w for w in dict.fromkeys(re.findall(r"[a-z]{3,}", m[1].lower()))
                  if w not in STOPWORDS and w not in spelled and not self.in_passages(w)]
        if not absent or not passages:
            return absent
        vocabulary = sorted({w for p in passages for w in re.findall(r"[a-z]{3,}", p.lower())
                             if w not in STOPWORDS})
        nearest = (self.embedder.encode(absent) @ self.embedder.encode(vocabulary).T).max(1)
        return [w for w, sim in zip(absent, nearest, strict=True)
                if sim < self.settings.synonym_similarity]

    def undocumented_years(self, question: str) -> list[str]:
        """Years the index cannot speak about.

        A year tied to a document ("the 2019 inspection") that no document carries, or
        any year after the newest dated document: reports cannot describe what happened
        after they were written.
        """
        newest = self.conn.execute("SELECT max(substr(date, 1, 4)) FROM documents").fetchone()[0]
        years = []
        for year in dict.fromkeys(m[1] or m[2] for m in _DOCUMENT_YEAR.finditer(question)):
            if not self.conn.execute("SELECT 1 FROM documents WHERE date LIKE ? LIMIT 1",
                                     (f"{year}%",)).fetchone():
                years.append(year)
        if newest:
            years.extend(y for y in dict.fromkeys(_YEAR.findall(question))
                         if y > newest and y not in years)
        return years

    def unknown_ordinals(self, question: str) -> list[str]:
        """Documents named by their place in a series ("the sixth monitoring visit") that
        no indexed passage or title names: like a year no document carries, the index
        cannot speak for a visit it does not hold, however alike the visits read."""
        return [phrase for phrase, docs in self.ordinal_documents(question).items() if not docs]

    def ordinal_documents(self, question: str) -> dict[str, list[str]]:
        """For each "fourth monitoring visit" in the question, the documents that name it.

        A document names it when its title or file name says it, or one of its passages
        has the ordinal near the noun ("In the fourth monitoring visit since...").
        """
        found: dict[str, list[str]] = {}
        for m in _ORDINAL_DOCUMENT.finditer(question):
            phrase = " ".join(m.group().lower().split())
            ordinal, noun = m[1].lower(), phrase.split()[-1]
            rows = self.conn.execute(
                "SELECT DISTINCT c.doc_id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid"
                " WHERE chunks_fts MATCH ?", (f'NEAR("{ordinal}" "{noun}", 8)',)).fetchall()
            rows += self.conn.execute(
                "SELECT doc_id FROM documents WHERE lower(title) LIKE ?1 OR"
                " replace(replace(lower(source), '-', ' '), '_', ' ') LIKE ?1",
                (f"%{phrase}%",)).fetchall()
            found[phrase] = sorted({r[0] for r in rows})
        return found

    def scopes(self, question: str, filters: Filters) -> tuple[Filters, list[Filters]]:
        """Where to search: the filter for the main list, and narrower lists beside it.

        A question that names years gets one list per year (year_scopes). One that names
        a document by its place in a series ("What did the fourth monitoring visit find
        about children coming into care?") asks about that document alone: every other
        document also discusses children coming into care, and their sentences would
        answer a question nobody asked. So the search is narrowed to the documents that
        name it, unless the question also names years ("in 2016 and at the fifth
        visit"), when the named documents get a list of their own beside the years'.
        A filter that already names documents is the user's choice and is kept.
        """
        years = year_scopes(question, filters)
        named = sorted({d for docs in self.ordinal_documents(question).values() for d in docs})
        if not named or filters.doc_ids:
            return filters, years
        narrowed = replace(filters, doc_ids=tuple(named))
        return (filters, [*years, narrowed]) if years else (narrowed, [])

    def allowed_ids(self, filters: Filters) -> np.ndarray | None:
        """The chunk ids a filter admits, None for no filter.

        A document's chunks get consecutive ids (one writer inserts them together), so
        each document is one id range: reading ranges instead of every id keeps a filter
        over a 100,000-chunk index to a few milliseconds. Remembered per generation,
        because the same filters (the sidebar's, a year's documents) come back.
        """
        if filters.is_empty():
            return None
        key = (self.reader.generation, filters)
        if key not in self._allowed:
            where, args = _filter_sql(filters)
            rows = self.conn.execute(
                "SELECT min(c.id), max(c.id), count(*) FROM chunks c JOIN documents d"
                f" USING (doc_id) WHERE {where} GROUP BY c.doc_id", args).fetchall()
            if all(hi - lo + 1 == n for lo, hi, n in rows):
                ranges = [np.arange(lo, hi + 1, dtype=np.int64) for lo, hi, _ in rows]
                ids = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
            else:  # not consecutive (an index written some other way): read every id
                ids = np.array([r[0] for r in self.conn.execute(
                    f"SELECT c.id FROM chunks c JOIN documents d USING (doc_id) WHERE {where}",
                    args)], dtype=np.int64)
            if len(self._allowed) >= 64:
                self._allowed.clear()
            self._allowed[key] = ids
        return self._allowed[key]

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

    def bm25(self, question: str, n: int, filters: Filters) -> list[tuple[int, float]]:
        query = fts_query(question)
        if not query:
            return []
        if filters.is_empty():  # no join needed: FTS5 alone is twice as fast at 100k chunks
            rows = self.conn.execute(
                "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?"
                " ORDER BY s LIMIT ?", (query, n))
            return [(int(r[0]), -float(r[1])) for r in rows]
        where, args = _filter_sql(filters)
        rows = self.conn.execute(
            "SELECT f.rowid, bm25(chunks_fts) AS s FROM chunks_fts f"
            " JOIN chunks c ON c.id = f.rowid JOIN documents d USING (doc_id)"
            f" WHERE chunks_fts MATCH ? AND {where} ORDER BY s LIMIT ?",
            [query, *args, n],
        )
        return [(int(r[0]), -float(r[1])) for r in rows]

    def query_text(self, question: str) -> str:
        """What BM25 searches for: the question's subject, acronyms expanded both ways."""
        return expand_query(topic_of(question), self.acronyms_for(question))

    def dense_text(self, question: str) -> str:
        """What is embedded: the whole question, acronyms expanded both ways.

        Words like "inspection" or "2016" add noise to BM25 (every passage has them) but
        not to the embedding, and "how many inspectors ..." loses its subject without
        them. Answering scores sentences against the same vector.
        """
        return expand_query(question, self.acronyms_for(question))

    def search(self, question: str, k: int | None = None, filters: Filters | None = None,
               mode: str = "hybrid", diversify: bool = True,
               vector: np.ndarray | None = None) -> list[Hit]:
        """The k best passages for a question, best first.

        ``vector``: the embedded ``dense_text(question)``, when the caller has it already.

        A question that names years ("between the 2016 inspection and the 2017 visit")
        gets a ranked list from each year's documents, interleaved with the overall
        list, so a comparison sees evidence from both ends instead of only the larger
        document.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        with self._lock:
            return self._search(question, k, filters, mode, diversify, vector)

    def _search(self, question: str, k: int | None, filters: Filters | None, mode: str,
                diversify: bool, vector: np.ndarray | None) -> list[Hit]:
        self.reader.refresh()
        k = k or self.settings.k
        filters = filters or Filters()
        n = max(self.settings.candidates, k)
        expanded = self.query_text(question)
        if vector is None:
            vector = self.embedder.encode([self.dense_text(question)])[0]
        lists, fused, rankings = [], {}, {}
        filters, narrower = self.scopes(question, filters)
        for scope in [*narrower, filters]:
            ranked, scores, named = self._ranked(expanded, vector, scope, mode, n)
            lists.append(ranked)
            for c, v in scores.items():
                fused[c] = max(fused.get(c, 0.0), v)
            if scope is filters:
                rankings = named
        ordered = interleave(lists)
        if self.reranker is not None and ordered:
            top = ordered[: self.settings.rerank_candidates]
            texts = self._texts(top)
            scores = self.reranker.scores(question, [texts.get(c, "") for c in top])
            ordered = rerank(top, scores) + ordered[len(top):]
        vectors = self._vectors(ordered)
        cosine = {c: float(vectors[c] @ vector) for c in ordered}
        if diversify and len(ordered) > k:
            relevance = {c: 1.0 / (rank + 1) for rank, c in enumerate(ordered)}
            ordered = mmr(ordered, relevance, vectors, k, self.settings.mmr_lambda)
        hits = self._hits(ordered[:k], fused)
        for hit in hits:
            hit.dense = cosine[hit.chunk_id]
            hit.ranks = {name: ids.index(hit.chunk_id) + 1
                         for name, ids in rankings.items() if hit.chunk_id in ids}
        return hits

    def _ranked(self, question: str, vector: np.ndarray, filters: Filters, mode: str, n: int,
                ) -> tuple[list[int], dict[int, float], dict[str, list[int]]]:
        """Fused ranking within one scope: ids best first, their RRF scores, the inputs."""
        allowed = self.allowed_ids(filters)
        dense = self.dense(vector, n, allowed) if mode != "bm25" else []
        sparse = self.bm25(question, n, filters) if mode != "dense" else []
        rankings = {"dense": [i for i, _ in dense], "bm25": [i for i, _ in sparse]}
        if mode == "hybrid" and self.settings.rank_by_sentence:
            rankings["dense"] = self.by_best_sentence(rankings["dense"] + rankings["bm25"],
                                                      vector)
        weights = {"dense": self.settings.dense_weight, "bm25": self.settings.bm25_weight}
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
        chunks = self._vectors([i for i in ids if not len(stored.get(i, ()))])
        best = {i: float((stored[i] @ vector).max()) if len(stored.get(i, ())) else
                float(chunks[i] @ vector) for i in ids if len(stored.get(i, ())) or i in chunks}
        return sorted(best, key=lambda i: -best[i])

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The stored vectors of each chunk's sentences (see store.sentence_vectors)."""
        with self._lock:
            dimension = int(self.reader.manifest.get("dimension", 0))
            return store.sentence_vectors(self.conn, ids, dimension)

    def _texts(self, ids: list[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        return {int(r[0]): r[1] for r in self.conn.execute(
            f"SELECT id, text FROM chunks WHERE id IN ({marks})", ids)}

    def _vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", ids)
        return {int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}

    def _hits(self, ids: list[int], scores: dict[int, float]) -> list[Hit]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["id"]: r for r in self.conn.execute(
            "SELECT c.id, c.doc_id, d.title, d.source, d.date, d.kind, c.page, c.paragraph,"
            " c.section, c.text FROM chunks c JOIN documents d USING (doc_id)"
            f" WHERE c.id IN ({marks})",
            ids)}
        return [
            Hit(chunk_id=i, doc_id=r["doc_id"], title=r["title"], source=r["source"],
                date=r["date"], kind=r["kind"], page=r["page"], paragraph=r["paragraph"],
                section=r["section"], score=round(scores[i], 6), text=r["text"])
            for i in ids if (r := rows.get(i)) is not None
        ]


def _filter_sql(filters: Filters) -> tuple[str, list]:
    """A WHERE clause over documents d. Partial dates ("2016") span their whole period."""
    clauses, args = ["1"], []
    if filters.kinds:
        clauses.append(f"d.kind IN ({','.join('?' * len(filters.kinds))})")
        args.extend(filters.kinds)
    if filters.doc_ids:
        clauses.append(f"d.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        args.extend(filters.doc_ids)
    if filters.date_from:
        clauses.append("substr(d.date || '-12-31', 1, 10) >= ?")
        args.append(filters.date_from)
    if filters.date_to:
        clauses.append("substr(d.date || '-01-01', 1, 10) <= ?")
        args.append(filters.date_to)
    return " AND ".join(clauses), args
