"""Reading a question once: what it asks, about what, in which documents. No model."""

from __future__ import annotations

from rag.glossary import spell_out
from rag.query import asked_words, defined_acronym, understand
from rag.words import STOPWORDS


class Lexicon:
    """A stand-in for the index's words (the real IndexReader is tested in
    test_retrieval.py): a defined glossary and a few passages, as plain data."""

    def __init__(self, glossary: list[tuple[str, str]], passages: list[str]) -> None:
        self._glossary, self.passages = glossary, passages

    def glossary(self) -> list[tuple[str, str]]:
        return self._glossary

    def councils(self) -> dict[str, str]:
        return {"sandwell": "Sandwell", "bournemouth christchurch and poole":
                "Bournemouth, Christchurch and Poole", "reading": "Reading",
                "london": "City of London", "croydon": "Croydon"}

    def spelled(self, acronym: str) -> str | None:
        written = any(acronym.lower() in p.lower().split() for p in self.passages)
        return None if written else spell_out(acronym, self.passages, STOPWORDS)


LEXICON = Lexicon([("RHI", "return home interviews")],
                  ["Work on child sexual exploitation is weak."] * 3 + ["The LAC team met."])


def test_open_questions_are_told_from_questions_of_fact() -> None:
    for question in ("What did inspectors say about return home interviews?",
                     "How did thresholds change between the 2016 inspection and the 2017 visit?",
                     "How well does Birmingham handle CSE?",
                     "What happens when kids go missing from home or care?"):
        assert understand(question).open, question
    for question in ("How many domestic abuse referrals were in the backlog?",
                     "When did the 2017 monitoring visit take place?",
                     "What is an IRO?", "Who is the chief executive of the trust?"):
        assert not understand(question).open, question


def test_the_question_frame_is_not_its_subject_but_inspectors_can_be() -> None:
    assert asked_words("What did inspectors say about care leavers?") == {"care", "leavers"}
    assert "inspectors" in asked_words("Who were the inspectors on the 2017 visit?")


def test_years_visits_names_and_figures_are_read_once() -> None:
    query = understand("How many care leavers did Dudley support after the 2016 inspection "
                       "and at the fourth monitoring visit in 2017?")
    assert query.years == ("2016", "2017")
    assert query.document_years == ("2016", "2017")  # "2016 inspection", "visit in 2017"
    assert [(o.phrase, o.ordinal, o.noun) for o in query.ordinals] == [
        ("fourth monitoring visit", "fourth", "visit")]
    assert query.names == ("Dudley",)
    assert query.figure == "number"
    assert not query.open
    money = understand("How much did Birmingham spend on children's social care?")
    assert money.figure == "money" and money.names == ("Birmingham",)


def test_the_subject_keeps_words_to_check_and_drops_stopwords() -> None:
    query = understand("What did inspectors say about the use of restraint?")
    assert query.subject == "the use of restraint"
    assert query.subject_words == ("use", "restraint")
    assert understand("How many children were looked after?").subject is None


def test_acronyms_are_expanded_both_ways_and_a_spelled_one_is_marked() -> None:
    rhi = understand("What about RHIs?", lexicon=LEXICON)
    assert "return home interviews" in rhi.dense_text and "return home interviews" in rhi.bm25_text
    assert [(a.short, a.spelled) for a in rhi.acronyms] == [("RHI", False)]
    assert "rhis" not in rhi.subject_words  # an acronym the question uses is not missing
    cse = understand("What did inspectors say about CSE?", lexicon=LEXICON)
    assert [(a.short, a.long, a.spelled) for a in cse.spelled] == [
        ("CSE", "child sexual exploitation", True)]
    assert cse.subject_words == ()
    # An acronym the passages write ("LAC") is searched as written, not spelled out.
    assert understand("What about LAC reviews?", lexicon=LEXICON).acronyms == ()
    # Without a lexicon nothing is expanded: the pure reading of the words.
    assert understand("What about RHIs?").dense_text == "What about RHIs?"


def test_a_follow_up_is_understood_with_the_previous_question() -> None:
    previous = ["What did the 2016 inspection say about the MASH?"]
    query = understand("And what about care leavers?", previous)
    assert query.asked == "And what about care leavers?"
    assert query.text == "And what about care leavers? (2016 inspection)"
    assert query.years == ("2016",)
    # The bm25 text drops the words that point at documents; the dense text keeps them.
    assert "2016" not in query.bm25_text and "2016" in query.dense_text
    # It asks what the previous question asked, findings, so it gets an open answer's
    # length; a follow-up to a question for a fact does not.
    assert query.open
    assert not understand("And what about care leavers?", ["How many children were looked "
                                                           "after in 2016?"]).open
    assert not understand("What about care leavers?").open


def test_councils_are_named_in_their_common_forms_and_a_follow_up_keeps_them() -> None:
    assert understand("What did Sandwell Children's Trust do about care leavers?",
                      lexicon=LEXICON).councils == ("sandwell",)
    assert understand("How is BCP doing?", lexicon=LEXICON).councils == (
        "bournemouth christchurch and poole",)
    # A place's name with a capital; the everyday word is not a council.
    assert understand("What did inspectors say about reading?", lexicon=LEXICON).councils == ()
    assert understand("Compare Reading and Sandwell", lexicon=LEXICON).councils == (
        "reading", "sandwell")
    # A London borough's title is not the City of London.
    assert understand("What grade did the London Borough of Croydon get?",
                      lexicon=LEXICON).councils == ("croydon",)
    assert understand("What did the City of London inspection find?",
                      lexicon=LEXICON).councils == ("london",)
    follow = understand("And what about care leavers?",
                        ["What did the 2022 Sandwell inspection say about the MASH?"],
                        lexicon=LEXICON)
    assert follow.councils == ("sandwell",)
    # A full new question does not inherit the council.
    new = understand("How many children were looked after in March 2016?",
                     ["What did the 2022 Sandwell inspection say?"], lexicon=LEXICON)
    assert new.councils == ()


def test_judgement_questions_are_told_with_the_judgement_asked_for() -> None:
    overall = understand("What was Sandwell's overall effectiveness judgement in 2022?")
    assert overall.judgement is not None
    assert overall.judgement.keys == ("overall_effectiveness",) and not overall.judgement.listing
    listing = understand("Which councils were judged inadequate in 2016?").judgement
    assert listing is not None and listing.listing and listing.grade == "inadequate"
    leavers = understand("How were care leavers judged at the 2019 inspection?").judgement
    assert leavers is not None and leavers.keys[0] == "care_leavers"
    assert understand("What did inspectors say about care leavers?").judgement is None
    # Asking only for a judgement it names, the judgement rows are the whole answer.
    assert leavers.alone and overall.judgement.alone
    for more in ("What overall grade did Sandwell get in 2025, and which service fell short?",
                 "Which service was judged outstanding in Cornwall's 2024 inspection?",
                 "What did the 2024 inspection conclude about overall effectiveness since 2021?"):
        assert not understand(more).judgement.alone, more


def test_a_question_asking_only_what_an_acronym_stands_for() -> None:
    assert defined_acronym("What does MASH stand for?") == "MASH"
    assert defined_acronym("What are RHIs?") == "RHI"
    assert defined_acronym("What is an IRO?") == "IRO"
    assert defined_acronym("What is an IRO, and were children engaged by their IRO?") is None
    assert defined_acronym("What is the average caseload?") is None


def test_a_year_used_as_a_reference_point_is_told_from_the_year_asked_about() -> None:
    assert not understand("What did the 2021 focused visit find?").over_time
    assert understand("Has the quality of care plans improved since the 2016 inspection?"
                      ).over_time


def test_the_document_asked_about_is_told_from_the_year_it_is_measured_from() -> None:
    """A year after "since" is where a change is measured from, not the document asked
    about; "looked after children" asks nothing about time."""
    q = understand("How had Leicester's services changed since 2015, according to the 2017 "
                   "inspection?")
    assert (q.over_time, q.reference_years, q.source_years) == (True, ("2015",), ("2017",))
    q = understand("What did the 2013 inspection say about looked after children in Sandwell?")
    assert (q.over_time, q.source_years) == (False, ("2013",))
    assert understand("What has changed since the 2016 inspection?").source_years == ()
    # Change without a starting point asks about the later documents too: no one year.
    assert understand("How were special guardianship orders viewed across the 2016 "
                      "inspection and the later monitoring visits?").source_years == ()


def test_bm25_searches_for_the_subject_not_the_council_or_the_letter_that_filters_it() -> None:
    """Once the council and year choose the documents, their words in BM25 only favour
    letterheads, addresses and "Headline findings" headings over the findings."""
    q = understand("What did the October 2021 focused visit to Sandwell Children's Trust find "
                   "about the take-up of return home interviews?", lexicon=LEXICON)
    assert q.councils == ("sandwell",)
    words = set(q.bm25_text.lower().replace("?", "").split())
    assert {"return", "home", "interviews", "take-up"} <= words
    assert not words & {"sandwell", "children's", "trust", "october", "2021", "focused",
                        "visit", "find"}
    # The dense text keeps the question whole: "the chief executive of Sandwell
    # Children's Trust" is a role, not a filter's words.
    assert "Sandwell Children's Trust" in q.dense_text
    q = understand("Did Bournemouth, Christchurch and Poole Council have QA systems?",
                   lexicon=LEXICON)
    assert "Bournemouth" not in q.bm25_text and "Poole" not in q.bm25_text
    # A council's name written in lower case as an everyday word stays.
    q = understand("What did Reading say about reading age?", lexicon=LEXICON)
    assert "reading age" in q.bm25_text and "Reading" not in q.bm25_text.split()
    # A month names the letter only beside a year and a document; "December 2014" in a
    # figure question is the figure's date.
    q = understand("How many children did Sandwell look after in December 2014?",
                   lexicon=LEXICON)
    assert "December" in q.bm25_text


def test_a_year_measured_from_gets_no_list_of_its_own_once_the_document_is_chosen() -> None:
    from rag.records import Filters
    from rag.scope import year_scopes

    q = understand("How many directors had Sandwell had since 2019, according to the 2024 "
                   "inspection?", lexicon=LEXICON)
    chosen = Filters(councils=("sandwell",), years=q.source_years)
    assert [f.years for f in year_scopes(q, chosen)] == [("2024",)]
    both = understand("How did thresholds change between the 2016 inspection and the 2017 "
                      "visit?")
    assert [f.years for f in year_scopes(both, Filters())] == [("2016",), ("2017",)]


def test_the_words_a_sentence_must_state_leave_out_the_letter_the_question_names() -> None:
    """"This letter summarises the findings of the focused visit ... on 22 January 2019"
    shares every word of "the January 2019 focused visit" and answers nothing."""
    q = understand("What strength did the January 2019 focused visit to Sandwell identify?",
                   lexicon=LEXICON)
    assert {"strength", "identify"} <= q.asked_words
    assert not q.asked_words & {"january", "2019", "focused", "visit"}
    # "Who were the inspectors?" still asks about inspectors.
    assert "inspectors" in understand("Who were the inspectors at the 2017 visit?").asked_words
    # Nor does "the inspection" the question is dated by.
    model = understand("Which model had Leicestershire recently introduced at the time of its "
                       "2024 inspection?", lexicon=LEXICON)
    assert {"model", "introduced"} <= model.asked_words
    assert "inspection" not in model.asked_words


def test_the_last_inspection_is_the_newest_report_of_the_council_asked_about() -> None:
    """A stand-in for the index's library table (the real IndexReader.library is tested
    in test_library.py): three Sandwell documents and one Dudley report."""
    from rag.records import DocumentRef, Filters
    from rag.scope import scopes
    from rag.store import LibraryEntry

    def entry(doc_id: str, council: str, kind: str, date: str) -> LibraryEntry:
        return LibraryEntry(DocumentRef(doc_id, doc_id, doc_id, date, kind, council),
                            date, date, date, {})

    class Library:
        rows = [entry("s2018", "sandwell", "inspection report", "2018-01-29"),
                entry("s2022", "sandwell", "inspection report", "2022-05-20"),
                entry("s2024", "sandwell", "focused visit letter", "2024-11-29"),
                entry("d2023", "dudley", "inspection report", "2023-01-13")]

        def councils(self) -> dict[str, str]:
            return {"sandwell": "Sandwell", "dudley": "Dudley"}

        def library(self, filters: Filters) -> list[LibraryEntry]:
            return [e for e in self.rows if e.doc.council in filters.councils
                    and (not filters.kinds or e.doc.kind in filters.kinds)]

        def documents_naming(self, *_: str) -> list[str]:
            return []

    def scoped(question: str) -> tuple[str, ...]:
        return scopes(understand(question, lexicon=LEXICON), Filters(), Library())[0].doc_ids

    assert scoped("What did the last inspection of Sandwell find about care leavers?") == (
        "s2022",)
    assert scoped("What did Sandwell's most recent focused visit look at?") == ("s2024",)
    # What came after it is not it; without one council "the last inspection" is each one's.
    assert scoped("What has improved in Sandwell since the last inspection?") == ()
    assert scoped("What did the last inspection say about the MASH?") == ()


def test_the_council_named_is_told_apart_from_the_words_a_sentence_must_state() -> None:
    """Sentences are chosen without credit for naming the council (rag.answering): it
    is the search's filter, and the letter's opening names it and answers nothing."""
    q = understand("What strength did the 2019 focused visit to Sandwell Children's Trust "
                   "identify?", lexicon=LEXICON)
    assert q.council_words == {"sandwell"} and "sandwell" in q.asked_words
    assert understand("What strength did inspectors identify?").council_words == frozenset()
