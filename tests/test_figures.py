"""Answer types: a question that asks for a figure needs a sentence that gives one."""

from __future__ import annotations

import pytest

from rag.figures import asked_figure, gives_figure


@pytest.mark.parametrize(("question", "kind"), [
    ("How many social workers left Birmingham children's services in 2016?", "number"),
    ("What proportion of care leavers were NEET?", "number"),
    ("What is the average caseload of an independent reviewing officer?", "number"),
    ("How much did the council spend on children's social care in 2016?", "money"),
    ("What is Birmingham's annual budget for free school meals?", "money"),
    ("What is the average salary of a social worker?", "money"),
    # Judgements, not figures.
    ("How much progress has been made since the inspection?", None),
    ("What is the impact of funding cuts on early help?", None),
    ("What did inspectors say about return home interviews?", None),
    ("How often do social workers visit children looked after?", None),
])
def test_questions_that_ask_for_a_figure(question: str, kind: str | None) -> None:
    assert asked_figure(question) == kind


def test_dates_are_not_counts_but_counts_in_words_are() -> None:
    assert not gives_figure("This letter summarises the visit on 19 and 20 September 2017.",
                            "number")
    assert not gives_figure("In 2016, the service moved from education to children's services.",
                            "number")
    assert gives_figure("In 2014\u201315, 45 adopters were approved.", "number")
    assert gives_figure("Two thirds take over 72 hours.", "number")
    assert gives_figure("Interviews are completed for a minority of children.", "number")
    assert gives_figure("It was the fifth monitoring visit.", "number")


def test_money_needs_an_amount_of_money() -> None:
    assert gives_figure("Placements cost \u00a350 a day.", "money")
    assert gives_figure("The council spent 12.5 million on agency staff.", "money")
    assert not gives_figure("At 31 August 2016, 1,816 children were looked after.", "money")
