"""Answer a question with the reports' own sentences, each cited, or say they don't cover it.

The default answer is extractive: sentences are taken verbatim from retrieved passages,
so every sentence is grounded by construction and its citation can be checked by
string containment. An optional generator (rag.generation) may rewrite it; its output
is checked against the same passages before anyone sees it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from rag.chunking import citation_label
from rag.config import Settings, load_settings
from rag.figures import asked_figure, gives_figure
from rag.retrieval import DOC_REFERENCE, STOPWORDS, Filters, Hit, Retriever
from rag.words import split_sentences

_NO_FIGURE = {
    "number": "The question asks for a number, and no passage close enough to it gives one.",
    "money": "The question asks for an amount of money, and no passage close enough to it "
             "gives one.",
}
NOT_COVERED = (
    "The reports in the index do not cover this question. "
    "The closest passages are listed below, but they do not answer it."
)

_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|and what about|what of)\b|\b(they|them|it|this|that|"
    r"those|these|there|then)\b", re.I)
# "And what about care leavers?" (a new subject), not "what about for ..." (narrowing)
# nor "what about them?" (pointing back).
_NEW_SUBJECT = re.compile(
    r"^\W*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?!(?:for|in|at|with|among|during|"
    r"within|after|before|them|they|it|this|that|those|these|there|then)\b)\w", re.I)
# An open question asks for findings, not a fact: "what did inspectors say about ...",
# "how did thresholds change ...", "how well does ...". It gets a longer answer.
_OPEN_QUESTION = re.compile(
    r"\b(?:what\s+(?:did|does|do|has|have|was|were)\b[^?]*\b(?:say|said|find|found|think|"
    r"report|view|viewed)\b|how\s+(?:did|has|have|had)\b[^?]*\b(?:change|changed|improve|"
    r"improved|develop|developed|viewed|compare)\b|how\s+well\b|how\s+good\b|"
    r"what\s+(?:happens|help)\b)", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_FRAME = re.compile(
    r"\bwhat\s+(?:did|does|do|has|have|had)\s+(?:the\s+)?(?:\S+\s+){0,3}?(?:say|said|find|"
    r"found|think|report|conclude)\b(?:\s+about)?", re.I)
_GENERIC_STOPWORDS = STOPWORDS - {"inspectors", "inspector", "ofsted", "report", "reports"}
_REFERS_BACK = re.compile(
    r"(?:Of (?:those|these|them)|This|These|Those|They|Their|It|Its|However|In addition|"
    r"As a result|Consequently|Furthermore|Moreover|Despite this|Where this|Such)\b")


@dataclass
class Citation:
    n: int
    chunk_id: int
    doc_id: str
    title: str
    source: str
    date: str | None
    kind: str
    page: int | None
    paragraph: int | None
    label: str  # "paragraph 41", "page 3"
    quote: str  # the exact sentence used, verbatim from text
    text: str  # the whole passage


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    closest: list[Hit] = field(default_factory=list)  # shown when abstaining
    searched_for: str = ""  # the question as understood, with context from history
    notice: str | None = None  # e.g. the generator failed and this is the fallback

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "closest": [h.to_json() for h in self.closest],
            "searched_for": self.searched_for,
            "notice": self.notice,
        }


# --------------------------------------------------------------------------- sentences

def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 2}


def asked_words(question: str) -> set[str]:
    """The words a sentence must share to state what the question asks about.

    "Inspectors", "Ofsted" and "report" are noise in "what did inspectors say about
    X?" (every passage is a report by inspectors), so that frame is dropped; anywhere
    else they are the subject ("who were the inspectors?") and count.
    """
    return sentence_words(_FRAME.sub(" ", question))


def sentence_words(text: str) -> set[str]:
    """Content words as sentence scoring sees them: "inspectors" and "report" count."""
    return {w for w in _WORD.findall(text.lower()) if w not in _GENERIC_STOPWORDS and len(w) > 2}


def _same_words(a: str, b: str) -> bool:
    return _WORD.findall(a.lower()) == _WORD.findall(b.lower())


def is_open(question: str) -> bool:
    """Whether the question asks for findings rather than one fact (a longer answer)."""
    return bool(_OPEN_QUESTION.search(question))


def contextualise(question: str, history: list[str] | tuple[str, ...] = ()) -> str:
    """Fold the previous question into a follow-up ("and what about care leavers?").

    A question that is short or points back ("they", "that", "and what about") is read
    together with the last question asked; a full new question stands on its own.
    "What about X?" asks the same of a new subject: after "What did the 2016 inspection
    say about the MASH?" only the documents carry over ("2016 inspection"), or the MASH
    would crowd out care leavers. "What about for X?" narrows the old subject instead,
    so the whole previous question stays.
    """
    if not history:
        return question
    short = len(content_words(question)) <= 3
    if not (short or _FOLLOW_UP.search(question)):
        return question
    if _NEW_SUBJECT.match(question):
        documents = " ".join(m.group() for m in DOC_REFERENCE.finditer(history[-1]))
        return f"{question} ({documents})" if documents else question
    return f"{question} ({history[-1]})"


def lead_in(hit: Hit) -> str:
    """How a group of sentences is introduced: "The inspection report (2016) found:"."""
    when = hit.date or "undated"
    kind = hit.kind if hit.kind != "document" else "document"
    return f"The {kind} \u201c{hit.title}\u201d ({when}) says:"


# ------------------------------------------------------------------------------ answer

class Assistant:
    """The one entry point the page, the CLI and the evaluation share."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None,
                 ) -> None:
        self.settings = settings or load_settings()
        self.retriever = retriever or Retriever(self.settings)

    def answer(self, question: str, history: list[str] | tuple[str, ...] = (),
               filters: Filters | None = None) -> Answer:
        result = self._answer(question, history, filters)
        # A spelled-out acronym is a reading of the question, not something the reports
        # say, so the person sees it and can rephrase if it is the wrong one.
        readings = [f"\u201c{short}\u201d was read as \u201c{long}\u201d (the reports never write "
                    f"{short})." for short, long in
                    self.retriever.spelled_acronyms(result.searched_for)]
        if readings:
            result = replace(result, notice=" ".join([*readings, *filter(None, [result.notice])]))
        return result

    def _answer(self, question: str, history: list[str] | tuple[str, ...],
                filters: Filters | None) -> Answer:
        searched_for = contextualise(question, history)
        # One model call: the same vector finds passages and scores their sentences.
        vector = self.retriever.embedder.encode([self.retriever.dense_text(searched_for)])[0]
        hits = self.retriever.search(searched_for, k=self.settings.k, filters=filters,
                                     vector=vector)
        reason = self.out_of_scope(searched_for, hits)
        if reason:
            return Answer(question, NOT_COVERED, True, closest=hits[:3],
                          searched_for=searched_for, notice=reason)
        result = self.extractive(question, searched_for, hits, vector)
        if self.settings.generator_url and not result.abstained:
            from rag.generation import generate

            result = generate(self.settings, result, hits, self.retriever.embedder)
        return result

    def out_of_scope(self, question: str, hits: list[Hit] | None = None) -> str | None:
        """A reason the index cannot answer, visible before any passage is scored.

        ``hits``: the passages retrieved for it, whose words may stand in for a subject
        word the index lacks ("kids" for "children").
        """
        names = self.retriever.unknown_names(question)
        if names:
            return f"No indexed document mentions {', '.join(names)}."
        words = self.retriever.unmentioned_subject_words(question, [h.text for h in hits or []])
        if words:
            return f"No indexed document mentions {' or '.join(map(repr, words))}."
        years = self.retriever.undocumented_years(question)
        if years:
            return f"No indexed document is dated {', '.join(years)}."
        ordinals = self.retriever.unknown_ordinals(question)
        if ordinals:
            return f"No indexed document is the {' or the '.join(ordinals)}."
        return None

    def extractive(self, question: str, searched_for: str, hits: list[Hit],
                   vector: np.ndarray | None = None) -> Answer:
        """Pick the sentences that answer the question; abstain when none is close enough.

        ``vector``: the embedded ``retriever.dense_text(searched_for)``, if the caller has it.
        """
        candidates, relevance = self.sentence_relevance(searched_for, hits, vector)
        if not candidates or relevance.max() < self.settings.min_relevance:
            return Answer(question, NOT_COVERED, True, closest=hits[:3], searched_for=searched_for)
        # Retrieval already weighed each passage against the question in context (BM25,
        # dense, fusion); its rank is a prior when choosing among relevant sentences. It
        # is left out of the abstention test above, which is calibrated on relevance.
        rank = {h.chunk_id: r for r, h in enumerate(hits)}
        prior = np.array([1.0 - rank[h.chunk_id] / len(hits) for h, _, _ in candidates])
        scores = relevance + self.settings.rank_prior * prior
        order = np.argsort(-scores)

        chosen: list[int] = []
        seen: list[set[str]] = []
        asked = asked_words(self.retriever.dense_text(searched_for))
        floor = scores[order[0]] * self.settings.answer_floor
        limit = (self.settings.open_answer_sentences if is_open(question)
                 else self.settings.answer_sentences)
        for i in order:
            if len(chosen) >= limit or scores[i] < floor:
                break
            hit, s, e = candidates[i]
            # A headline that is the document's title adds nothing to the lead-in,
            # which already names the document.
            if _same_words(hit.text[s:e], hit.title):
                continue
            # The report repeats findings; one copy is enough. The question's own words
            # are left out of the comparison: every relevant sentence shares them.
            words = sentence_words(hit.text[s:e]) - asked
            if any(len(words & w) / max(1, min(len(words), len(w))) > 0.6 for w in seen):
                continue
            chosen.append(i)
            seen.append(words)

        chosen = self._with_continuations(chosen, candidates)
        figure = asked_figure(question)
        if figure and not any(gives_figure(hit.text[s:e], figure)
                              for hit, s, e in (candidates[i] for i in chosen)):
            return Answer(question, NOT_COVERED, True, closest=hits[:3], searched_for=searched_for,
                          notice=_NO_FIGURE[figure])
        # Order by document date, then position in the document, grouped by document.
        chosen.sort(key=lambda i: (candidates[i][0].date or "9999", candidates[i][0].doc_id,
                                   candidates[i][0].chunk_id, candidates[i][1]))
        citations: list[Citation] = []
        groups: list[str] = []
        current_doc = None
        for n, i in enumerate(chosen, start=1):
            hit, s, e = candidates[i]
            quote = hit.text[s:e]
            citations.append(Citation(
                n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title,
                source=hit.source, date=hit.date, kind=hit.kind, page=hit.page,
                paragraph=hit.paragraph,
                label=citation_label(hit.paragraph, hit.page, hit.section),
                quote=quote, text=hit.text))
            if hit.doc_id != current_doc:
                groups.append(lead_in(hit))
                current_doc = hit.doc_id
            groups[-1] += f" {quote} [{n}]"
        return Answer(question, "\n\n".join(groups), False, citations, hits[:3],
                      searched_for=searched_for)

    def _with_continuations(self, chosen: list[int],
                            candidates: list[tuple[Hit, int, int]]) -> list[int]:
        """Add the next sentence when it refers back to a chosen one.

        "Return home interviews are completed for a minority... Of those completed, two
        thirds take over 72 hours." The second sentence shares no word with the question
        but is the rest of the finding; without its predecessor it would mean nothing.
        """
        out = list(chosen)
        for i in chosen:
            j = i + 1
            if (j < len(candidates) and j not in out and candidates[j][0] is candidates[i][0]
                    and _REFERS_BACK.match(candidates[j][0].text[candidates[j][1]:])):
                out.append(j)
        return out

    def sentence_relevance(self, searched_for: str, hits: list[Hit],
                           vector: np.ndarray | None = None,
                           ) -> tuple[list[tuple[Hit, int, int]], np.ndarray]:
        """Every sentence of the passages as (hit, start, end), and its relevance."""
        query = self.retriever.dense_text(searched_for)
        if vector is None:
            vector = self.retriever.embedder.encode([query])[0]
        spans = [split_sentences(hit.text) for hit in hits]
        candidates = [(hit, s, e) for hit, cs in zip(hits, spans, strict=True) for s, e in cs]
        relevance = self.score_sentences(vector, query, [h.text[s:e] for h, s, e in candidates],
                                         self._sentence_vectors(hits, [len(cs) for cs in spans]))
        return candidates, relevance

    def _sentence_vectors(self, hits: list[Hit], counts: list[int]) -> list[np.ndarray | None]:
        """Each candidate sentence's vector as stored at index time, None where missing.

        Missing only for an index written before sentence vectors existed, or a chunk
        removed by a re-index since it was retrieved; those few are embedded now.
        """
        stored = self.retriever.sentence_vectors([h.chunk_id for h in hits])
        rows: list[np.ndarray | None] = []
        for hit, n in zip(hits, counts, strict=True):
            block = stored.get(hit.chunk_id)
            rows.extend(block if block is not None and len(block) == n else [None] * n)
        return rows

    def score_sentences(self, query: np.ndarray, question: str, sentences: list[str],
                        vectors: list[np.ndarray | None] | None = None) -> np.ndarray:
        """Relevance of each sentence: embedding cosine blended with word coverage.

        Cosine (``query``: the embedded whole question) catches paraphrase; coverage of
        the question's content words rewards sentences that state the very thing asked
        about (figures, named services). Sentences come with the vectors stored at index
        time; only those without one go through the model.
        """
        vectors = list(vectors) if vectors is not None else [None] * len(sentences)
        todo = [i for i, v in enumerate(vectors) if v is None]
        if todo:
            encoded = self.retriever.embedder.encode([sentences[i] for i in todo])
            for i, row in zip(todo, encoded, strict=True):
                vectors[i] = row
        cosine = np.vstack(vectors) @ query if sentences else np.zeros(0)
        asked = asked_words(question)
        coverage = np.array([len(asked & sentence_words(s)) / max(1, len(asked))
                             for s in sentences])
        return 0.7 * cosine + 0.3 * coverage


@lru_cache(maxsize=1)
def default_assistant() -> Assistant:
    return Assistant()


def answer(question: str, history: list[str] | tuple[str, ...] = (),
           filters: Filters | None = None) -> Answer:
    """Answer with the settings from rag.toml / RAG_* (model and index loaded once)."""
    return default_assistant().answer(question, history=history, filters=filters)
