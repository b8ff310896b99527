"""Answers about Ofsted's judgements, from the judgements read off each report.

"What was Dudley's overall effectiveness in 2016?" or "Which councils were judged
inadequate in 2016?" are questions about the library's table (rag.ofsted reads each
report's judgement table at index time), not about similar-sounding findings. Each row
of such an answer quotes, verbatim, the passage of the report that states the grade, so
it is cited like any other sentence.
"""

from __future__ import annotations

from rag.ofsted import JUDGEMENT_CHUNKS, stated_judgement
from rag.query import Query
from rag.records import Citation, Filters
from rag.store import IndexReader

MAX_ROWS = 20  # a listing over a library of many councils stays readable


def judgement_citations(query: Query, reader: IndexReader) -> list[Citation]:
    """One citation per report that states the asked-for judgement, by council and date.

    Numbered from 1; empty when the question asks for no judgement, names neither a
    council nor a year (and asks for no list), or no report in scope states one.
    """
    ask = query.judgement
    if ask is None or not (query.councils or query.years or ask.listing):
        return []
    source = query.source_years
    if query.over_time and not (ask.listing or source):  # "since Birmingham was judged
        return []                                           # inadequate"
    years = source or query.years
    filters = Filters(councils=query.councils, years=years if source or not query.over_time
                      else ())
    citations: list[Citation] = []
    for entry in reader.library(filters):
        key = next((k for k in ask.keys if k in entry.judgements), None)
        if key is None or (ask.grade and entry.judgements[key] != ask.grade):
            continue
        for passage in reader.opening_passages(entry.doc.doc_id, JUDGEMENT_CHUNKS):
            if span := stated_judgement(passage.text, key, entry.judgements[key]):
                citations.append(Citation(len(citations) + 1, passage,
                                          passage.text[span[0]:span[1]]))
                break
        if len(citations) >= MAX_ROWS:
            break
    return citations
