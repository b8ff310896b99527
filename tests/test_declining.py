"""Declining: what the reports never mention is declined, what they say in other words is not.

Issue 19: a member of staff asks "kids who run away", the reports write "children who go
missing"; the absent-subject check declined such questions on any one everyday word the
reports never use. The questions here are worded apart from the evaluation sets'.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag import scope
from rag.answering import Assistant
from rag.config import Settings
from rag.figures import asked_figure
from rag.query import topic_of, understand
from rag.retrieval import Retriever
from rag.words import everyday_terms

# ------------------------------------------------------------------ no model needed


def test_everyday_phrases_are_read_with_the_reports_terms_for_them() -> None:
    found = dict(everyday_terms("Do kids who ran away get a chat when they're back?"))
    assert found["ran away"] == ("missing",)
    assert "interviews" in found["chat"]
    assert found["kids"] == ("children",)
    # Hyphens and line breaks as spaces; the longest phrase wins where two overlap.
    assert [p for p, _ in everyday_terms("the at-risk\nregister")] == ["at risk register"]
    assert everyday_terms("What did inspectors say about restraint?") == []


def test_everyday_words_are_searched_for_in_the_reports_terms() -> None:
    query = understand("What did inspectors say about kids who run away from foster homes?")
    assert "missing" in query.bm25_text.split()
    assert "missing" in query.dense_text
    assert "missing" in query.asked_words
    # A question in the reports' words reads as before.
    plain = understand("What did inspectors say about return home interviews?")
    assert plain.bm25_text == topic_of(plain.text) and plain.dense_text == plain.text


def test_words_that_never_name_a_subject_are_not_subject_words() -> None:
    query = understand("What did inspectors say about children placed with friends instead "
                       "of going back home?")
    assert "instead" not in query.subject_words
    assert "going" not in query.subject_words and "back" not in query.subject_words
    assert "friends" in query.subject_words
    # Where a thing is, not what it is: "stuck in a queue" is the reports' "backlog".
    queued = understand("How many reports about violence at home were stuck in a queue?")
    assert "stuck" not in queued.subject_words and "queue" in queued.subject_words


def test_asking_what_someone_is_paid_asks_for_money() -> None:
    assert asked_figure("How much is a foster carer paid in Birmingham?") == "money"
    assert asked_figure("What is the pay of an agency social worker?") == "money"
    assert asked_figure("How much progress has been made?") is None


# ------------------------------------------------------------------ the real index


@pytest.fixture(scope="module")
def retriever(built_index: Settings, embedder) -> Retriever:  # noqa: ANN001
    return Retriever(built_index, embedder=embedder)


@pytest.fixture(scope="module")
def assistant(built_index: Settings, retriever: Retriever) -> Assistant:
    return Assistant(built_index, retriever=retriever)


def test_everyday_words_for_a_subject_the_reports_cover_are_not_declined(
    assistant: Assistant,
) -> None:
    # "run", "away", "weekends": no passage uses them; the reports write "missing" and
    # "out of hours". Each of these was declined naming one of those words.
    for question in ("What did inspectors say about kids who run away from care?",
                     "What did inspectors say about who helps families at weekends?"):
        answer = assistant.answer(question)
        assert not answer.abstained, (question, answer.notice)


def test_a_question_in_everyday_words_is_declined_later(built_index: Settings,
                                                        retriever: Retriever) -> None:
    # Everyday words read further from the reports' sentences than the reports' terms:
    # "relying on temporary staff" is the reports' "use of agency staff", whose best
    # sentence scores under min_relevance. Without the allowance it is declined.
    question = ("What did inspectors say about social workers leaving and the council "
                "relying on temporary staff?")
    answered = Assistant(built_index, retriever=retriever).answer(question)
    assert not answered.abstained
    assert any("agency staff" in c.quote for c in answered.citations)
    strict = replace(built_index, everyday_relevance_allowance=0.0)
    assert Assistant(strict, retriever=retriever).answer(question).abstained


def test_a_subject_the_reports_never_name_is_still_declined(assistant: Assistant) -> None:
    for question, word in (
            ("What did inspectors say about the use of restraint at night?", "restraint"),
            ("What did inspectors say about kids at risk of trafficking?", "trafficking")):
        answer = assistant.answer(question)
        assert answer.abstained and f"'{word}'" in (answer.notice or ""), (question, answer)


def test_a_visit_named_without_its_kind_is_the_visit_of_that_place(
    retriever: Retriever, assistant: Assistant,
) -> None:
    # The file is "...fifth-monitoring-visit.txt"; "the fifth visit" names it too.
    assert retriever.reader.documents_naming("fifth", "visit") == [
        "community-care_fifth-monitoring-visit.txt"]
    query = understand("What did the fifth visit find?", lexicon=retriever.reader)
    assert scope.unknown_ordinals(query, retriever.reader) == []
    # A visit no document names is still unknown.
    sixth = understand("What did the sixth visit find?", lexicon=retriever.reader)
    assert scope.unknown_ordinals(sixth, retriever.reader) == ["sixth visit"]
    # "first" in a file name ("children-first_fourth-...") is not the first visit.
    assert retriever.reader.documents_naming("first", "visit") == []


def test_a_count_the_reports_never_give_is_declined(assistant: Assistant) -> None:
    # The 2016 report mentions fixed-term exclusions of children in care but counts none;
    # the nearest count ("1,816 children were being looked after") is not an answer.
    answer = assistant.answer("How many fixed-term exclusions from school did children in "
                              "care have in 2015-16?")
    assert answer.abstained, answer.answer
    assert "exclusions" in (answer.notice or "")
    assert answer.closest, "the nearest passages are shown"
    # The same kind of question about something the report does count is answered.
    counted = assistant.answer("How many domestic abuse referrals were waiting for triage?")
    assert not counted.abstained and any("401" in c.quote for c in counted.citations)


def test_a_name_the_reports_never_give_is_declined(assistant: Assistant) -> None:
    # The report says the council jointly funds a youth employment scheme "with another
    # local authority" and never names it.
    answer = assistant.answer("Which local authority did the council share the cost of "
                              "the youth employment initiative with?")
    assert answer.abstained and "a name" in (answer.notice or ""), answer.answer


def test_a_share_the_reports_never_give_is_declined(assistant: Assistant) -> None:
    # The 2016 report gives shares of social workers (86% supervised monthly) but none on
    # agency contracts; nor any share of care leavers in prison.
    for question, word in (
            ("What percentage of social workers were on agency contracts in 2016?", "agency"),
            ("What percentage of care leavers were in prison in 2016?", "prison")):
        answer = assistant.answer(question)
        assert answer.abstained and f"'{word}'" in (answer.notice or ""), (question, answer)
    # The share the report does give is answered.
    given = assistant.answer("What percentage of social workers got monthly supervision?")
    assert not given.abstained and any("86%" in c.quote for c in given.citations)


def test_a_length_of_time_the_reports_never_give_is_declined(assistant: Assistant) -> None:
    # The 2016 report gives waits for MASE meetings and care proceedings, none for a
    # first mental health appointment.
    answer = assistant.answer("How many weeks do children wait for a first appointment with "
                              "the mental health service?")
    assert answer.abstained and "length of time" in (answer.notice or ""), answer.answer
    given = assistant.answer("How long were care applications taking in court in 2016?")
    assert not given.abstained and any("weeks" in c.quote for c in given.citations)
    # In a person's words: "adopting" is the reports' "adoptive placement".
    plain = assistant.answer("How long did it take for children to move in with the family "
                             "adopting them?")
    assert not plain.abstained and any("days" in c.quote for c in plain.citations)
