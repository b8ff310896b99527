"""Where a question may be answered from: which documents to search, and when the index
cannot speak to it at all.

A question names documents ("the 2016 inspection", "the fourth monitoring visit") and
things ("Manchester", "restraint"). Retrieval searches within the documents it names
(``scopes``); before any sentence is scored, ``out_of_scope`` says when the index holds
nothing it names, however similar the passages about other things look to the model.
Both read a ``Query`` and ask the index through ``IndexReader``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.embedding import Embedder
from rag.query import Query
from rag.records import Filters
from rag.store import IndexReader
from rag.words import STOPWORDS


def year_scopes(query: Query, filters: Filters) -> list[Filters]:
    """One filter per distinct year the question names (or the filter holds), unless
    dates are already fixed.

    A document is of a year when it is dated, inspected or published in it: "the 2022
    inspection" may have been published in 2023.
    """
    if filters.date_from or filters.date_to:
        return []
    # Years already chosen (the document asked about) leave out the years it is only
    # measured from ("since 2019, according to the 2024 inspection").
    return [replace(filters, years=(y,)) for y in filters.years or query.years]


# The kinds of document "the last <noun>" may be (rag.documents.KINDS).
_LATEST_KINDS = {
    "inspection": ("inspection report",), "report": ("inspection report",),
    "focused visit": ("focused visit letter",), "monitoring visit": ("monitoring letter",),
    "visit": ("focused visit letter", "monitoring letter"),
    "letter": ("focused visit letter", "monitoring letter"),
}


def latest_document(query: Query, filters: Filters, reader: IndexReader) -> str | None:
    """The document "the last inspection" means: the newest of that kind for the council
    asked about (or the library's one council). None when the question says no such
    thing, or names no one council, where "the last inspection" is each council's own."""
    if query.latest is None:
        return None
    councils = filters.councils or tuple(reader.councils())
    if len(councils) != 1:
        return None
    entries = reader.library(replace(filters, councils=councils,
                                     kinds=_LATEST_KINDS[query.latest], years=()))
    newest = max(entries, default=None,
                 key=lambda e: e.inspection_start or e.doc.date or "")
    return newest.doc.doc_id if newest else None


def ordinal_documents(query: Query, reader: IndexReader) -> dict[str, list[str]]:
    """For each "fourth monitoring visit" in the question, the documents that name it."""
    return {o.phrase: reader.documents_naming(o.ordinal, o.noun)
            for o in query.ordinals}


def scopes(query: Query, filters: Filters,
           reader: IndexReader) -> tuple[Filters, list[Filters]]:
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
    if query.councils and not (filters.councils or filters.doc_ids):
        # A question that names a council is about that council: another council's
        # report never answers it, however alike the findings read.
        filters = replace(filters, councils=query.councils)
    chosen = filters.doc_ids or filters.date_from or filters.date_to or filters.years
    if not chosen and not query.document_years and (latest := latest_document(query, filters,
                                                                              reader)):
        # "What did the last inspection of Dudley find about ...?": that report alone.
        return replace(filters, doc_ids=(latest,)), []
    if query.source_years and not chosen:
        # "The 2021 focused visit": the same council's other years are not it. Not so
        # for "since the 2016 inspection", which asks about the documents after it.
        filters = replace(filters, years=query.source_years)
    years = [s for s in year_scopes(query, filters) if s != filters]
    named = sorted({d for docs in ordinal_documents(query, reader).values() for d in docs})
    if not named or filters.doc_ids:
        return filters, years
    narrowed = replace(filters, doc_ids=tuple(named))
    return (filters, [*years, narrowed]) if years else (narrowed, [])


# ------------------------------------------------------------------- out of scope

def unknown_councils(query: Query, reader: IndexReader) -> list[str]:
    """Capitalised names the passages use as a council's ("Manchester City Council")
    that are not a council the library holds: a question about a council the library
    has no report on is declined, however alike other councils' findings read."""
    held = {w for name in reader.councils().values() for w in name.lower().split()}
    return [n for n in query.names if not query.councils and n.lower() not in held
            and reader.used_as_council(n)]


def unknown_names(query: Query, reader: IndexReader) -> list[str]:
    """Capitalised names in the question that no indexed passage or title mentions.

    "What did Ofsted say about Manchester?" over a Birmingham corpus: the honest
    answer is that the index has nothing on Manchester, however similar the
    passages about other councils look to the embedding.
    """
    return [n for n in query.names if not (reader.in_passages(n) or reader.in_titles(n))]


def unmentioned_subject_words(query: Query, reader: IndexReader, passages: list[str],
                              embedder: Embedder, synonym_similarity: float) -> list[str]:
    """Words of the subject of "what did they say about X?" that no passage mentions,
    nor an everyday phrase of the question whose reports' term the index has.

    "What did inspectors say about the use of restraint?" over reports that never
    use the word: every passage about residential homes looks close to the
    embedding, but the reports cannot have said anything about restraint. A word
    counts as mentioned when the index has it (stemmed, as BM25 sees it) or when
    a word of the retrieved ``passages`` means nearly the same to the embedding
    model ("kids" and "children": 0.88; "restraint" and "protection": 0.57), or
    when it is an acronym the question uses ("CSE"; ``Query.subject_words`` leaves
    those out).
    """
    absent = [w for w in query.subject_words
              if not reader.in_passages(w) and not said_otherwise(w, query, reader)]
    if not absent or not passages:
        return absent
    vocabulary = sorted({w for p in passages for w in re.findall(r"[a-z]{3,}", p.lower())
                         if w not in STOPWORDS})
    nearest = (embedder.encode_words(absent) @ embedder.encode_words(vocabulary).T).max(1)
    return [w for w, sim in zip(absent, nearest, strict=True) if sim < synonym_similarity]


def said_otherwise(word: str, query: Query, reader: IndexReader) -> bool:
    """Whether the word belongs to an everyday phrase of the question whose reports'
    term the index has: "run" and "away" in "kids who run away", which the reports
    write as children who go "missing" (``words.EVERYDAY_TERMS``). The reports never
    use the everyday words, yet they speak of the very thing; a word with no such
    phrase, or whose terms the index lacks too ("restraint"), still counts as unmentioned.
    """
    return any(word in phrase.split() and any(reader.in_passages(t) for t in terms)
               for phrase, terms in query.everyday)


def undocumented_years(query: Query, reader: IndexReader) -> list[str]:
    """Years the index cannot speak about.

    A year tied to a document ("the 2019 inspection") that no document carries, or
    any year after the newest dated document: reports cannot describe what happened
    after they were written.
    """
    years = [y for y in query.document_years if not reader.has_year(y, query.councils)]
    newest = reader.newest_year()
    if newest:
        years.extend(y for y in query.years if y > newest and y not in years)
    return years


def unknown_ordinals(query: Query, reader: IndexReader) -> list[str]:
    """Documents named by their place in a series ("the sixth monitoring visit") that
    no indexed passage or title names: like a year no document carries, the index
    cannot speak for a visit it does not hold, however alike the visits read."""
    return [phrase for phrase, docs in ordinal_documents(query, reader).items() if not docs]


def out_of_scope(query: Query, reader: IndexReader, passages: list[str], embedder: Embedder,
                 synonym_similarity: float) -> str | None:
    """A reason the index cannot answer, visible before any passage is scored.

    ``passages``: the texts retrieved for it, whose words may stand in for a subject
    word the index lacks ("kids" for "children").
    """
    names = unknown_names(query, reader)
    if names:
        return f"No indexed document mentions {', '.join(names)}."
    councils = unknown_councils(query, reader)
    if councils:
        return f"The library holds no report on {' or '.join(councils)}."
    words = unmentioned_subject_words(query, reader, passages, embedder, synonym_similarity)
    if words:
        return f"No indexed document mentions {' or '.join(map(repr, words))}."
    years = undocumented_years(query, reader)
    if years and query.councils:
        held = " or ".join(reader.councils()[c] for c in query.councils)
        return f"No indexed document on {held} is dated {', '.join(years)}."
    if years:
        return f"No indexed document is dated {', '.join(years)}."
    ordinals = unknown_ordinals(query, reader)
    if ordinals:
        return f"No indexed document is the {' or the '.join(ordinals)}."
    return None
