"""Answer a question with the reports' own sentences, each cited, or say they don't cover it.

The default answer is extractive: sentences are taken verbatim from retrieved passages,
so every sentence is grounded by construction and its citation can be checked by
string containment. An optional generator (rag.generation) may rewrite it; its output
is checked against the same passages before anyone sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from itertools import pairwise

import numpy as np

from rag.config import Settings, load_settings
from rag.figures import (
    counts_subject,
    gives_answer_type,
    gives_figure,
    gives_measure,
    gives_number_of,
    leans_back,
    measures_asked,
    names_counted,
    proper_words,
    state_words,
)
from rag.form import arrange, lead_in, plain_text, renumbered
from rag.judgements import judgement_citations
from rag.query import Query, understand
from rag.records import Answer, Block, Citation, Filters, Line, Passage
from rag.retrieval import Retriever
from rag.scope import out_of_scope
from rag.words import (
    DOCUMENT_WORD,
    FIGURE_FRAME_WORDS,
    MONTHS,
    NAMING_WORDS,
    SERVICE_WORDS,
    STOPWORDS,
    same_words,
    sentence_words,
    split_sentences,
    word_pairs,
    words,
)

_NO_FIGURE = {
    "number": "The question asks for a number, and no passage close enough to it gives one.",
    "money": "The question asks for an amount of money, and no passage close enough to it "
             "gives one.",
}
_NO_NAME = "The question asks for a name, and no passage close enough to it gives one."
NOT_COVERED = (
    "The reports in the index do not cover this question. "
    "The closest passages are listed below, but they do not answer it."
)


def too_long(question: str, limit: int) -> Answer:
    """The answer to a question over ``limit`` characters: what to do instead, and no work."""
    message = (f"The question is {len(question):,} characters long; questions are limited to "
               f"{limit:,} characters (setting max_question_chars). Ask about one thing at a "
               "time, or add a long text to the corpus as a document.")
    return Answer(question, message, True)


_LIST_ITEMS = 2  # the items a sentence ending in a colon brings with it
_LIST_INTRO = 3  # the sentences before a list that say what it is of
_MONTH_WORDS = frozenset(MONTHS)
_BULLET_BEFORE = re.compile(r"(?:^|\n)[ \t]*[-\u2022*][ \t]*$")
_REFERS_BACK = re.compile(
    r"(?:Of (?:those|these|them)|This|These|Those|They|Their|It|Its|However|In addition|"
    r"As a result|Consequently|Furthermore|Moreover|Despite this|Where this|Such)\b")

# The words that ask for a figure, not about what: every figure sentence answers them.
_MEASURE_WORDS = frozenset({"many", "much", "proportion", "percentage", "share", "number",
                            "average", "total", "rate", "long", "often", "quickly"})
# Words saying which figure of a subject is asked for ("average"), as a sentence may too.
_FIGURE_KIND_WORDS = frozenset({"average", "total", "median"})

# A sentence that states no finding. A heading: no closing stop and no verb ("Child
# protection in this area", "Previous Ofsted inspections"), unless it states a grade
# ("Children who need help and protection Inadequate"). The verbs are the auxiliaries
# and the report's own ("requires improvement", "remain"), enough to tell a heading from
# a clause cut at a list ("there have been 153 adoptions").
_HEADING_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|being|has|have|had|do|does|did|can|could|will|would|"
    r"should|must|may|might|requires?|remains?|needs?|makes?|means?|shows?|inadequate|"
    r"good|outstanding|improvement)\b", re.I)
# A line with a figure ("15 children became subject of special guardianship orders") or a
# person's name ("Peter McEntee HMI") says something, whatever its punctuation; a
# heading's section number ("2.2 Experiences and progress of ...") does not count.
_SECTION_NUMBER = re.compile(r"^\W*\d+(?:\.\d+)*\s+(?=[A-Z])")


def _says_figure_or_name(text: str) -> bool:
    """Whether a line gives a figure or a capitalised name (two capitalised words)."""
    words = _SECTION_NUMBER.sub("", text).split()
    return any(c.isdigit() for c in " ".join(words)) or any(
        a[:1].isupper() and b[:1].isupper() for a, b in pairwise(words[1:]))


_CLOSING_MARK = re.compile(r"[.!?:;\u201d\"')\]]\s*$")
# A method line: what the inspectors or the letter did, not what they found ("Inspectors
# have looked closely at the experiences of ...", "This letter summarises the findings of
# ...", "During the course of this visit, inspectors reviewed ..."). Each opens one of the
# scale corpus's most recurring sentence shapes ("This letter summarises the findings" in
# 369 of 859 reports, "Inspectors have looked closely at" 161), or its monitoring-letter
# form, or a news item's opening ("Ofsted has today published ..."). "Inspectors found /
# saw / observed" is a finding, and stays.
_METHOD = re.compile(
    r"^\W*(?:(?:In\s+addition|During\s+(?:the\s+course\s+of\s+)?this\s+(?:visit|"
    r"inspection)),?\s+)?(?:(?:the\s+)?inspectors|this\s+(?:letter|visit|inspection)|the\s+visit|"
    r"ofsted)\s+(?:have\s+|has\s+|had\s+|was\s+|were\s+)?(?:also\s+|particularly\s+|"
    r"closely\s+)?(?:looked|focused|reviewed|considered|spoke|met|read|tracked|sampled|"
    r"evaluated|visited|talked|summarises|carried\s+out|the\s+(?:first|second|third|"
    r"fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+monitoring\s+visit)\b"
    # News framing: "Ofsted has today (Friday 19 October) published the findings of ...".
    r"|^\W*ofsted\s+(?:has|have)\s+(?:today\s+)?(?:\([^)]{0,40}\)\s+)?published\b"
    # The rest of the opening, "Inspectors have looked closely at ...": "This (also)
    # includes children who are looked after, and young people who are leaving care ...".
    r"|^\W*this\s+(?:also\s+)?includes\s+children\s+(?:and\s+young\s+people\s+)?who\s+"
    r"are\s+looked\s+after\b", re.I)
# A question answered yes or no ("Do children in care attend their reviews?") asks what
# was found, as an open question does.
_YES_NO = re.compile(r"^\W*(?:do|does|did|are|is|was|were|can|could|has|have|had|will|"
                     r"would)\b", re.I)


def states_no_finding(sentence: str, method_too: bool = True) -> bool:
    """Whether a sentence is a heading, or (``method_too``) a line about what the
    inspection did rather than what it found: neither answers a question about findings
    or figures, however many of the question's words they share."""
    text = " ".join(sentence.split())
    if (not _CLOSING_MARK.search(text) and len(text.split()) <= 8 and not _HEADING_VERB.search(text)
            and not _says_figure_or_name(text)):
        return True
    return method_too and bool(_METHOD.search(text))


# ------------------------------------------------------------------------------ answer

class Assistant:
    """The one entry point the page, the CLI and the evaluation share."""

    def __init__(self, settings: Settings | None = None, retriever: Retriever | None = None,
                 ) -> None:
        self.settings = settings or load_settings()
        self.retriever = retriever or Retriever(self.settings)

    def understand(self, question: str, history: Sequence[str] = ()) -> Query:
        """The question read once, with the conversation and the index's acronyms."""
        return understand(question, history, self.retriever.reader)

    def answer(self, question: str, history: Sequence[str] = (),
               filters: Filters | None = None) -> Answer:
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return too_long(question, limit)
        history = [h for h in history if len(h) <= limit]  # one refused stays refused
        query = self.understand(question, history)
        result = self._answer(query, filters)
        # A spelled-out acronym is a reading of the question, not something the reports
        # say, so the person sees it and can rephrase if it is the wrong one.
        readings = [f"\u201c{a.short}\u201d was read as \u201c{a.long}\u201d (the reports "
                    f"never write {a.short})." for a in query.spelled]
        if readings:
            result = replace(result, notice=" ".join([*readings, *filter(None, [result.notice])]))
        return result

    def _answer(self, query: Query, filters: Filters | None) -> Answer:
        # One model call: the same vector finds passages and scores their sentences.
        vector = self.retriever.embedder.encode([query.dense_text])[0]
        passages = self.retriever.search(query, k=self.settings.k, filters=filters,
                                         vector=vector)
        reason = out_of_scope(query, self.retriever.reader, [p.text for p in passages],
                              self.retriever.embedder, self.settings.synonym_similarity)
        if reason:
            return Answer(query.asked, NOT_COVERED, True, closest=passages[:3],
                          searched_for=query.text, notice=reason)
        result = self.extractive(query, passages, vector)
        rows = judgement_citations(query, self.retriever.reader)
        if rows:
            # Rows alone answer a listing, or a question asking only for a judgement.
            ask = query.judgement
            return with_judgements(rows, result, only_rows=bool(ask and (ask.listing
                                                                         or ask.alone)))
        if self.settings.generator_url and not result.abstained:
            from rag.generation import generate

            result = generate(self.settings, result, passages, self.retriever.embedder)
        return result

    def extractive(self, query: Query, passages: list[Passage],
                   vector: np.ndarray | None = None) -> Answer:
        """Pick the sentences that answer the question; abstain when none is close enough.

        ``vector``: the embedded ``query.dense_text``, if the caller has it.
        """
        candidates, relevance, choice = self.sentence_relevance(query, passages, vector)
        # Everyday words ("temporary staff") read further from the reports' sentences.
        floor = self.settings.min_relevance - (self.settings.everyday_relevance_allowance
                                               if query.everyday else 0.0)
        if not candidates or (relevance.max() < floor
                              and not self._states_a_rare_phrase(query, candidates)):
            return Answer(query.asked, NOT_COVERED, True, closest=passages[:3],
                          searched_for=query.text)
        # Retrieval already weighed each passage against the question in context (BM25,
        # dense, fusion); its rank is a prior when choosing among relevant sentences. It
        # is left out of the abstention test above, which is calibrated on relevance.
        rank = {p.chunk_id: r for r, p in enumerate(passages)}
        prior = np.array([1.0 - rank[p.chunk_id] / len(passages) for p, _, _ in candidates])
        scores = choice + self.settings.rank_prior * prior
        if query.open:
            scores = with_follow_on(scores, candidates, self.settings.follow_on_share)
        subjects = subjects_before(candidates)
        for i, first in subjects.items():
            scores[i] = max(scores[i], scores[first:i].max())
        order = np.argsort(-scores)

        chosen = self._choose(query, candidates, scores, order, subjects)
        top = chosen[0]  # the most direct: it opens the answer
        chosen, continues = self._with_continuations(chosen, candidates, subjects)
        # A sentence that continues another ("Of these, two thirds take over 72 hours") is
        # read with it: together they are one finding, and only the first names its subject.
        text = {i: candidates[i][0].text[candidates[i][1]:candidates[i][2]] for i in chosen}
        read = [f"{text[continues[i]]} {text[i]}" if continues.get(i) in text else text[i]
                for i in chosen]
        missing = missing_figure(query, read)
        if missing:
            return Answer(query.asked, NOT_COVERED, True, closest=passages[:3],
                          searched_for=query.text, notice=missing)
        unconfirmed = self._unconfirmed_subject(query, read)
        # Order by document date, then position in the document, grouped by document; by
        # council first when the sentences come from several councils' reports.
        councils = {candidates[i][0].doc.council for i in chosen} - {None}
        by_council = len(councils) > 1
        chosen.sort(key=lambda i: ((candidates[i][0].doc.council or "~") if by_council else "",
                                   candidates[i][0].doc.date or "9999",
                                   candidates[i][0].doc.doc_id, candidates[i][0].chunk_id,
                                   candidates[i][1]))
        citations = [Citation(n=n, passage=candidates[i][0],
                              quote=candidates[i][0].text[candidates[i][1]:candidates[i][2]])
                     for n, i in enumerate(chosen, start=1)]
        blocks = arrange(citations, direct=chosen.index(top) + 1,
                         follows=self._follows(chosen, continues), comparison=query.over_time)
        return Answer(query.asked, plain_text(blocks), False, citations, passages[:3],
                      searched_for=query.text, blocks=blocks,
                      notice=check_the_figure(query, unconfirmed) if unconfirmed else None)

    def _unconfirmed_subject(self, query: Query, read: list[str]) -> list[str]:
        share = self.settings.subject_word_share
        if share <= 0:
            return []
        reader = self.retriever.reader
        return unconfirmed_subject(query, read, lambda ws: reader.rare_pairs(ws, share),
                                   reader.glossary())

    def _states_a_rare_phrase(self, query: Query,
                              candidates: list[tuple[Passage, int, int]]) -> bool:
        """Whether a candidate sentence states a phrase of the question that few passages
        hold (retrieval's rare word pairs: "formally adopted", "recently introduced").

        Such a sentence is about what was asked even when its long wording keeps its
        relevance under the decline threshold: "A children's rights approach has been
        formally adopted by the local authority and, within this, ..." answers "what
        approach had Cornwall formally adopted?" at relevance 0.29. Not for a question
        asking for a figure: a sentence may name its subject and give another number.
        """
        if query.figure or query.measure is not None or self.settings.phrase_max_share <= 0:
            return False
        pairs = set(self.retriever.reader.rare_pairs(word_pairs(query.bm25_text),
                                                     self.settings.phrase_max_share))
        return bool(pairs) and any(pairs & set(word_pairs(p.text[s:e]))
                                   for p, s, e in candidates)

    def _choose(self, query: Query, candidates: list[tuple[Passage, int, int]],
                scores: np.ndarray, order: np.ndarray,
                subjects: dict[int, int]) -> list[int]:
        """The sentences that answer, best first (before continuations are added).

        A question asking for a figure is answered by the sentences that give it (the
        measure's kind, and when it names what is counted, a number of that), not by every
        number near the subject; those failing, by the usual best-scoring sentences.
        ``subjects``: a figure sentence naming no subject -> the first of the sentences
        before it that say what it is about (`subjects_before`); it is read with them.
        """
        limit = (self.settings.open_answer_sentences if query.open
                 else self.settings.answer_sentences)
        if _YES_NO.match(query.asked) and not (query.open or query.over_time):
            # "Do children in care attend their reviews?" wants the finding, not five
            # sentences that share its words; a comparison needs both ends.
            limit = self.settings.yes_no_answer_sentences
        floor = scores[order[0]] * self.settings.answer_floor
        pool = [int(i) for i in order if scores[i] >= floor]
        text = [p.text[s:e] for p, s, e in candidates]
        read = self._read_with_subjects(query, candidates, text, subjects)
        for i, intro in self._list_intros(candidates).items():
            read[i] = f"{intro} {read[i]}"
        # Headings and method lines state no finding. A question for a date or a name
        # ("when did the visit take place and who were the inspectors?") may be answered
        # by a method line ("This letter summarises the findings of the visit on 19 and 20
        # September 2017"); one asking for findings or a figure is not.
        method = query.open or query.measure is not None or bool(_YES_NO.match(query.asked))
        kept = [i for i in pool if not states_no_finding(text[i], method)]
        pool = kept or pool
        # "What is MASE?": the sentence that spells it out, when one does, is the answer.
        if query.defines:
            # Words one space apart, so "Multi-agency" meets the glossary's "multi agency".
            long = next((" ".join(words(a.long)) for a in query.acronyms
                         if a.short.lower() == query.defines.lower()), None)
            short = {query.defines.lower(), query.defines.lower() + "s"}
            # Without a glossary entry ("multi-agency child sexual exploitation (MASE)"
            # has other initials), the sentence that writes it in brackets after a name.
            defining = [i for i in pool if short & set(words(text[i])) and (
                long in " ".join(words(text[i])) if long else
                re.search(rf"\w \({re.escape(query.defines)}s?\)", text[i]))]
            if defining:
                return defining[:1]
        # The subject's most telling word must be there: "return home interviews" is
        # not answered by plans for children who return home.
        heads = telling_words(query, text)
        if heads:
            forms = set().union(*(_word_forms(h, query) for h in heads))
            kept = [i for i in pool if forms & _roots(read[i])]
            pool = kept or pool
        kinds = [kind for kind in query.asks_for if kind != "named"]
        if kinds and query.measure is None and not query.open:
            # "When did ...?" is answered by the sentences giving a date, "who ...?" by
            # those giving a name, when any does. A proper name asked for outright is
            # not chosen this way: one capitalised word is too common to rank by.
            # Each kind asked for ("when ... and who ...?") is given by its own best
            # sentences; one far under the best of its kind gives another date or name
            # ("The previous inspection ... was in March 2014").
            by_kind = [[i for i in pool if gives_answer_type(text[i], kind)] for kind in kinds]
            if any(by_kind) and not all(by_kind):
                # "When did the people from Ofsted come back, and what were their names?"
                # The letter's sentence with the visit's date is in the pool; the one with
                # the names ("The inspectors were ...") shares no word with the question
                # and scores under the floor. A kind asked for that the pool lacks is the
                # best sentence giving it in the passages that give the other.
                held = {candidates[i][0].chunk_id for of_kind in by_kind for i in of_kind}
                by_kind = [of_kind or [int(i) for i in order
                                       if candidates[i][0].chunk_id in held
                                       and gives_answer_type(text[i], kind)][:1]
                           for of_kind, kind in zip(by_kind, kinds, strict=True)]
            keep = {i for of_kind in by_kind if of_kind for i in of_kind
                    if scores[i] >= scores[of_kind[0]] * self.settings.fact_floor}
            if keep:
                pool = [int(i) for i in order if int(i) in keep]
                limit = self.settings.figure_answer_sentences
        if query.measure is not None:
            giving = [i for i in pool if gives_measure(text[i], query.measure)]
            counting = [i for i in giving if counts_subject(read[i], query.measure)]
            figures = counting or giving
            if query.measure.kind == "count":
                figures = [i for i in figures if gives_number_of(text[i])] or figures
            # "On average, how many children does each IRO look after?": the sentence
            # giving an average ("an average of 68 children per IRO"), not a headcount.
            kind_words = query.asked_words & _FIGURE_KIND_WORDS
            if kind_words:
                figures = [i for i in figures if kind_words & sentence_words(read[i])] or figures
            if figures:
                # Among sentences giving the figure, the one that says the question's
                # rarer words ("repeat" plan, not every plan) is the one asked for.
                # "The council", "the service": whose figure it is, not what it counts.
                # The month asked for ("at the end of August 2016"), left out of what a
                # question asks about since it names letters too, says which figure.
                subject = (query.asked_words - query.council_words - _MEASURE_WORDS
                           - SERVICE_WORDS) | (set(words(query.asked)) & _MONTH_WORDS)
                ranked = scores[figures] + self.settings.figure_idf_weight * distinctive_coverage(
                    subject, [read[i] for i in figures], text)
                figures = [figures[j] for j in np.argsort(-ranked, kind="stable")]
                best = ranked.max() * self.settings.figure_floor
                pool = [i for i, r in zip(figures, np.sort(ranked)[::-1], strict=True)
                        if r >= best]
                limit = self.settings.figure_answer_sentences
        chosen: list[int] = []
        seen: list[set[str]] = []
        for i in pool:
            if len(chosen) >= limit:
                break
            passage, s, e = candidates[i]
            # A headline that is the document's title adds nothing to the lead-in,
            # which already names the document.
            if same_words(passage.text[s:e], passage.doc.title):
                continue
            # The report repeats findings; one copy is enough. The question's own words
            # are left out of the comparison: every relevant sentence shares them. Two
            # chunks overlap, so a sentence of nothing but those words may come twice.
            said = sentence_words(passage.text[s:e]) - query.asked_words
            if any(len(said & w) / max(1, min(len(said), len(w))) > 0.6 for w in seen) or any(
                    same_words(text[i], text[j]) for j in chosen):
                continue
            chosen.append(i)
            seen.append(said)
        return chosen

    def _list_intros(self, candidates: list[tuple[Passage, int, int]]) -> dict[int, str]:
        """List item -> the last sentences (at most ``_LIST_INTRO``) before its list, which
        say what the list is of, in its passage or the chunk before it.

        "At 31 August 2016, 1,816 children were being looked after ... - 1,206 live with
        foster families": the item alone says neither the date nor that they are looked
        after, and the chunker often cuts the list from its paragraph.
        """
        intros: dict[int, str] = {}
        before: dict[int, list[tuple[str, bool]]] = {}  # chunk -> the chunk before's sentences
        for i, (passage, start, _) in enumerate(candidates):
            if not _list_item(passage.text, start):
                continue
            j = i - 1
            while (j >= 0 and candidates[j][0].chunk_id == passage.chunk_id
                   and _list_item(passage.text, candidates[j][1])):
                j -= 1
            if j >= 0 and candidates[j][0].chunk_id == passage.chunk_id:
                first = j
                while (first > j - _LIST_INTRO + 1 and first > 0
                       and candidates[first - 1][0].chunk_id == passage.chunk_id):
                    first -= 1
                intros[i] = " ".join(p.text[s:e] for p, s, e in candidates[first:j + 1])
                continue
            if passage.chunk_id not in before:
                previous = self.retriever.reader.next_passage(passage.chunk_id, -1)
                before[passage.chunk_id] = [] if previous is None else [
                    (previous.text[s:e], _list_item(previous.text, s))
                    for s, e in split_sentences(previous.text)]
            said = [t for t, is_item in before[passage.chunk_id] if not is_item]
            if said:
                intros[i] = " ".join(said[-_LIST_INTRO:])
        return intros

    @staticmethod
    def _read_with_subjects(query: Query, candidates: list[tuple[Passage, int, int]],
                            text: list[str], subjects: dict[int, int]) -> list[str]:
        """Each candidate sentence with the sentences that say what its figure is of.

        A figure naming no subject ("At 46%, ..., this has not reduced") is read with the
        sentences before it that name it (``subjects``). A paragraph often names its
        subject and then gives its figures: "The timeliness of court processes is
        improving. In 2015-16, the average was 37 weeks for care applications ..."; so a
        sentence giving a share, a wait or a rate is read with the one before it when that
        one gives no such figure. Not a count: "There has been a year-on-year steady
        increase in the number of children ... looked after in Leicester City. At the
        time of the inspection, there were 542 ..." would outrank "At December 2014, 549
        children were being looked after", the date asked for.
        """
        read = [" ".join(text[subjects[i]:i + 1]) if i in subjects else t
                for i, t in enumerate(text)]
        measure = query.measure
        if measure is None or measure.kind == "count":
            return read
        for i in range(1, len(text)):
            if (i not in subjects and candidates[i - 1][0].chunk_id == candidates[i][0].chunk_id
                    and gives_measure(text[i], measure)
                    and not gives_measure(text[i - 1], measure)):
                read[i] = f"{text[i - 1]} {text[i]}"
        return read

    @staticmethod
    def _follows(chosen: list[int], continues: dict[int, int]) -> dict[int, int]:
        """[n] -> the [n] it continues, for continuations right after what they continue.
        ``chosen`` in answer order; ``continues`` from ``_with_continuations``."""
        at = {i: n for n, i in enumerate(chosen, start=1)}
        return {at[j]: at[i] for j, i in continues.items()
                if j in at and i in at and at[j] == at[i] + 1}

    def _with_continuations(self, chosen: list[int],
                            candidates: list[tuple[Passage, int, int]],
                            subjects: dict[int, int],
                            ) -> tuple[list[int], dict[int, int]]:
        """Add the next sentence when it refers back to a chosen one, and a list's first
        items to the sentence that introduces it; also say which each continues.

        "Return home interviews are completed for a minority... Of those completed, two
        thirds take over 72 hours." The second sentence shares no word with the question
        but is the rest of the finding; without its predecessor it would mean nothing. A
        sentence cut at a list ("... which are being addressed, including:") says nothing
        without its items, which the chunker often puts in the document's next chunk: that
        chunk's first sentences are then added to ``candidates`` and cited from it. A
        figure naming no subject (in ``subjects``) brings the sentence before it, which it
        continues.
        """
        out, continues = list(chosen), {}
        for i in chosen:
            # "At 46%, ..., this has not reduced": the sentence naming what "this" is.
            if i in subjects:
                continues.setdefault(i, i - 1)
                if i - 1 not in out:
                    out.append(i - 1)
            passage, start, end = candidates[i]
            if passage.text[start:end].rstrip().endswith(":"):
                after = [j for j in range(i + 1, len(candidates))
                         if candidates[j][0] is passage][:_LIST_ITEMS]
                if len(after) < _LIST_ITEMS:
                    after += self._next_chunk_sentences(passage, candidates,
                                                        _LIST_ITEMS - len(after))
            else:
                j = i + 1
                after = [j] if (j < len(candidates) and candidates[j][0] is passage
                                and _REFERS_BACK.match(passage.text[candidates[j][1]:])) else []
            previous = i
            for j in after:
                continues.setdefault(j, previous)
                if j not in out:
                    out.append(j)
                previous = j
        return out, continues

    def _next_chunk_sentences(self, passage: Passage,
                              candidates: list[tuple[Passage, int, int]], n: int) -> list[int]:
        """The first n sentences of the chunk after ``passage`` in its document, as
        candidate indices (appended to ``candidates`` unless retrieved already). Chunks
        overlap: a sentence ``passage`` already holds (the list's own opening, "The
        proportion of children entitled to free school meals:") is not one of them."""
        following = self.retriever.reader.next_passage(passage.chunk_id)
        if following is None:
            return []
        mine = [j for j, (p, s, e) in enumerate(candidates)
                if p.chunk_id == following.chunk_id and p.text[s:e] not in passage.text]
        if mine:
            return mine[:n]
        spans = [(s, e) for s, e in split_sentences(following.text)
                 if following.text[s:e] not in passage.text][:n]
        candidates.extend((following, s, e) for s, e in spans)
        return list(range(len(candidates) - len(spans), len(candidates)))

    def sentence_relevance(self, query: Query, passages: list[Passage],
                           vector: np.ndarray | None = None,
                           ) -> tuple[list[tuple[Passage, int, int]], np.ndarray, np.ndarray]:
        """Every sentence of the passages as (passage, start, end), its relevance (what
        the decline threshold is calibrated on), and the score sentences are chosen by.

        The two differ in one thing: a council the question names is the search's
        filter, so naming it does not make a sentence answer ("This letter summarises
        the findings of the focused visit to Leicester city council ..." names it and
        says nothing). Choosing leaves the council's words out; the calibrated
        threshold keeps them.
        """
        if vector is None:
            vector = self.retriever.embedder.encode([query.dense_text])[0]
        spans = [split_sentences(p.text) for p in passages]
        candidates = [(p, s, e) for p, cs in zip(passages, spans, strict=True) for s, e in cs]
        sentences = [p.text[s:e] for p, s, e in candidates]
        vectors = self._sentence_vectors(passages, [len(cs) for cs in spans])
        relevance = self.score_sentences(vector, query.asked_words, sentences, vectors)
        if not query.council_words:
            return candidates, relevance, relevance
        choice = self.score_sentences(vector, query.asked_words - query.council_words,
                                      sentences, vectors)
        return candidates, relevance, choice

    def _sentence_vectors(self, passages: list[Passage],
                          counts: list[int]) -> list[np.ndarray | None]:
        """Each candidate sentence's vector as stored at index time, None where missing.

        Missing only for an index written before sentence vectors existed, or a chunk
        removed by a re-index since it was retrieved; those few are embedded now.
        """
        stored = self.retriever.sentence_vectors([p.chunk_id for p in passages])
        rows: list[np.ndarray | None] = []
        for passage, n in zip(passages, counts, strict=True):
            block = stored.get(passage.chunk_id)
            rows.extend(block if block is not None and len(block) == n else [None] * n)
        return rows

    def score_sentences(self, vector: np.ndarray, asked: frozenset[str] | set[str],
                        sentences: list[str],
                        vectors: list[np.ndarray | None] | None = None) -> np.ndarray:
        """Relevance of each sentence: embedding cosine blended with word coverage.

        Cosine (``vector``: the embedded whole question) catches paraphrase; coverage of
        the question's content words (``asked``) rewards sentences that state the very
        thing asked about (figures, named services). Sentences come with the vectors
        stored at index time; only those without one go through the model.
        """
        vectors = list(vectors) if vectors is not None else [None] * len(sentences)
        todo = [i for i, v in enumerate(vectors) if v is None]
        if todo:
            encoded = self.retriever.embedder.encode([sentences[i] for i in todo])
            for i, row in zip(todo, encoded, strict=True):
                vectors[i] = row
        cosine = np.vstack(vectors) @ vector if sentences else np.zeros(0)
        coverage = np.array([len(asked & sentence_words(s)) / max(1, len(asked))
                             for s in sentences])
        return 0.7 * cosine + 0.3 * coverage


def _roots(text: str) -> set[str]:
    """Crude roots of a text's words (their first five letters), so "privately" meets
    "private" and "disability" meets "disabilities"."""
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower())}


def _word_forms(word: str, query: Query) -> set[str]:
    """A word's root and, when it belongs to an acronym's long form the question uses,
    the acronym's ("hub" in "multi-agency safeguarding hub" is met by "MASH")."""
    forms = {word[:5]}
    for acronym in query.acronyms:
        if word in acronym.long.lower().split():
            forms.add(acronym.short.lower()[:5])
    return forms


def missing_figure(query: Query, sentences: list[str]) -> str | None:
    """Why the chosen sentences do not answer a question asking for a figure (the notice
    of the decline), or None when they may. "How many fixed-term exclusions ...?" is not
    answered by "1,816 children were being looked after", nor "which local authority
    shared the cost?" by "joint funding with another local authority": the answer must
    give a figure of the kind asked and, for a count of a thing, name the thing; a name
    asked for outright must be there."""
    if "named" in query.asks_for and not query.open:
        # The name must be given with what the question asks about: "End Child Poverty
        # Coalition" in a sentence on poverty does not say which authority shared a cost.
        subject = query.asked_words - query.council_words - NAMING_WORDS
        if not any(proper_words(s) - query.asked_words - query.council_words
                   and (not subject or subject & sentence_words(s)) for s in sentences):
            return _NO_NAME
    measure = query.measure
    if query.figure == "money" or measure is None or measure.kind != "count":
        if query.figure and not any(gives_figure(s, query.figure) for s in sentences):
            return _NO_FIGURE[query.figure]
        if measure is None or measure.kind not in ("proportion", "duration"):
            return None
        giving = [s for s in sentences if gives_measure(s, measure)]
        # A question about how long is often answered without a length of time ("children
        # wait too long"); one that gets a length of time must get it for what was asked.
        reports_terms = frozenset(w for _, terms in query.everyday for term in terms
                                  for w in term.split())
        if (giving or measure.kind == "proportion") and not any(
                measures_asked(s, measure, query.council_words, reports_terms) for s in giving):
            said = " or ".join(f"'{w}'" for w in measure.state if w not in query.council_words)
            what = "a proportion" if measure.kind == "proportion" else "a length of time"
            return (f"The question asks for {what}, and no passage close enough to it "
                    + (f"that gives one says {said}." if said else "gives one."))
        return None
    if not any(gives_figure(s, "number") for s in sentences):
        return _NO_FIGURE["number"]
    if not any(names_counted(s, measure) for s in sentences):
        return (f"The question asks how many {' '.join(measure.counted)}, and no passage "
                "close enough to it counts them.")
    return None


def unconfirmed_subject(query: Query, sentences: list[str],
                        rarer: Callable[[list[str]], list[str]],
                        glossary: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The rarer words of a figure question's subject when no sentence giving the figure
    states any of them; [] when one does, or when there is nothing to check.

    The figure checks (``missing_figure``) hold a count to what it counts and a share to
    a word of what it is of; they cannot tell "481 children have not had their plan
    reviewed" from the number of children who went missing, since both count children.
    Requiring one of the subject's rarer words ("missing") would tell them apart, but
    declines as many answers that say it in other words ("37 weeks for care
    applications" for "care proceedings in the courts"); so the answer stands, with a
    notice saying which words its figure is not given beside. ``rarer``: those of the
    words found in few of the index's passages (and in one at least: a word the reports
    never use cannot be asked of them). ``sentences``: the chosen ones, each with the
    sentence it continues. An acronym and its phrase say the same (``glossary``, the
    index's, and the question's own): "the IRO service" says "independent reviewing
    officer", "Birmingham City Council" says "BCC".
    """
    measure = query.measure
    if query.open or (measure is None and not query.figure):
        return []
    giving = [s for s in sentences if (gives_measure(s, measure) if measure is not None
                                       else gives_figure(s, query.figure or "number"))]
    # An acronym the question did not type stands for words it did ("looked after
    # children", not "LAC"), and the reports need not write it.
    untyped = {a.short.lower() for a in query.acronyms} - set(words(query.text))
    skip = query.council_words | set(measure.counted if measure is not None else ()) | untyped
    subject = [w for w in state_words(sorted(query.asked_words - skip))
               if not w.isdigit() and w not in FIGURE_FRAME_WORDS and w not in MONTHS]
    if not giving or not subject:
        return []
    rare = rarer(subject)
    text = " ".join(giving)
    said, tokens, lowered = _roots(text), set(re.findall(r"[A-Za-z]+", text)), text.lower()
    for short, long in [*glossary, *((a.short, a.long) for a in query.acronyms)]:
        if short in tokens or f"{short}s" in tokens:
            said |= _roots(long)
        elif long.lower() in lowered:
            said.add(short.lower()[:5])
    return [] if any(w[:5] in said for w in rare) else rare


def check_the_figure(query: Query, unconfirmed: list[str]) -> str:
    """The notice on a figure answer given beside none of the subject's rarer words, in
    the order the question uses them."""
    asked = query.text.lower()

    def place(word: str) -> int:  # a reports' term for an everyday phrase comes last
        at = asked.find(word)
        return at if at >= 0 else len(asked)

    ordered = sorted(unconfirmed, key=lambda w: (place(w), w))[:3]
    said = " or ".join(f"\u201c{w}\u201d" for w in ordered)
    return (f"Check that this is the figure asked for: the sentences giving it do not "
            f"say {said}.")


def telling_words(query: Query, sentences: list[str]) -> list[str]:
    """For each part of the subject ("the social work workforce" and "agency staff"), its
    word rarest among the candidate sentences ("interviews" in "return home interviews",
    "private" in "private fostering"); none for a question that is not about findings on
    a subject, nor when a part is one word (nothing to confuse it with). Words after a
    preposition qualify the subject ("referrals from partner agencies" is about
    referrals), and words naming documents ("the fourth monitoring visit") are no part.
    A question about change ("how did support from personal advisers for care leavers
    compare ...?") has its telling word too ("advisers"): a comparison answered from every
    sentence on care leavers lost the advisers among them.
    """
    if query.changing:
        # What changed is the whole phrase: "the quality of care plans", "support from
        # personal advisers for care leavers" ("quality" and "support" alone say nothing).
        parts = re.split(r"\band\b|,", query.changing, flags=re.I)
    elif query.open and query.subject:
        parts = [_QUALIFIER.split(part, maxsplit=1)[0]
                 for part in re.split(r"\band\b|,", query.subject, flags=re.I)]
    else:
        return []
    roots = [_roots(s) for s in sentences]
    out = []
    for part in parts:
        # The council a question names is the search's filter, not the subject's word.
        words = [w for w in re.findall(r"[a-z]+", part.lower())
                 if len(w) > 3 and w not in STOPWORDS and not DOCUMENT_WORD.match(w)
                 and w not in query.council_words]
        if len(words) < 2:
            return []
        counts = {w: sum(w[:5] in r for r in roots) for w in words}
        present = {w: c for w, c in counts.items() if c}
        if not present:
            return []
        out.append(min(present, key=present.get))
    return out


_QUALIFIER = re.compile(r"\b(?:for|of|with|from|in|at|to|by|on|about|who|which|that|since|"
                        r"between|during|after|before)\b", re.I)


def with_follow_on(scores: np.ndarray, candidates: list[tuple[Passage, int, int]],
                   share: float) -> np.ndarray:
    """Each sentence scored at least ``share`` of the sentence before it in its passage.

    A report states a finding, then its detail: "In services for children in long-term
    care, inspectors found several positive areas of practice. Arrangements were mostly
    stable, with many children ..." The detail shares no word with the question ("what
    did the fifth monitoring visit find about children in long-term care?") and reads far
    from it to the model, yet it is what was found. ``candidates`` in passage order.
    """
    out = scores.copy()
    for i in range(1, len(candidates)):
        if candidates[i - 1][0].chunk_id == candidates[i][0].chunk_id:
            out[i] = max(scores[i], share * scores[i - 1])
    return out


def _list_item(text: str, start: int) -> bool:
    """Whether the sentence starting at ``start`` opens a line with a bullet ("- ")."""
    return bool(_BULLET_BEFORE.search(text[max(0, start - 4):start]))


def subjects_before(candidates: list[tuple[Passage, int, int]],
                    reach: int = 2) -> dict[int, int]:
    """Sentence -> the first of the sentences before it in its passage (at most
    ``reach``) that say what it is about, for each figure sentence whose subject is a
    pronoun (`figures.leans_back`). "Currently 54% of care leavers known to the 18+
    service are in education, employment or training ... Of real concern, however, is the
    stubbornly high percentage of young people who are NEET. At 46%, ..., this has not
    reduced": the 46% is of care leavers known to the 18+ service who are NEET.

    Such a sentence scores at least what those sentences do, is held to the question's
    subject through them, and is quoted after the sentence before it: alone it is 46% of
    nothing. ``candidates`` in passage order.
    """
    found = {}
    for i in range(1, len(candidates)):
        passage, start, end = candidates[i]
        if candidates[i - 1][0].chunk_id == passage.chunk_id and leans_back(
                passage.text[start:end]):
            first = i - 1
            while first > i - reach and first > 0 and (
                    candidates[first - 1][0].chunk_id == passage.chunk_id):
                first -= 1
            found[i] = first
    return found


def distinctive_coverage(asked: frozenset[str] | set[str], sentences: list[str],
                         context: list[str]) -> np.ndarray:
    """Each sentence's share of the question's words, each word weighted by how rare it is
    among the ``context`` sentences (the candidates): every candidate about child
    protection plans says "child protection plan", only the one asked for says "repeat".
    """
    bags = [sentence_words(s) for s in context]
    n = len(bags)
    weight = {w: np.log((1 + n) / (1 + sum(w in b for b in bags))) for w in asked}
    total = sum(weight.values()) or 1.0
    return np.array([sum(weight[w] for w in asked & sentence_words(s)) / total
                     for s in sentences])


def with_judgements(rows: list[Citation], extractive: Answer, only_rows: bool = False) -> Answer:
    """The judgement each report states first, one line per report, then the answer's
    own sentences renumbered after them (none for a decline, nor for a list of councils
    or a judgement's history: there the rows are the answer). A sentence a row already
    quotes ("Overall effectiveness Requires improvement to be good", the report's
    opening) is not quoted again."""
    blocks = [Block([Line([c], lead_in(c.doc))]) for c in rows]
    citations = list(rows)
    if not (extractive.abstained or only_rows):
        kept = [c for c in extractive.citations
                if not any(same_words(c.quote, row.quote) for row in rows)]
        numbers = {c.n: n for n, c in enumerate(kept, start=len(rows) + 1)}
        citations += [replace(c, n=numbers[c.n]) for c in kept]
        blocks += renumbered(extractive.blocks, numbers)
    return replace(extractive, answer=plain_text(blocks), abstained=False, citations=citations,
                   notice=None, blocks=blocks)


@lru_cache(maxsize=1)
def default_assistant() -> Assistant:
    return Assistant()


def answer(question: str, history: Sequence[str] = (),
           filters: Filters | None = None) -> Answer:
    """Answer with the settings from rag.toml / RAG_* (model and index loaded once)."""
    return default_assistant().answer(question, history=history, filters=filters)
